"""Comments: ``/rest/api/{v}/issue/{key}/comment[/{id}]``.

``GET`` pages (``startAt``, ``maxResults``, ``orderBy=created|-created``, ``expand=renderedBody``);
``POST`` adds (201), ``PUT`` edits (200), ``DELETE`` removes (204). Bodies are ADF on Cloud v3
and wiki markup elsewhere. Anyone who may work in the project comments; only the author
or an administrator edits or deletes a comment.
"""

from __future__ import annotations

from typing import Any

from jiraplug.sandbox import ops
from jiraplug.sandbox.issue_input import BadValue, FieldErrors, parse_rich_text
from jiraplug.sandbox.issue_side import EMPTY_COMMENT
from jiraplug.sandbox.model import Comment, Issue
from jiraplug.sandbox.routes.issue import expand_set
from jiraplug.sandbox.web import Call, JiraError, api, json_response, page_params
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]

_ORDERS = {"created": False, "+created": False, "-created": True}


def _body(call: Call, payload: dict[str, Any]) -> Any:
    if "body" not in payload:
        raise FieldErrors({"comment": EMPTY_COMMENT})
    try:
        doc = parse_rich_text(payload["body"], call.flavour == "cloud" and call.render.api_version == "3")
    except BadValue as exc:
        raise FieldErrors({"comment": str(exc)}) from None
    if doc is None:
        raise FieldErrors({"comment": EMPTY_COMMENT})
    return doc


def _comment(call: Call, issue: Issue) -> Comment:
    comment_id = call.request.path_params["id"]
    found = call.store.comment(issue, comment_id)
    if found is None:
        raise JiraError(404, f"Can not find a comment for the id: {comment_id}.")
    return found


@api
async def list_comments(call: Call) -> Response:
    """A page of the issue's comments."""
    issue = call.issue()
    start, size = page_params(call.request, 100, 5000)
    order = call.request.query_params.get("orderBy", "created")
    if order not in _ORDERS:
        raise JiraError(400, f"Invalid orderBy '{order}': use 'created' or '-created'.")
    comments = sorted(issue.comments, key=lambda c: (c.created, int(c.id)), reverse=_ORDERS[order])
    rendered = "renderedbody" in expand_set(call.request.query_params.getlist("expand"))
    page = comments[start: start + size]
    return json_response({"startAt": start, "maxResults": size, "total": len(comments),
                          "comments": [call.render.comment(issue, c, rendered_body=rendered) for c in page]})


@api
async def add_comment(call: Call) -> Response:
    """Add a comment: 201 with the comment."""
    issue = call.issue(write="add comments")
    doc = _body(call, await call.json_body())
    comment = ops.add_comment(call.store, issue, call.user, doc)
    return json_response(call.render.comment(issue, comment), 201)


@api
async def get_comment(call: Call) -> Response:
    """One comment."""
    issue = call.issue()
    rendered = "renderedbody" in expand_set(call.request.query_params.getlist("expand"))
    return json_response(call.render.comment(issue, _comment(call, issue), rendered_body=rendered))


@api
async def update_comment(call: Call) -> Response:
    """Replace a comment's body: 200 with the comment."""
    issue = call.issue()
    comment = _comment(call, issue)
    call.require_author(issue.project_key, comment.author, "comment", "edit")
    doc = _body(call, await call.json_body())
    store = call.store
    with store.lock:
        when = store.stamp()
        comment.body = doc
        comment.updated = when
        comment.update_author = call.user
        issue.updated = when
    return json_response(call.render.comment(issue, comment))


@api
async def delete_comment(call: Call) -> Response:
    """Delete a comment: 204."""
    issue = call.issue()
    comment = _comment(call, issue)
    call.require_author(issue.project_key, comment.author, "comment", "delete")
    store = call.store
    with store.lock:
        issue.comments = [c for c in issue.comments if c.id != comment.id]
        issue.updated = store.stamp()
    return Response(status_code=204)


def routes() -> list[Route]:
    """The routes of this module."""
    base = "/rest/api/{version}/issue/{key}/comment"
    return [
        Route(base, list_comments, methods=["GET"]),
        Route(base, add_comment, methods=["POST"]),
        Route(f"{base}/{{id}}", get_comment, methods=["GET"]),
        Route(f"{base}/{{id}}", update_comment, methods=["PUT"]),
        Route(f"{base}/{{id}}", delete_comment, methods=["DELETE"]),
    ]
