"""``JIRA_PROJECTS_FILTER``: the one guard between tools and every project outside the filter.

Two doors lead through it. Tools call :func:`guard_issue`, :func:`guard_project`,
:func:`guard_board`, :func:`guard_sprint` and :func:`guard_version` for an early, clear
refusal of what they were asked. And every write on its way to Jira passes
:func:`request_guard`, the outermost Jira request middleware (the runtime installs it, no
plugin can remove it): it finds every issue, project, board, sprint and version reference
in the path and the body, whatever field or tool carries it (``parent``, ``project``,
``fixVersions``, ``versions``, ``issuelinks``, and custom fields by their schema type:
Epic Link, Parent Link, issue pickers, Sprint, version and project pickers), looks up the
project of ids that do not name it (cached for :data:`LOOKUP_TTL_SECONDS`), and refuses
the write when one points outside the filter. A write to an endpoint it cannot read is
refused while a filter is set: a new tool cannot slip past by using one.

Refusals name the argument or field and the allowed projects, never what was found in
another project: an issue key or project a lookup discovered stays unnamed.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import cachetools
import httpx2

from jiraplug.tool_errors import UserFacingError
from jiraplug.server.toolcalls import current_call

if TYPE_CHECKING:
    from jiraplug.jira.client import JiraClient
    from jiraplug.jira.fields import FieldInfo
    from jiraplug.jira.middleware import JiraMiddleware, Send
    from jiraplug.runtime import Runtime

log = logging.getLogger("jiraplug.server.projects_filter")

ISSUE_KEY = re.compile(r"^(?P<project>[A-Z][A-Z0-9_]*)-(?P<number>[1-9][0-9]*)$")
LOOKUP_TTL_SECONDS = 300.0  # a board's project can change; ids of versions, sprints, projects do not
LOOKUP_CAPACITY = 4096
MIDDLEWARE_NAME = "projects_filter"


# ---------------------------------------------------------------- the filter


def allowed_projects(runtime: Runtime | None = None) -> list[str]:
    """Project keys the configuration restricts every access to (empty: no restriction)."""
    runtime = runtime or current_call().runtime
    return [key.upper() for key in runtime.settings.tools.projects_filter]


def outside(what: str, projects: list[str]) -> UserFacingError:
    """The refusal of ``what`` (which must not name anything found in another project)."""
    return UserFacingError(f"{what} is outside the projects this server may access ({', '.join(projects)})")


def guard_issue(issue_key: str) -> str:
    """Normalise an issue key and refuse keys outside ``JIRA_PROJECTS_FILTER``.

    Numeric ids are refused when a filter is set: give the key, whose project shows.
    """
    key = issue_key.strip().upper()
    match = ISSUE_KEY.match(key)
    if match is None:
        if key.isdigit() and not allowed_projects():
            return key
        raise UserFacingError(f"{issue_key!r} is not an issue key; expected a key like PROJ-123")
    projects = allowed_projects()
    if projects and match["project"] not in projects:
        raise outside(f"issue {key}", projects)
    return key


def guard_found_issue(issue_key: str, found_as: str) -> str:
    """:func:`guard_issue` for a key Jira answered (not one the caller gave): the refusal does not name it."""
    key = str(issue_key).strip().upper()
    match = ISSUE_KEY.match(key)
    projects = allowed_projects()
    if projects and (match is None or match["project"] not in projects):
        raise outside(found_as, projects)
    return key


def guard_project(project_key: str) -> str:
    """Normalise a project key and refuse keys outside ``JIRA_PROJECTS_FILTER``."""
    key = project_key.strip().upper()
    projects = allowed_projects()
    if projects and key not in projects:
        raise outside(f"project {key}", projects)
    return key


async def guard_board(board_id: int | str) -> None:
    """Refuse a board whose project is outside the filter (no request when no filter is set)."""
    projects = allowed_projects()
    if projects:
        await _Scope(current_call().runtime, current_call().jira, projects).board(board_id, f"board {board_id}")


async def guard_sprint(sprint_id: int | str, board_id: Any = None) -> None:
    """Refuse a sprint whose board is outside the filter; ``board_id`` when the sprint was just read."""
    projects = allowed_projects()
    if projects:
        scope = _Scope(current_call().runtime, current_call().jira, projects)
        if board_id is not None:
            scope.lookups.remember("sprint", scope.client, sprint_id, str(board_id))
        await scope.sprint(sprint_id, f"sprint {sprint_id}")


async def guard_version(version_id: int | str, version: dict[str, Any] | None = None) -> str:
    """The key of a version's project, refused when outside the filter; ``version`` when already read."""
    scope = _Scope(current_call().runtime, current_call().jira, allowed_projects())
    return await scope.version(version_id, f"version {version_id}", known=version)


# ---------------------------------------------------------------- lookups


class _Lookups:
    """What an id belongs to (project of a version, board of a sprint...), remembered a while per site."""

    def __init__(self) -> None:
        self._cache: cachetools.TTLCache[tuple[str, str, str], str] = cachetools.TTLCache(
            LOOKUP_CAPACITY, LOOKUP_TTL_SECONDS)

    def remember(self, kind: str, client: JiraClient, ident: Any, owner: str) -> None:
        self._cache[(client.base_url, kind, str(ident))] = owner

    async def owner(self, kind: str, client: JiraClient, ident: Any,
                    fetch: Callable[[], Awaitable[str]]) -> str:
        key = (client.base_url, kind, str(ident))
        found = self._cache.get(key)
        if found is None:
            found = self._cache[key] = await fetch()
        return found


def _lookups(runtime: Runtime) -> _Lookups:
    return runtime.plugin_state(__name__, _Lookups)


# ---------------------------------------------------------------- references


def _ref_text(value: Any) -> str | None:
    """The key or id inside a reference value (``"X-1"``, ``7``, ``{"key": ...}``, ``{"id": ...}``)."""
    if isinstance(value, dict):
        value = value.get("key", value.get("id"))
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    return str(value).strip().upper() or None


@dataclass
class _Scope:
    """Checks references for one request (or one tool's question) with one client."""

    runtime: Runtime
    client: JiraClient
    projects: list[str]

    @property
    def lookups(self) -> _Lookups:
        return _lookups(self.runtime)

    def project_key(self, key: str, where: str) -> str:
        if self.projects and key.upper() not in self.projects:
            raise outside(where, self.projects)
        return key.upper()

    async def get(self, path: str, operation: str, **params: Any) -> Any:
        return await self.client.request("GET", path, operation=operation, params=params or None)

    # -- one reference of each kind; ``where`` names it in a refusal

    async def project(self, value: Any, where: str) -> None:
        ref = _ref_text(value)
        if ref is None:
            raise UserFacingError(f"{where} is not a project key or id")
        if ref.isdigit():
            ref = await self.lookups.owner("project", self.client, ref, lambda: self._project_of_id(ref))
        self.project_key(ref, where)

    async def _project_of_id(self, ident: str) -> str:
        return str((await self.get(f"{self.client.api}/project/{ident}", "project.get")).get("key", "")).upper()

    async def issue(self, value: Any, where: str) -> None:
        if value is None or value == "":
            return  # clearing a reference points nowhere
        ref = _ref_text(value)
        if ref is None:
            raise UserFacingError(f"{where} is not an issue key or id")
        match = ISSUE_KEY.match(ref)
        if match is not None:
            project = match["project"]
        elif ref.isdigit():
            project = await self.lookups.owner("issue", self.client, ref, lambda: self._project_of_issue(ref))
        else:
            raise UserFacingError(f"{where} is not an issue key like PROJ-123")
        self.project_key(project, where)

    async def _project_of_issue(self, ident: str) -> str:
        issue = await self.get(f"{self.client.api}/issue/{ident}", "issue.get", fields="project")
        return str(((issue.get("fields") or {}).get("project") or {}).get("key", "")).upper()

    async def board(self, value: Any, where: str) -> None:
        ref = _ref_text(value)
        if ref is None or not ref.isdigit():
            raise UserFacingError(f"{where} is not a board id")
        self.project_key(await self.lookups.owner("board", self.client, ref, lambda: self._project_of_board(ref)),
                         where)

    async def _project_of_board(self, ident: str) -> str:
        board = await self.get(f"{self.client.agile}/board/{ident}", "board.get")
        return str((board.get("location") or {}).get("projectKey") or "").upper()  # "": no single project

    async def sprint(self, value: Any, where: str) -> None:
        if value is None:
            return
        ref = _ref_text(value)
        if ref is None or not ref.isdigit():
            raise UserFacingError(f"{where} is not a sprint id")
        board = await self.lookups.owner("sprint", self.client, ref, lambda: self._board_of_sprint(ref))
        if not board:
            raise UserFacingError(f"{where} has no board, so its project cannot be checked")
        await self.board(board, where)

    async def _board_of_sprint(self, ident: str) -> str:
        sprint = await self.get(f"{self.client.agile}/sprint/{ident}", "sprint.get")
        return str(sprint.get("originBoardId") or "")

    async def version(self, value: Any, where: str, known: dict[str, Any] | None = None) -> str:
        if isinstance(value, dict) and "id" not in value:
            return ""  # by name: Jira looks the name up in the issue's own project
        ref = _ref_text(value)
        if ref is None:
            raise UserFacingError(f"{where} is not a version id or name")
        if not ref.isdigit():
            return ""  # a bare name, looked up in the issue's project too

        async def fetch() -> str:
            version = known or await self.get(f"{self.client.api}/version/{ref}", "version.get")
            return await self._owner_project(version)

        return self.project_key(await self.lookups.owner("version", self.client, ref, fetch), where)

    async def component(self, value: Any, where: str) -> None:
        async def fetch() -> str:
            return await self._owner_project(await self.get(f"{self.client.api}/component/{value}", "component.get"))

        self.project_key(await self.lookups.owner("component", self.client, value, fetch), where)

    async def _owner_project(self, item: dict[str, Any]) -> str:
        """The project key of a version or component (Data Center names it, Cloud gives its id)."""
        key = item.get("project")
        if isinstance(key, str) and key:
            return key.upper()
        pid = str(item.get("projectId", ""))
        return await self.lookups.owner("project", self.client, pid, lambda: self._project_of_id(pid))

    async def link(self, value: Any, where: str) -> None:
        """An issue link object: both ends (``inwardIssue``/``outwardIssue``) are references."""
        if not isinstance(value, dict):
            raise UserFacingError(f"{where} is not an issue link object")
        for end in ("inwardIssue", "outwardIssue"):
            if end in value:
                await self.issue(value[end], where)

    # -- issue bodies (create, bulk create, edit, transition)

    async def issue_body(self, body: Any, where: str) -> None:
        if not isinstance(body, dict):
            return
        fields, update = body.get("fields") or {}, body.get("update") or {}
        if not isinstance(fields, dict) or not isinstance(update, dict):
            raise UserFacingError(f"{where}: fields and update must be objects")
        for field_id, value in fields.items():
            await self.field_value(field_id, value, where)
        for field_id, operations in update.items():
            for operation in operations if isinstance(operations, list) else [operations]:
                values = operation.values() if isinstance(operation, dict) else [operation]
                for value in values:
                    await self.field_value(field_id, value, where)

    async def field_value(self, field_id: str, value: Any, where: str) -> None:
        field = await self.field(field_id, where)
        kind = reference_kind(field)
        if kind is None:
            return
        label = f"{where}: {NOUNS[kind]} in field {field.name!r}" + (f" ({field.id})" if field.id != field.name else "")
        check = {"issue": self.issue, "project": self.project, "version": self.version, "sprint": self.sprint,
                 "link": self.link}[kind]
        for item in value if isinstance(value, list) else [value]:
            await check(item, label)

    async def field(self, field_id: str, where: str) -> FieldInfo:
        from jiraplug.jira.fields import FieldCatalog

        catalog = await FieldCatalog.of(self.client)
        try:
            return catalog.find(field_id)
        except UserFacingError:
            await self.client.field_list(fresh=True)  # a field added since the list was read
            try:
                return (await FieldCatalog.of(self.client)).find(field_id)
            except UserFacingError:
                raise UserFacingError(f"{where}: unknown field {field_id!r}, so its value cannot be checked "
                                      "against the projects filter") from None


NOUNS = {"issue": "the issue", "project": "the project", "version": "the version", "sprint": "the sprint",
         "link": "the linked issue"}
# Custom field types (schema ``custom``) whose values point at issues, sprints, versions, projects.
ISSUE_TYPES = ("com.pyxis.greenhopper.jira:gh-epic-link", "com.atlassian.jpo:jpo-custom-field-parent",
               ":issuepicker", ":multiissuepicker")
SPRINT_TYPES = ("com.pyxis.greenhopper.jira:gh-sprint",)
VERSION_TYPES = ("customfieldtypes:version", "customfieldtypes:multiversion")
PROJECT_TYPES = ("customfieldtypes:project",)


def reference_kind(field: FieldInfo) -> str | None:
    """``"issue"``, ``"project"``, ``"version"``, ``"sprint"`` or ``"link"`` for a field holding
    references (by system id, custom type or schema type), else ``None``."""
    custom = field.custom_type or ""
    if field.id == "issuelinks":
        return "link"
    if field.id == "parent" or custom.endswith(ISSUE_TYPES) or "issuelink" in (field.type, field.items) \
            or field.items == "issuelinks":
        return "issue"
    if custom.endswith(SPRINT_TYPES):
        return "sprint"
    if field.id in ("fixVersions", "versions") or custom.endswith(VERSION_TYPES) or "version" in (field.type,
                                                                                                   field.items):
        return "version"
    if field.id == "project" or custom.endswith(PROJECT_TYPES) or "project" in (field.type, field.items):
        return "project"
    return None


# ---------------------------------------------------------------- the request guard


API = r"/rest/api/(?:2|3|latest)"
AGILE = r"/rest/agile/1\.0"
# POSTs that only read (searches with a JQL body, which the tools scope with scoped_jql).
READ_POSTS = re.compile(rf"^{API}/(?:search(?:/jql|/approximate-count)?|jql/parse)$")
ISSUE_PARTS = "comment|worklog|remotelink|watchers|attachments|assignee|properties|votes"

Check = Callable[[_Scope, dict[str, str], Any, Any], Awaitable[None]]
_ROUTES: list[tuple[frozenset[str], re.Pattern[str], Check]] = []


def _route(methods: str, pattern: str) -> Callable[[Check], Check]:
    def register(check: Check) -> Check:
        _ROUTES.append((frozenset(methods.split()), re.compile(f"^{pattern}$"), check))
        return check

    return register


async def _issues(scope: _Scope, values: Any, where: str) -> None:
    for value in values if isinstance(values, list) else [values]:
        await scope.issue(value, where)


@_route("POST", f"{API}/issue")
async def _create(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.issue_body(body, "the new issue")


@_route("POST", f"{API}/issue/bulk")
async def _bulk_create(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    for index, item in enumerate((body or {}).get("issueUpdates") or []):
        await scope.issue_body(item, f"issue {index + 1} of the bulk create")


@_route("PUT DELETE", f"{API}/issue/(?P<issue>[^/]+)")
@_route("POST", f"{API}/issue/(?P<issue>[^/]+)/transitions")
async def _issue_write(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.issue(path["issue"], "the issue written to")
    await scope.issue_body(body, path["issue"].upper())


@_route("POST PUT DELETE", f"{API}/issue/(?P<issue>[^/]+)/(?:{ISSUE_PARTS})(?:/[^/]+)?")
async def _issue_part(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.issue(path["issue"], "the issue written to")


@_route("POST", f"{API}/issueLink")
async def _link_create(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.link(body, "the issue link")


@_route("DELETE", f"{API}/issueLink/(?P<link>[0-9]+)")
async def _link_delete(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    link = await scope.get(f"{scope.client.api}/issueLink/{path['link']}", "issueLink.get")
    await scope.link(link, f"issue link {path['link']}")


@_route("POST", f"{API}/(?:version|component)")
async def _project_item_create(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    body = body if isinstance(body, dict) else {}
    if "project" not in body and "projectId" not in body:
        raise UserFacingError("the new item names no project, so it cannot be checked against the projects filter")
    for name in ("project", "projectId"):
        if name in body:
            await scope.project(body[name], "the project of the new item")


@_route("PUT DELETE", f"{API}/version/(?P<version>[0-9]+)")
async def _version_write(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.version(path["version"], f"version {path['version']}")
    for name in ("project", "projectId"):
        if isinstance(body, dict) and name in body:
            await scope.project(body[name], f"the project of version {path['version']}")


@_route("PUT DELETE", f"{API}/component/(?P<component>[0-9]+)")
async def _component_write(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.component(path["component"], f"component {path['component']}")


@_route("DELETE", f"{API}/attachment/(?P<attachment>[0-9]+)")
async def _attachment_delete(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    # Jira's attachment metadata does not name its issue: the request must, in its ``touches``.
    wanted = path["attachment"]
    for tag in info.touches:
        kind, _, key = tag.partition(":")
        if kind == "issue" and ISSUE_KEY.match(key):
            await scope.issue(key, f"the issue of attachment {wanted}")
            issue = await scope.get(f"{scope.client.api}/issue/{key}", "issue.get", fields="attachment")
            if any(str(a.get("id")) == wanted for a in (issue.get("fields") or {}).get("attachment") or []):
                return
    raise UserFacingError(f"attachment {wanted} is not on an issue this request names, so it cannot be "
                          "checked against the projects filter")


@_route("PUT", r"/jira/forms/cloud/[^/]+/issue/(?P<issue>[^/]+)/form/[^/]+(?:/action/(?:submit|reopen))?")
async def _form_write(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.issue(path["issue"], "the issue of the form")


@_route("POST", f"{AGILE}/sprint")
async def _sprint_create(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.board((body or {}).get("originBoardId"), "the board of the new sprint")


@_route("POST PUT DELETE", f"{AGILE}/sprint/(?P<sprint>[0-9]+)")
async def _sprint_write(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.sprint(path["sprint"], f"sprint {path['sprint']}")
    if isinstance(body, dict) and body.get("originBoardId") is not None:
        await scope.board(body["originBoardId"], f"the board of sprint {path['sprint']}")


@_route("POST", f"{AGILE}/(?:sprint/(?P<sprint>[0-9]+)|board/(?P<board>[0-9]+)|epic/(?P<epic>[^/]+)|backlog)/issue")
async def _move_issues(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    """Issues moved into a sprint, onto a board, into an epic (``none``: out of it) or to the backlog."""
    if path["sprint"]:
        await scope.sprint(path["sprint"], f"sprint {path['sprint']}")
    if path["board"]:
        await scope.board(path["board"], f"board {path['board']}")
    if path["epic"] and path["epic"].lower() != "none":
        await scope.issue(path["epic"], "the epic")
    await _issues(scope, (body or {}).get("issues") or [], "an issue to move")


@_route("PUT", f"{AGILE}/issue/rank")
async def _rank(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    body = body if isinstance(body, dict) else {}
    await _issues(scope, body.get("issues") or [], "an issue to rank")
    for name in ("rankBeforeIssue", "rankAfterIssue"):
        if body.get(name):
            await scope.issue(body[name], "the issue ranked against")


SERVICE_DESK = r"/rest/servicedeskapi"


@_route("POST", f"{SERVICE_DESK}/request")
async def _request_create(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    """A customer request: its project is the one of the service desk the body names."""
    desk = _ref_text((body or {}).get("serviceDeskId") if isinstance(body, dict) else None)
    if desk is None or not desk.isdigit():
        raise UserFacingError("the new request names no service desk, so it cannot be checked against the "
                              "projects filter")

    async def fetch() -> str:
        found = await scope.get(f"{SERVICE_DESK}/servicedesk/{desk}", "servicedesk.get")
        return str(found.get("projectKey") or "").upper()

    scope.project_key(await scope.lookups.owner("servicedesk", scope.client, desk, fetch), "the service desk")


@_route("POST DELETE", f"{SERVICE_DESK}/request/(?P<issue>[^/]+)/(?:comment|approval/[0-9]+|transition|participant)")
async def _request_part(scope: _Scope, path: dict[str, str], body: Any, info: Any) -> None:
    await scope.issue(path["issue"], "the request written to")


def _rest_path(request: httpx2.Request) -> str:
    """The request's path from ``/rest/`` on (REST calls may go through a gateway prefix)."""
    path = request.url.path
    index = path.find("/rest/")
    return path[index:] if index >= 0 else path


async def check_request(runtime: Runtime, client: JiraClient, request: httpx2.Request) -> None:
    """Refuse ``request`` when it writes with a reference outside the filter (or one it cannot check)."""
    projects = allowed_projects(runtime)
    method = request.method.upper()
    if not projects or method in ("GET", "HEAD", "OPTIONS"):
        return
    from jiraplug.jira.middleware import request_info

    path, info = _rest_path(request), request_info(request)
    if method == "POST" and READ_POSTS.match(path):
        return
    body: Any = None
    if request.headers.get("content-type", "").startswith("application/json"):
        raw = await request.aread()
        body = json.loads(raw) if raw.strip() else None
    scope = _Scope(runtime, client, projects)
    for methods, pattern, check in _ROUTES:
        match = pattern.match(path)
        if match and method in methods:
            await check(scope, match.groupdict(), body, info)
            return
    raise UserFacingError(f"{info.operation}: this write cannot be checked against the projects filter "
                          f"({', '.join(projects)}), so it is refused")


def request_guard(runtime: Runtime) -> JiraMiddleware:
    """The Jira request middleware that runs :func:`check_request` on every request (outermost).

    It fails closed: an unexpected error while checking refuses the write rather than letting
    it through (the middleware chain would otherwise send a request whose middleware failed).
    """

    def wrap(send: Send) -> Send:
        async def guarded(request: httpx2.Request) -> httpx2.Response:
            if not runtime.settings.tools.projects_filter:
                return await send(request)
            try:
                client = current_call().jira
            except LookupError:
                client = runtime.jira  # outside a tool call (start-up hooks): the configured credential
            try:
                await check_request(runtime, client, request)
            except UserFacingError:
                raise
            except Exception:
                log.exception("projects filter check failed for %s", request.method)
                raise UserFacingError("this write could not be checked against the projects filter, so it "
                                      "is refused (see the server log)") from None
            return await send(request)

        return guarded

    return wrap

