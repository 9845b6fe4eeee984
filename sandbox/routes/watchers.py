"""Watchers: ``GET``/``POST``/``DELETE /rest/api/{v}/issue/{key}/watchers``.

``POST`` takes a JSON *string*: the account id on Cloud, the user name on Data Center (an
empty body adds the caller). ``DELETE`` takes ``?accountId=`` (Cloud) or ``?username=`` (DC).
Anyone who can see an issue may watch or unwatch it themselves; managing other people's
watching needs write access to the project. As in Jira, watching does not touch ``updated``.
"""

from __future__ import annotations

from jiraplug.sandbox.model import Issue, SandboxUser
from jiraplug.sandbox.web import Call, JiraError, api, json_response
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]


def _target(call: Call, ident: str | None) -> SandboxUser:
    if ident is None:
        return call.user
    user = call.store.user_by_ref(ident, call.flavour)
    if user is None:
        raise JiraError(404, f"The user '{ident}' does not exist.")
    return user


def _may_manage(call: Call, issue: Issue, user: SandboxUser) -> None:
    if user is not call.user and not call.user.can_edit(issue.project_key):
        raise JiraError(403, "You do not have the permission to manage the watcher list.")


@api
async def get_watchers(call: Call) -> Response:
    """Who watches the issue."""
    return json_response(call.render.watchers(call.issue()))


@api
async def add_watcher(call: Call) -> Response:
    """Start watching (204)."""
    issue = call.issue()
    body = await call.json_any(allow_empty=True)
    if body is not None and not isinstance(body, str):
        what = "account id" if call.flavour == "cloud" else "user name"
        raise JiraError(400, f"The request body must be a JSON string holding the {what} of the watcher.")
    user = _target(call, body or None)
    _may_manage(call, issue, user)
    if not user.can_browse(issue.project_key):
        raise JiraError(400, f"The user '{user.display_name}' does not have permission to view this issue.")
    with call.store.lock:
        if user not in issue.watchers:
            issue.watchers.append(user)
    return Response(status_code=204)


@api
async def remove_watcher(call: Call) -> Response:
    """Stop watching (204)."""
    issue = call.issue()
    param = "accountId" if call.flavour == "cloud" else "username"
    ident = call.request.query_params.get(param)
    if not ident:
        raise JiraError(400, f"The '{param}' query parameter is required.")
    user = _target(call, ident)
    _may_manage(call, issue, user)
    with call.store.lock:
        issue.watchers = [u for u in issue.watchers if u is not user]
    return Response(status_code=204)


def routes() -> list[Route]:
    """The routes of this module."""
    path = "/rest/api/{version}/issue/{key}/watchers"
    return [Route(path, get_watchers, methods=["GET"]), Route(path, add_watcher, methods=["POST"]),
            Route(path, remove_watcher, methods=["DELETE"])]
