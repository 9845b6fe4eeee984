"""Jira Software (agile) endpoints under ``/rest/agile/1.0`` (both flavours).

Boards: ``GET /board`` (``projectKeyOrId``, ``type``, ``name``, paging), ``/board/{id}``,
``/board/{id}/issue`` (``jql``), ``/board/{id}/backlog``, ``/board/{id}/sprint`` (``state``).
Sprints: ``POST /sprint``, ``GET``/``POST`` (partial)/``PUT``/``DELETE /sprint/{id}``,
``GET``/``POST /sprint/{id}/issue``, ``POST /backlog/issue``.

Sprint life cycle: future -> active (needs start and end dates; one active sprint per
board) -> closed (unfinished issues fall back to the backlog, keeping the closed sprint in
their history). Moves are recorded in the issues' changelog and seen by JQL
(``sprint in openSprints()``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jiraplug.sandbox import ops
from jiraplug.sandbox.fields import parse_field_selection
from jiraplug.sandbox.issue_input import FieldErrors
from jiraplug.sandbox.jql_eval import compile_query
from jiraplug.sandbox.model import Board, ChangeItem, Issue, Sprint
from jiraplug.sandbox.routes.issue import expand_set
from jiraplug.sandbox.timefmt import parse_timestamp
from jiraplug.sandbox.web import Call, JiraError, api, json_response, page_params, param_list
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]

BASE = "/rest/agile/1.0"
_STATES = ("future", "active", "closed")
_MOVE_LIMIT = 50
_NAME_LIMIT = 30
_SPRINT_KEYS = ("id", "self", "name", "state", "startDate", "endDate", "completeDate", "createdDate", "goal",
                "originBoardId", "activatedDate", "synced", "autoStartStop", "incompleteIssuesDestinationId")
_CREATE_KEYS = ("name", "startDate", "endDate", "goal", "originBoardId")


# --------------------------------------------------------------------------- helpers


def _board(call: Call) -> Board:
    raw = call.request.path_params["board"]
    board = call.store.boards.get(int(raw)) if raw.isdigit() else None
    if board is None or not call.user.can_browse(board.project_key):
        raise JiraError(404, "Board does not exist or you do not have permission to see it.")
    return board


def _sprint(call: Call) -> Sprint:
    raw = call.request.path_params["sprint"]
    sprint = call.store.sprints.get(int(raw)) if raw.isdigit() else None
    if sprint is None or not call.user.can_browse(sprint.project_key):
        raise JiraError(404, "Sprint does not exist or you do not have permission to see it.")
    return sprint


def _page(call: Call, items: list[Any], default: int = 50, cap: int = 50) -> dict[str, Any]:
    start, size = page_params(call.request, default, cap)
    page = items[start: start + size]
    return {"maxResults": size, "startAt": start, "total": len(items), "isLast": start + len(page) >= len(items),
            "values": page}


def _search(call: Call, issues: list[Issue]) -> Response:
    """The agile ``SearchResults``: ``issues`` further filtered by ``jql``, paged, with ``fields``."""
    jql = call.request.query_params.get("jql", "").strip()
    if jql:
        compiled = compile_query(jql, call.store, call.user, call.flavour)
        issues = [i for i in issues if compiled.predicate(i)]
        if compiled.sorters:
            compiled.sort(issues)
    start, size = page_params(call.request, 50, 1000)
    selection = parse_field_selection(param_list(call.request, "fields"), call.flavour, "*navigable")
    expand = expand_set(call.request.query_params.getlist("expand"))
    page = issues[start: start + size]
    asked = {name.strip() for value in param_list(call.request, "fields") for name in value.split(",")}
    wanted = None if not asked or asked & {"*all", "*navigable"} else asked
    rendered = []
    for issue in page:
        body = call.render.issue(issue, selection, expand)
        body.setdefault("fields", {}).update(_agile_fields(call, issue, wanted))
        rendered.append(body)
    return json_response({"expand": "schema,names", "startAt": start, "maxResults": size, "total": len(issues),
                          "issues": rendered})


def _agile_fields(call: Call, issue: Issue, wanted: set[str] | None) -> dict[str, Any]:
    """The agile API's own issue fields: its open ``sprint`` and ``closedSprints``, as agile sprint objects."""
    sprints = [call.store.sprints[i] for i in issue.sprint_ids if i in call.store.sprints]
    out: dict[str, Any] = {}
    if wanted is None or "sprint" in wanted:
        current = next((s for s in sprints if s.state in ("active", "future")), None)
        out["sprint"] = call.render.sprint(current) if current else None
    closed = [call.render.sprint(s) for s in sprints if s.state == "closed"]
    if closed and (wanted is None or "closedSprints" in wanted):
        out["closedSprints"] = closed
    return out


def _date(payload: dict[str, Any], key: str, errors: dict[str, str]) -> dt.datetime | None:
    raw = payload.get(key)
    if raw in (None, ""):
        return None
    moment = parse_timestamp(str(raw)) if isinstance(raw, str) else None
    if moment is None:
        errors[key] = f"Invalid date '{raw}': use ISO 8601, e.g. 2026-11-20T09:00:00.000Z."
    return moment


def _reject_unknown(payload: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(payload) - set(known))
    if unknown:
        raise JiraError(400, f'Unrecognized field "{unknown[0]}" (known: {", ".join(known)})')


def _issue_keys(call: Call, payload: dict[str, Any]) -> list[Issue]:
    keys = payload.get("issues")
    if not isinstance(keys, list) or not keys or not all(isinstance(k, str) for k in keys):
        raise JiraError(400, "'issues' must be a non-empty list of issue keys or ids.")
    if len(keys) > _MOVE_LIMIT:
        raise JiraError(400, f"At most {_MOVE_LIMIT} issues can be moved in one request.")
    found = []
    for key in keys:
        issue = call.store.get_issue(key, call.user)
        if issue is None:
            raise JiraError(400, f"Issue '{key}' does not exist or you do not have permission to see it.")
        if issue.issuetype.subtask:
            raise JiraError(400, f"Sub-task '{issue.key}' moves with its parent; move the parent instead.")
        call.require_edit(issue.project_key, "schedule issues")
        found.append(issue)
    return found


# --------------------------------------------------------------------------- boards


@api
async def list_boards(call: Call) -> Response:
    """``GET /board``: boards over projects the caller may browse."""
    boards = call.store.visible_boards(call.user)
    project_ref = call.request.query_params.get("projectKeyOrId")
    if project_ref:
        project = call.store.get_project(project_ref, call.user)
        if project is None:
            raise JiraError(400, f"No project could be found with key or id '{project_ref}'.")
        boards = [b for b in boards if b.project_key == project.key]
    types = param_list(call.request, "type")
    if types:
        bad = [t for t in types if t not in ("scrum", "kanban", "simple")]
        if bad:
            raise JiraError(400, f"Invalid board type '{bad[0]}': use scrum, kanban or simple.")
        boards = [b for b in boards if b.type in types]
    name = call.request.query_params.get("name")
    if name:
        boards = [b for b in boards if name.casefold() in b.name.casefold()]
    return json_response(_page(call, [call.render.board(b) for b in boards]))


@api
async def get_board(call: Call) -> Response:
    """``GET /board/{id}``."""
    return json_response(call.render.board(_board(call)))


@api
async def board_issues(call: Call) -> Response:
    """``GET /board/{id}/issue``: the board's issues by rank (``jql`` narrows them)."""
    board = _board(call)
    return _search(call, call.store.board_issues(board, call.user))


@api
async def board_backlog(call: Call) -> Response:
    """``GET /board/{id}/backlog``: unfinished issues in no open sprint."""
    board = _board(call)
    if board.type == "kanban":
        issues = [i for i in call.store.board_issues(board, call.user) if i.status.category.key == "new"]
    else:
        issues = call.store.backlog_issues(board, call.user)
    return _search(call, issues)


@api
async def board_sprints(call: Call) -> Response:
    """``GET /board/{id}/sprint?state=active,future``."""
    board = _board(call)
    if board.type != "scrum":
        raise JiraError(400, "The board does not support sprints")
    states = param_list(call.request, "state")
    bad = [s for s in states if s not in _STATES]
    if bad:
        raise JiraError(400, f"Invalid sprint state '{bad[0]}': use active, future or closed.")
    sprints = [s for s in call.store.sprints_of_board(board.id) if not states or s.state in states]
    body = _page(call, [call.render.sprint(s) for s in sprints])
    if call.flavour == "dc":
        body.pop("total")
    return json_response(body)


# --------------------------------------------------------------------------- sprints


@api
async def create_sprint(call: Call) -> Response:
    """``POST /sprint``: a future sprint on a scrum board (201)."""
    payload = await call.json_body()
    _reject_unknown(payload, _CREATE_KEYS)
    errors: dict[str, str] = {}
    name = payload.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "The sprint name is required."
    elif len(name.strip()) > _NAME_LIMIT:
        errors["name"] = f"The sprint name must not be longer than {_NAME_LIMIT} characters."
    board_id = payload.get("originBoardId")
    board = call.store.boards.get(board_id) if isinstance(board_id, int) and not isinstance(board_id, bool) else None
    if board is None or not call.user.can_browse(board.project_key):
        errors["originBoardId"] = "A valid originBoardId of a board you can see is required."
    start, end = _date(payload, "startDate", errors), _date(payload, "endDate", errors)
    if start and end and end < start:
        errors["endDate"] = "The end date must be after the start date."
    goal = payload.get("goal") or ""
    if not isinstance(goal, str):
        errors["goal"] = "The goal must be a string."
    if errors:
        raise FieldErrors(errors)
    assert board is not None and isinstance(name, str)
    if board.type != "scrum":
        raise JiraError(400, "The board does not support sprints")
    call.require_edit(board.project_key, "manage sprints")
    store = call.store
    with store.lock:
        sequence = max((s.sequence for s in store.sprints_of_board(board.id)), default=0) + 1
        sprint = Sprint(id=store.next_id("sprint"), name=name.strip(), state="future", board_id=board.id,
                        project_key=board.project_key, goal=goal, start=start, end=end, complete=None,
                        sequence=sequence, created=store.stamp())
        store.add_sprint(sprint)
    return json_response(call.render.sprint(sprint), 201)


@api
async def get_sprint(call: Call) -> Response:
    """``GET /sprint/{id}``."""
    return json_response(call.render.sprint(_sprint(call)))


def _update_sprint(call: Call, sprint: Sprint, payload: dict[str, Any], *, full: bool) -> None:
    _reject_unknown(payload, _SPRINT_KEYS)
    call.require_edit(sprint.project_key, "manage sprints")
    errors: dict[str, str] = {}
    name = payload.get("name", sprint.name if not full else None)
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "The sprint name is required."
    elif len(name.strip()) > _NAME_LIMIT:
        errors["name"] = f"The sprint name must not be longer than {_NAME_LIMIT} characters."
    state = payload.get("state", sprint.state)
    if state not in _STATES:
        errors["state"] = f"Invalid sprint state '{state}': use future, active or closed."
    start = _date(payload, "startDate", errors) if "startDate" in payload else (None if full and sprint.state ==
                                                                               "future" else sprint.start)
    end = _date(payload, "endDate", errors) if "endDate" in payload else (None if full and sprint.state ==
                                                                         "future" else sprint.end)
    goal = payload.get("goal", "" if full else sprint.goal)
    if goal is None:
        goal = ""
    if not isinstance(goal, str):
        errors["goal"] = "The goal must be a string."
    if errors:
        raise FieldErrors(errors)
    assert isinstance(name, str)
    if sprint.state == "closed":
        if state != "closed" or "startDate" in payload or "endDate" in payload:
            raise JiraError(400, "A closed sprint cannot be reopened; only its name and goal can change.")
    elif sprint.state == "active" and state == "future":
        raise JiraError(400, "An active sprint cannot be moved back to the future state.")
    elif sprint.state == "future" and state == "closed":
        raise JiraError(400, "A future sprint must be started before it can be closed.")
    if state == "active" and sprint.state == "future":
        if start is None or end is None:
            raise JiraError(400, "A sprint needs a start date and an end date to be started.")
        others = [s for s in call.store.sprints_of_board(sprint.board_id) if s.state == "active"]
        if others:
            raise JiraError(400, f"Sprint '{others[0].name}' is already active on this board; complete it "
                                 "before starting another one.")
    if start and end and end < start:
        raise FieldErrors({"endDate": "The end date must be after the start date."})
    store = call.store
    with store.lock:
        when = store.stamp()
        sprint.name, sprint.goal = name.strip(), goal
        if sprint.state != "closed":
            sprint.start, sprint.end = start, end
        if state == "closed" and sprint.state == "active":
            sprint.complete = when
        sprint.state = state


@api
async def post_sprint(call: Call) -> Response:
    """``POST /sprint/{id}``: partial update (also how a sprint is started or closed)."""
    sprint = _sprint(call)
    _update_sprint(call, sprint, await call.json_body(), full=False)
    return json_response(call.render.sprint(sprint))


@api
async def put_sprint(call: Call) -> Response:
    """``PUT /sprint/{id}``: full update (absent goal and future-sprint dates are cleared)."""
    sprint = _sprint(call)
    _update_sprint(call, sprint, await call.json_body(), full=True)
    return json_response(call.render.sprint(sprint))


@api
async def delete_sprint(call: Call) -> Response:
    """``DELETE /sprint/{id}``: 204; an active sprint cannot be deleted."""
    sprint = _sprint(call)
    call.require_edit(sprint.project_key, "manage sprints")
    if sprint.state == "active":
        raise JiraError(400, "An active sprint cannot be deleted; complete it first.")
    call.store.remove_sprint(sprint)
    call.store.stamp()
    return Response(status_code=204)


@api
async def sprint_issues(call: Call) -> Response:
    """``GET /sprint/{id}/issue``: issues in the sprint (``jql`` narrows them)."""
    sprint = _sprint(call)
    return _search(call, call.store.issues_in_sprint(sprint.id, call.user))


def _rank(call: Call, moved: list[Issue], payload: dict[str, Any]) -> None:
    """Place ``moved`` just before ``rankBeforeIssue`` or after ``rankAfterIssue`` in their project."""
    anchor_key = payload.get("rankBeforeIssue") or payload.get("rankAfterIssue")
    if not anchor_key:
        return
    anchor = call.store.get_issue(str(anchor_key), call.user)
    if anchor is None:
        raise JiraError(400, f"Issue '{anchor_key}' does not exist or you do not have permission to see it.")
    store = call.store
    moved_ids = {i.id for i in moved if i.project_key == anchor.project_key}
    with store.lock:
        ordered = sorted((i for i in store.issues if i.project_key == anchor.project_key), key=lambda i: i.rank)
        base = [i for i in ordered if i.id not in moved_ids]
        position = next((n for n, i in enumerate(base) if i.id == anchor.id), len(base))
        index = position + (0 if payload.get("rankBeforeIssue") else 1) if position < len(base) else len(base)
        new_order = base[:index] + [i for i in moved if i.id in moved_ids] + base[index:]
        when = store.stamp()
        for issue in new_order:
            issue.rank = store.next_rank()
            if issue.id in moved_ids:
                store.record(issue, call.user, [ChangeItem("Rank", "custom", None, None, None, "Ranked",
                                                           "customfield_10019")], when)


@api
async def move_to_sprint(call: Call) -> Response:
    """``POST /sprint/{id}/issue``: move up to 50 issues (and their sub-tasks) into the sprint."""
    sprint = _sprint(call)
    payload = await call.json_body()
    _reject_unknown(payload, ("issues", "rankBeforeIssue", "rankAfterIssue", "rankCustomFieldId"))
    issues = _issue_keys(call, payload)
    if sprint.state == "closed":
        raise JiraError(400, "Issues cannot be moved to a closed sprint.")
    for issue in issues:
        ops.set_sprint(call.store, issue, sprint, call.user)
    _rank(call, issues, payload)
    return Response(status_code=204)


@api
async def move_to_backlog(call: Call) -> Response:
    """``POST /backlog/issue``: take up to 50 issues out of their open sprints."""
    payload = await call.json_body()
    _reject_unknown(payload, ("issues",))
    for issue in _issue_keys(call, payload):
        ops.set_sprint(call.store, issue, None, call.user)
    return Response(status_code=204)


def routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route(f"{BASE}/board", list_boards, methods=["GET"]),
        Route(f"{BASE}/board/{{board}}", get_board, methods=["GET"]),
        Route(f"{BASE}/board/{{board}}/issue", board_issues, methods=["GET"]),
        Route(f"{BASE}/board/{{board}}/backlog", board_backlog, methods=["GET"]),
        Route(f"{BASE}/board/{{board}}/sprint", board_sprints, methods=["GET"]),
        Route(f"{BASE}/sprint", create_sprint, methods=["POST"]),
        Route(f"{BASE}/sprint/{{sprint}}", get_sprint, methods=["GET"]),
        Route(f"{BASE}/sprint/{{sprint}}", post_sprint, methods=["POST"]),
        Route(f"{BASE}/sprint/{{sprint}}", put_sprint, methods=["PUT"]),
        Route(f"{BASE}/sprint/{{sprint}}", delete_sprint, methods=["DELETE"]),
        Route(f"{BASE}/sprint/{{sprint}}/issue", sprint_issues, methods=["GET"]),
        Route(f"{BASE}/sprint/{{sprint}}/issue", move_to_sprint, methods=["POST"]),
        Route(f"{BASE}/backlog/issue", move_to_backlog, methods=["POST"]),
    ]
