"""Issue endpoints under ``/rest/api/{v}``.

- ``GET/PUT/DELETE /issue/{key}``: read (``fields``, ``expand``), edit (``fields``/``update``,
  204), delete (``?deleteSubtasks``).
- ``POST /issue`` (201 ``{id, key, self}``) and ``POST /issue/bulk`` (``issueUpdates``,
  per-item ``errors``).
- ``PUT /issue/{key}/assignee``.
- ``GET /issue/{key}/changelog`` and ``POST /changelog/bulkfetch`` (Cloud).
- ``GET /issue/{key}/editmeta``, ``GET /issue/createmeta/{project}/issuetypes[/{id}]``.
"""

from __future__ import annotations

import base64
from typing import Any

from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.app_fields import request_issue
from jiraplug.sandbox.fieldmeta import screen_meta
from jiraplug.sandbox.fields import parse_field_selection
from jiraplug.sandbox.issue_input import (
    FieldErrors,
    InputContext,
    Operation,
    collect_operations,
    plan_operations,
)
from jiraplug.sandbox.issue_side import parse_side_effects
from jiraplug.sandbox.model import Issue, IssueType, Project
from jiraplug.sandbox.web import (
    ISSUE_NOT_FOUND,
    Call,
    JiraError,
    api,
    json_response,
    not_found_uri,
    page_params,
    param_list,
)
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes", "ISSUE_NOT_FOUND", "expand_set", "create_issue"]

_BULK_LIMIT = 50
_ISSUE_BEAN_KEYS = ("fields", "update", "historyMetadata", "properties", "transition")


def expand_set(values: list[str]) -> set[str]:
    """Normalise ``expand`` values (comma lists, any case) to a lower-case set."""
    return {part.strip().lower() for value in values for part in value.split(",") if part.strip()}


def _flag(call: Call, name: str) -> bool:
    return call.request.query_params.get(name, "").strip().lower() == "true"


@api
async def get_issue(call: Call) -> Response:
    """``GET /rest/api/{v}/issue/{issueIdOrKey}`` with ``fields`` and ``expand``; a customer request for agents."""
    selection = parse_field_selection(param_list(call.request, "fields"), call.flavour, "*all")
    expand = expand_set(call.request.query_params.getlist("expand"))
    desk = call.store.service_desk
    request = desk.request(call.request.path_params["key"])
    if request is not None and desk.is_agent(call.user):
        return json_response(request_issue(call.render, desk, request, selection, expand))
    return json_response(call.render.issue(call.issue(), selection, expand))


# --------------------------------------------------------------------------- create


def _project_and_type(call: Call, fields: dict[str, Any], operations: list[Operation]) -> tuple[Project, IssueType]:
    errors: dict[str, str] = {}
    project: Project | None = None
    itype: IssueType | None = None
    raw_project = fields.get("project")
    if isinstance(raw_project, dict) and (raw_project.get("key") or raw_project.get("id")):
        project = call.store.get_project(str(raw_project.get("key") or raw_project.get("id")), call.user)
    if project is None:
        errors["project"] = "Specify a valid project ID or key"
    raw_type = fields.get("issuetype")
    if not isinstance(raw_type, dict) or not (raw_type.get("id") or raw_type.get("name")):
        errors["issuetype"] = "Specify an issue type"
    else:
        wanted_id, wanted_name = str(raw_type.get("id", "")), str(raw_type.get("name", "")).casefold()
        itype = next((t for t in call.store.issue_types
                      if t.id == wanted_id or (wanted_name and t.name.casefold() == wanted_name)), None)
        if itype is None:
            errors["issuetype"] = "The issue type selected is invalid."
    if not any(op.field_id == "summary" for op in operations):
        errors["summary"] = "You must specify a summary of the issue."
    if errors:
        raise FieldErrors(errors)
    assert project is not None and itype is not None
    call.require_edit(project.key, "create issues")
    return project, itype


def create_issue(call: Call, payload: Any) -> Issue:
    """Validate one ``IssueUpdateDetails`` and create the issue (raises :class:`JiraError`)."""
    if not isinstance(payload, dict):
        raise JiraError(400, "Can not deserialize instance of the issue bean out of a non-object token")
    unknown = sorted(set(payload) - set(_ISSUE_BEAN_KEYS))
    if unknown:
        raise JiraError(400, f'Unrecognized field "{unknown[0]}" in the issue bean.')
    fields = payload.get("fields") or {}
    operations, side = collect_operations(fields, payload.get("update"))
    if not isinstance(fields, dict):
        raise JiraError(400, "Can not deserialize 'fields': expected an object of field values")
    project, itype = _project_and_type(call, fields, operations)
    store = call.store
    draft = Issue(id=0, key="", number=0, project_key=project.key, issuetype=itype, summary="", description=None,
                  status=ref.STATUSES[0], priority=ref.PRIORITIES[2], reporter=call.user, creator=call.user,
                  created=store.now(), updated=store.now())
    ctx = InputContext(store, call.flavour, call.render.api_version, call.user, project, itype)
    effects = parse_side_effects(ctx, side)
    plan = plan_operations(ctx, draft, operations, skip=frozenset({"project", "issuetype"}))
    if itype.subtask and plan.get("parent") is None:
        raise FieldErrors({"parent": "Sub-task issues must have a parent issue."})
    with store.lock:
        plan.commit()
        when = store.stamp()
        project.last_issue_number += 1
        draft.id = store.next_id("issue")
        draft.number = project.last_issue_number
        draft.key = f"{project.key}-{draft.number}"
        draft.created = draft.updated = draft.status_changed = when
        draft.rank = store.next_rank()
        parent = store.parent_of(draft)
        if itype.subtask and parent is not None:
            draft.sprint_ids = list(parent.sprint_ids)
        draft.watchers = []
        for user in (call.user, draft.reporter, draft.assignee):
            if user is not None and user not in draft.watchers:
                draft.watchers.append(user)
        store.add_issue(draft)
        effects.apply(ctx, draft)
    return draft


def _created(call: Call, issue: Issue) -> dict[str, str]:
    return {"id": str(issue.id), "key": issue.key, "self": call.render.issue_self(issue)}


@api
async def post_issue(call: Call) -> Response:
    """``POST /rest/api/{v}/issue``: 201 ``{"id", "key", "self"}``."""
    issue = create_issue(call, await call.json_body())
    return json_response(_created(call, issue), 201)


@api
async def post_issue_bulk(call: Call) -> Response:
    """``POST /rest/api/{v}/issue/bulk``: creates what it can, reports the rest per element."""
    body = await call.json_body()
    updates = body.get("issueUpdates")
    problem = "Request must contain a non-empty 'issueUpdates' list." if not isinstance(updates, list) or \
        not updates else f"Bulk create is limited to {_BULK_LIMIT} issues per request." \
        if len(updates) > _BULK_LIMIT else None
    if problem:  # answered in the bulk result shape, as Jira does
        return json_response({"issues": [], "errors": [{"status": 400, "elementErrors": {
            "errorMessages": [problem], "errors": {}}, "failedElementNumber": 0}]}, 400)
    assert isinstance(updates, list)
    created, errors = [], []
    for index, payload in enumerate(updates):
        try:
            created.append(_created(call, create_issue(call, payload)))
        except JiraError as exc:
            errors.append({"status": exc.status, "elementErrors": {"errorMessages": exc.messages,
                                                                   "errors": exc.errors},
                           "failedElementNumber": index})
    return json_response({"issues": created, "errors": errors}, 201 if created else 400)


# --------------------------------------------------------------------------- edit / delete / assign


@api
async def put_issue(call: Call) -> Response:
    """``PUT /rest/api/{v}/issue/{key}``: 204, or 200 with the issue when ``returnIssue=true``."""
    issue = call.issue(write="edit issues")
    body = await call.json_body()
    operations, side = collect_operations(body.get("fields"), body.get("update"))
    store = call.store
    itype = issue.issuetype
    for operation in operations:  # a type change decides which fields are on the screen
        if operation.field_id == "issuetype" and isinstance(operation.value, dict):
            wanted = str(operation.value.get("id") or operation.value.get("name") or "").casefold()
            itype = next((t for t in store.issue_types if wanted in (t.id, t.name.casefold())), itype)
    ctx = InputContext(store, call.flavour, call.render.api_version, call.user, store.project_of(issue), itype, issue)
    effects = parse_side_effects(ctx, side)
    plan = plan_operations(ctx, issue, operations)
    with store.lock:
        items = plan.commit()
        if items:
            store.record(issue, call.user, items)
        effects.apply(ctx, issue)
    if _flag(call, "returnIssue"):
        selection = parse_field_selection(None, call.flavour, "*all")
        return json_response(call.render.issue(issue, selection, set()))
    return Response(status_code=204)


@api
async def delete_issue(call: Call) -> Response:
    """``DELETE /rest/api/{v}/issue/{key}?deleteSubtasks=true``."""
    issue = call.issue(write="delete issues")
    if call.store.subtasks_of(issue) and not _flag(call, "deleteSubtasks"):
        raise JiraError(400, f"The issue '{issue.key}' has subtasks.  You must specify the 'deleteSubtasks' "
                             "parameter to delete this issue and all its subtasks.")
    call.store.delete_issue(issue)
    call.store.stamp()
    return Response(status_code=204)


@api
async def put_assignee(call: Call) -> Response:
    """``PUT /rest/api/{v}/issue/{key}/assignee``: ``{"accountId": ...}`` (Cloud) / ``{"name": ...}`` (DC)."""
    issue = call.issue(write="assign issues")
    body = await call.json_any()
    if not isinstance(body, dict):
        raise FieldErrors({"assignee": "Expected a user object."})
    store = call.store
    ctx = InputContext(store, call.flavour, call.render.api_version, call.user, store.project_of(issue),
                       issue.issuetype, issue)
    plan = plan_operations(ctx, issue, [Operation("assignee", "set", body)])
    with store.lock:
        items = plan.commit()
        if items:
            store.record(issue, call.user, items)
    return Response(status_code=204)


# --------------------------------------------------------------------------- changelog


@api
async def get_changelog(call: Call) -> Response:
    """``GET /rest/api/{v}/issue/{key}/changelog`` (Cloud): oldest first, paged."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    issue = call.issue()
    start, size = page_params(call.request, 100, 100)
    histories = call.store.changelog_of(issue.key)
    page = histories[start: start + size]
    is_last = start + len(page) >= len(histories)
    body: dict[str, Any] = {"self": str(call.request.url), "maxResults": size, "startAt": start,
                            "total": len(histories), "isLast": is_last,
                            "values": [call.render.history(h) for h in page]}
    if not is_last:
        body["nextPage"] = f"{call.render.api}/issue/{issue.key}/changelog?startAt={start + size}&maxResults={size}"
    return json_response(body)


_BULKFETCH_KEYS = ("issueIdsOrKeys", "fieldIds", "maxResults", "nextPageToken")


@api
async def bulkfetch_changelog(call: Call) -> Response:
    """``POST /rest/api/3/changelog/bulkfetch`` (Cloud): changelogs of many issues, token-paged."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    body = await call.json_body()
    unknown = sorted(set(body) - set(_BULKFETCH_KEYS))
    if unknown:
        raise JiraError(400, f'Unrecognized field "{unknown[0]}" (known: {", ".join(_BULKFETCH_KEYS)})')
    keys = body.get("issueIdsOrKeys")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys) or len(keys) > 1000:
        raise JiraError(400, "'issueIdsOrKeys' must be a list of 1 to 1000 issue ids or keys.")
    field_ids = body.get("fieldIds") or []
    if not isinstance(field_ids, list) or len(field_ids) > 10:
        raise JiraError(400, "'fieldIds' must be a list of at most 10 field ids.")
    size = body.get("maxResults", 1000)
    if isinstance(size, bool) or not isinstance(size, int) or not 1 <= size <= 10000:
        raise JiraError(400, "'maxResults' must be an integer between 1 and 10000.")
    entries: list[tuple[Issue, Any]] = []
    for key in dict.fromkeys(keys):
        issue = call.store.get_issue(key, call.user)
        if issue is None:
            continue
        for history in call.store.changelog_of(issue.key):
            if field_ids and not any((item.field_id or item.field) in field_ids for item in history.items):
                continue
            entries.append((issue, history))
    offset = _decode_offset(body.get("nextPageToken"))
    page = entries[offset: offset + size]
    grouped: dict[int, dict[str, Any]] = {}
    for issue, history in page:
        rendered = call.render.history(history)
        if field_ids:
            rendered["items"] = [i for i in rendered["items"] if i.get("fieldId", i["field"]) in field_ids]
        grouped.setdefault(issue.id, {"issueId": str(issue.id), "changeHistories": []})["changeHistories"].append(
            rendered)
    result: dict[str, Any] = {"issueChangeLogs": list(grouped.values())}
    if offset + len(page) < len(entries):
        result["nextPageToken"] = base64.urlsafe_b64encode(f"changelog:{offset + len(page)}".encode()).decode()
    return json_response(result)


def _decode_offset(token: Any) -> int:
    if token in (None, ""):
        return 0
    try:
        kind, _, offset = base64.urlsafe_b64decode(str(token).encode()).decode().partition(":")
        if kind != "changelog":
            raise ValueError(kind)
        return max(0, int(offset))
    except (ValueError, UnicodeDecodeError):
        raise JiraError(400, "The provided nextPageToken is invalid.") from None


# --------------------------------------------------------------------------- metadata


@api
async def get_editmeta(call: Call) -> Response:
    """``GET /rest/api/{v}/issue/{key}/editmeta``: the edit screen (empty for read-only users)."""
    issue = call.issue()
    if not call.user.can_edit(issue.project_key):
        return json_response({"fields": {}})
    project = call.store.project_of(issue)
    metas = screen_meta(call.render, project, issue.issuetype, create=False)
    return json_response({"fields": {m["key"]: m for m in metas}})


def _meta_project(call: Call) -> Project:
    key = call.request.path_params["project"]
    project = call.store.get_project(key, call.user)
    if project is None:
        raise JiraError(404, f"No project could be found with key '{key}'.")
    return project


def _creatable_types(call: Call, project: Project) -> list[IssueType]:
    return list(call.store.issue_types) if call.user.can_edit(project.key) else []


def _meta_page(call: Call, items: list[Any], cloud_key: str) -> dict[str, Any]:
    start, size = page_params(call.request, 50, 200)
    page = items[start: start + size]
    body: dict[str, Any] = {"maxResults": size, "startAt": start, "total": len(items)}
    if call.flavour == "cloud":
        body[cloud_key] = page
    else:
        body["isLast"] = start + len(page) >= len(items)
        body["values"] = page
    return body


@api
async def createmeta_issuetypes(call: Call) -> Response:
    """``GET /rest/api/{v}/issue/createmeta/{project}/issuetypes``: issue types the caller may create."""
    project = _meta_project(call)
    types = [call.render.issuetype(t) for t in _creatable_types(call, project)]
    return json_response(_meta_page(call, types, "issueTypes"))


@api
async def createmeta_fields(call: Call) -> Response:
    """``GET /rest/api/{v}/issue/createmeta/{project}/issuetypes/{id}``: the create screen's fields."""
    project = _meta_project(call)
    type_id = call.request.path_params["type"]
    itype = next((t for t in _creatable_types(call, project) if t.id == type_id), None)
    if itype is None:
        raise JiraError(404, f"Issue type with id '{type_id}' does not exist or is not available in project "
                             f"'{project.key}'.")
    return json_response(_meta_page(call, screen_meta(call.render, project, itype, create=True), "fields"))


def routes() -> list[Route]:
    """The routes of this module."""
    base = "/rest/api/{version}"
    return [
        Route(f"{base}/issue", post_issue, methods=["POST"]),
        Route(f"{base}/issue/bulk", post_issue_bulk, methods=["POST"]),
        Route(f"{base}/issue/createmeta/{{project}}/issuetypes", createmeta_issuetypes, methods=["GET"]),
        Route(f"{base}/issue/createmeta/{{project}}/issuetypes/{{type}}", createmeta_fields, methods=["GET"]),
        Route(f"{base}/changelog/bulkfetch", bulkfetch_changelog, methods=["POST"]),
        Route(f"{base}/issue/{{key}}", get_issue, methods=["GET"]),
        Route(f"{base}/issue/{{key}}", put_issue, methods=["PUT"]),
        Route(f"{base}/issue/{{key}}", delete_issue, methods=["DELETE"]),
        Route(f"{base}/issue/{{key}}/assignee", put_assignee, methods=["PUT"]),
        Route(f"{base}/issue/{{key}}/changelog", get_changelog, methods=["GET"]),
        Route(f"{base}/issue/{{key}}/editmeta", get_editmeta, methods=["GET"]),
    ]
