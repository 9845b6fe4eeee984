"""Issue links and remote links.

- ``GET /issueLinkType[/{id}]``.
- ``POST /issueLink`` (201, no body, ``Location`` of the link): ``outwardIssue`` is the "from"
  issue and reads the type's outward text ("PLAT-1 *blocks* PLAT-2"), ``inwardIssue`` the
  other; a ``comment`` goes on the outward issue; an identical link is not duplicated.
- ``GET``/``DELETE /issueLink/{id}``.
- ``GET``/``POST /issue/{key}/remotelink`` (POST with a known ``globalId`` updates, 200),
  ``GET``/``DELETE /issue/{key}/remotelink/{id}``, ``DELETE /issue/{key}/remotelink?globalId=``.
"""

from __future__ import annotations

from typing import Any

from jiraplug.sandbox import ops
from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.issue_input import BadValue, FieldErrors, parse_rich_text
from jiraplug.sandbox.issue_side import EMPTY_COMMENT, find_link_type
from jiraplug.sandbox.model import ChangeItem, Issue, IssueLink, RemoteLink
from jiraplug.sandbox.web import ISSUE_NOT_FOUND, Call, JiraError, api, json_response
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]

_LINK_KEYS = ("type", "inwardIssue", "outwardIssue", "comment")
_REMOTE_KEYS = ("globalId", "application", "relationship", "object")


# --------------------------------------------------------------------------- link types and links


@api
async def link_types(call: Call) -> Response:
    """``GET /issueLinkType``."""
    return json_response({"issueLinkTypes": [call.render.link_type(t) for t in ref.LINK_TYPES.values()]})


@api
async def link_type(call: Call) -> Response:
    """``GET /issueLinkType/{id}``."""
    wanted = call.request.path_params["id"]
    found = next((t for t in ref.LINK_TYPES.values() if t.id == wanted), None)
    if found is None:
        raise JiraError(404, f"No issue link type with id '{wanted}' found.")
    return json_response(call.render.link_type(found))


def _linked(call: Call, value: Any, side: str) -> Issue:
    key = value.get("key") or value.get("id") if isinstance(value, dict) else None
    if not key:
        raise JiraError(400, f"'{side}' must be an object with the 'key' or 'id' of an issue.")
    issue = call.store.get_issue(str(key), call.user)
    if issue is None:
        raise JiraError(404, ISSUE_NOT_FOUND)
    return issue


@api
async def create_link(call: Call) -> Response:
    """``POST /issueLink``."""
    body = await call.json_body()
    unknown = sorted(set(body) - set(_LINK_KEYS))
    if unknown:
        raise JiraError(400, f'Unrecognized field "{unknown[0]}" (known: {", ".join(_LINK_KEYS)})')
    if not isinstance(body.get("type"), dict):
        raise JiraError(400, "The issue link 'type' is required, e.g. {\"name\": \"Blocks\"}.")
    try:
        link_type_value = find_link_type(body["type"])
    except BadValue as exc:
        raise JiraError(404, str(exc)) from None
    source = _linked(call, body.get("outwardIssue"), "outwardIssue")
    target = _linked(call, body.get("inwardIssue"), "inwardIssue")
    call.require_edit(source.project_key, "link issues")
    comment = None
    if body.get("comment") is not None:
        raw = body["comment"]
        try:
            comment = parse_rich_text(raw.get("body") if isinstance(raw, dict) else None,
                                      call.flavour == "cloud" and call.render.api_version == "3")
        except BadValue as exc:
            raise FieldErrors({"comment": str(exc)}) from None
        if comment is None:
            raise FieldErrors({"comment": EMPTY_COMMENT})
    link = ops.link_issues(call.store, link_type_value, source, target, call.user)
    if comment is not None:
        ops.add_comment(call.store, source, call.user, comment)
    return Response(status_code=201, headers={"Location": f"{call.render.api}/issueLink/{link.id}"})


def _visible_link(call: Call) -> tuple[IssueLink, Issue, Issue]:
    link_id = call.request.path_params["id"]
    link = call.store.issue_link(link_id)
    source = call.store.issue_by_id(link.outward_issue_id) if link else None
    target = call.store.issue_by_id(link.inward_issue_id) if link else None
    if link is None or source is None or target is None or not call.user.can_browse(source.project_key) or \
            not call.user.can_browse(target.project_key):
        raise JiraError(404, f"No issue link with id '{link_id}' exists.")
    return link, source, target


@api
async def get_link(call: Call) -> Response:
    """``GET /issueLink/{id}``."""
    link, _, _ = _visible_link(call)
    return json_response(call.render.issue_link(link))


@api
async def delete_link(call: Call) -> Response:
    """``DELETE /issueLink/{id}``: 204."""
    link, source, _ = _visible_link(call)
    call.require_edit(source.project_key, "link issues")
    ops.unlink(call.store, link, call.user)
    return Response(status_code=204)


# --------------------------------------------------------------------------- remote links


def _remote(call: Call, issue: Issue) -> RemoteLink:
    raw = call.request.path_params["id"]
    found = next((r for r in issue.remote_links if str(r.id) == raw), None)
    if found is None:
        raise JiraError(404, f"No remote link with id '{raw}' exists on issue {issue.key}.")
    return found


@api
async def list_remote(call: Call) -> Response:
    """``GET /issue/{key}/remotelink[?globalId=]``: the links (one object when ``globalId`` is given)."""
    issue = call.issue()
    global_id = call.request.query_params.get("globalId")
    if global_id is not None:
        found = next((r for r in issue.remote_links if r.global_id == global_id), None)
        if found is None:
            raise JiraError(404, f"No remote link with globalId '{global_id}' exists on issue {issue.key}.")
        return json_response(call.render.remote_link(issue, found))
    return json_response([call.render.remote_link(issue, r) for r in issue.remote_links])


def _opt_str(value: Any, name: str, errors: dict[str, str]) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        errors[name] = f"'{name}' must be a string."
        return None
    return value


@api
async def upsert_remote(call: Call) -> Response:
    """``POST /issue/{key}/remotelink``: 201 ``{id, self}`` for a new link, 200 when ``globalId`` matched."""
    issue = call.issue(write="link issues")
    body = await call.json_body()
    unknown = sorted(set(body) - set(_REMOTE_KEYS))
    if unknown:
        raise JiraError(400, f'Unrecognized field "{unknown[0]}" (known: {", ".join(_REMOTE_KEYS)})')
    obj = body.get("object")
    errors: dict[str, str] = {}
    if not isinstance(obj, dict):
        raise FieldErrors({"object": "'object' is required, with at least 'url' and 'title'."})
    url, title = _opt_str(obj.get("url"), "url", errors), _opt_str(obj.get("title"), "title", errors)
    if not url:
        errors.setdefault("url", "'url' is required.")
    if not title:
        errors.setdefault("title", "'title' is required.")
    app = body.get("application") if isinstance(body.get("application"), dict) else {}
    icon = obj.get("icon") if isinstance(obj.get("icon"), dict) else {}
    status = obj.get("status") if isinstance(obj.get("status"), dict) else {}
    values = {
        "global_id": _opt_str(body.get("globalId"), "globalId", errors),
        "relationship": _opt_str(body.get("relationship"), "relationship", errors),
        "summary": _opt_str(obj.get("summary"), "summary", errors),
        "application_name": _opt_str(app.get("name"), "application.name", errors),
        "application_type": _opt_str(app.get("type"), "application.type", errors),
        "icon_url": _opt_str(icon.get("url16x16"), "icon.url16x16", errors),
        "resolved": status.get("resolved") if isinstance(status.get("resolved"), bool) else None,
    }
    if errors:
        raise FieldErrors(errors)
    assert url is not None and title is not None
    store = call.store
    with store.lock:
        existing = next((r for r in issue.remote_links
                         if values["global_id"] is not None and r.global_id == values["global_id"]), None)
        if existing is not None:
            existing.url, existing.title = url, title
            for name, value in values.items():
                setattr(existing, name, value)
            store.record(issue, call.user, [])
            link, status_code = existing, 200
        else:
            link = RemoteLink(id=store.next_id("remote_link"), url=url, title=title, **values)
            issue.remote_links.append(link)
            store.record(issue, call.user, [ChangeItem("RemoteIssueLink", "jira", None, None, str(link.id),
                                                       f'This issue links to "{title}"')])
            status_code = 201
    return json_response({"id": link.id, "self": f"{call.render.api}/issue/{issue.key}/remotelink/{link.id}"},
                         status_code)


@api
async def get_remote(call: Call) -> Response:
    """``GET /issue/{key}/remotelink/{id}``."""
    issue = call.issue()
    return json_response(call.render.remote_link(issue, _remote(call, issue)))


def _drop_remote(call: Call, issue: Issue, link: RemoteLink) -> Response:
    store = call.store
    with store.lock:
        issue.remote_links = [r for r in issue.remote_links if r.id != link.id]
        store.record(issue, call.user, [ChangeItem("RemoteIssueLink", "jira", str(link.id),
                                                   f'This issue links to "{link.title}"', None, None)])
    return Response(status_code=204)


@api
async def delete_remote(call: Call) -> Response:
    """``DELETE /issue/{key}/remotelink/{id}``: 204."""
    issue = call.issue(write="link issues")
    return _drop_remote(call, issue, _remote(call, issue))


@api
async def delete_remote_by_global_id(call: Call) -> Response:
    """``DELETE /issue/{key}/remotelink?globalId=...``: 204."""
    issue = call.issue(write="link issues")
    global_id = call.request.query_params.get("globalId")
    if not global_id:
        raise JiraError(400, "The 'globalId' query parameter is required.")
    found = next((r for r in issue.remote_links if r.global_id == global_id), None)
    if found is None:
        raise JiraError(404, f"No remote link with globalId '{global_id}' exists on issue {issue.key}.")
    return _drop_remote(call, issue, found)


def routes() -> list[Route]:
    """The routes of this module."""
    base = "/rest/api/{version}"
    remote = f"{base}/issue/{{key}}/remotelink"
    return [
        Route(f"{base}/issueLinkType", link_types, methods=["GET"]),
        Route(f"{base}/issueLinkType/{{id}}", link_type, methods=["GET"]),
        Route(f"{base}/issueLink", create_link, methods=["POST"]),
        Route(f"{base}/issueLink/{{id}}", get_link, methods=["GET"]),
        Route(f"{base}/issueLink/{{id}}", delete_link, methods=["DELETE"]),
        Route(remote, list_remote, methods=["GET"]),
        Route(remote, upsert_remote, methods=["POST"]),
        Route(remote, delete_remote_by_global_id, methods=["DELETE"]),
        Route(f"{remote}/{{id}}", get_remote, methods=["GET"]),
        Route(f"{remote}/{{id}}", delete_remote, methods=["DELETE"]),
    ]
