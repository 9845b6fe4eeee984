"""Users: ``GET /user``, ``/user/search``, ``/user/assignable/search`` under ``/rest/api/{v}``.

Cloud names users by ``accountId`` and searches with ``query``; Data Center uses ``username``
(which is also its search string; ``.`` matches everyone). Assignable users are the people
who may work in the project (for erin, MOB but not PLAT).
"""

from __future__ import annotations

from jiraplug.sandbox.model import SandboxUser
from jiraplug.sandbox.web import ISSUE_NOT_FOUND, Call, JiraError, api, json_response, page_params
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]


def _matches(user: SandboxUser, needle: str, flavour: str) -> bool:
    if needle in ("", ".") and flavour == "dc":
        return True
    text = needle.casefold()
    fields = [user.display_name, user.email] + ([user.name] if flavour == "dc" else [])
    return any(text in f.casefold() for f in fields) or user.account_id == needle


def _page(call: Call, users: list[SandboxUser]) -> Response:
    start, size = page_params(call.request, 50, 1000)
    return json_response([call.render.user(u) for u in users[start: start + size]])


def _search_term(call: Call) -> str | None:
    params = call.request.query_params
    if call.flavour == "cloud":
        return params.get("query", params.get("accountId"))
    return params.get("username")


@api
async def get_user(call: Call) -> Response:
    """``GET /user?accountId=`` (Cloud) / ``?username=`` or ``?key=`` (DC)."""
    params = call.request.query_params
    if call.flavour == "cloud":
        ident = params.get("accountId")
        if not ident:
            raise JiraError(400, "The 'accountId' query parameter needs to be provided.")
        user = call.store.user_by_account_id(ident)
        if user is None:
            raise JiraError(404, "Specified user does not exist or you do not have required permissions")
    else:
        ident = params.get("username") or params.get("key")
        if not ident:
            raise JiraError(400, "Either the 'username' or the 'key' query parameter is required.")
        user = call.store.user_by_name(ident)
        if user is None:
            raise JiraError(404, f"The user named '{ident}' does not exist")
    return json_response(call.render.user_full(user))


@api
async def search_users(call: Call) -> Response:
    """``GET /user/search``: users matching the search term."""
    term = _search_term(call)
    if term is None:
        need = "One of 'query' or 'accountId' query parameters must be provided." if call.flavour == "cloud" \
            else "The 'username' query parameter is required."
        raise JiraError(400, need)
    return _page(call, [u for u in call.store.users if u.active and _matches(u, term, call.flavour)])


@api
async def assignable_users(call: Call) -> Response:
    """``GET /user/assignable/search?project=`` or ``?issueKey=``: who can be assigned there."""
    params = call.request.query_params
    project_key = None
    if params.get("issueKey"):
        issue = call.store.get_issue(params["issueKey"], call.user)
        if issue is None:
            raise JiraError(404, ISSUE_NOT_FOUND)
        project_key = issue.project_key
    elif params.get("project"):
        project = call.store.get_project(params["project"], call.user)
        if project is None:
            raise JiraError(404, f"No project could be found with key '{params['project']}'.")
        project_key = project.key
    else:
        raise JiraError(400, "The 'project' or 'issueKey' query parameter is required.")
    term = _search_term(call) or ""
    found = [u for u in call.store.users if u.active and u.can_edit(project_key) and
             (not term or _matches(u, term, call.flavour))]
    return _page(call, found)


def routes() -> list[Route]:
    """The routes of this module."""
    base = "/rest/api/{version}/user"
    return [
        Route(base, get_user, methods=["GET"]),
        Route(f"{base}/search", search_users, methods=["GET"]),
        Route(f"{base}/assignable/search", assignable_users, methods=["GET"]),
    ]
