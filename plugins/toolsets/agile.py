"""Built-in toolset ``agile``: boards, sprints and the backlog (Jira Software's agile API).

With ``JIRA_PROJECTS_FILTER`` set, a board is usable only when its project is allowed
(a sprint through its board), and issue queries are ANDed with the filter as well.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.jira.shapes import obj, scalar
from jiraplug.jira.compact import SEARCH_FIELDS, compact_issue
from jiraplug.jira.fields import field_ids
from jiraplug.jira.paging import OffsetPage
from jiraplug.server.projects_filter import allowed_projects, guard_board, guard_issue, guard_project, guard_sprint
from jiraplug.server.registry import ToolRegistry
from jiraplug.server.toolkit import Limit, StartAt, jira, off_loop, scoped_jql, split_csv
from jiraplug.stages import RENDER, stage
from jiraplug.tool_errors import UserFacingError

BoardId = Annotated[int, Field(ge=1, description="Board id, from jira_list_boards")]
SprintId = Annotated[int, Field(ge=1, description="Sprint id, from jira_list_sprints")]
Moment = Annotated[str | None, Field(description="ISO date or date-time; a date means 00:00 UTC")]
Jql = Annotated[str | None, Field(description="Extra JQL filter")]
Fields = Annotated[str | None, Field(description="Comma-separated fields; default: common ones")]
IssueKeys = Annotated[list[str], Field(min_length=1, max_length=50, description="Issue keys (at most 50)")]

SPRINT_STATES = ("future", "active", "closed")
DEFAULT_SPRINT_LENGTH = dt.timedelta(days=14)  # Jira's own default when starting a sprint

# Injectable clock: tests replace it to pin "now".
now: Callable[[], dt.datetime] = lambda: dt.datetime.now(dt.UTC)  # noqa: E731


def _compact_board(raw: Any) -> dict[str, Any]:
    raw = obj(raw)
    out = {"id": scalar(raw.get("id")), "name": scalar(raw.get("name")), "type": scalar(raw.get("type")),
           "project": scalar(obj(raw.get("location")).get("projectKey"))}
    return {key: value for key, value in out.items() if value is not None}


def _compact_sprint(raw: Any) -> dict[str, Any]:
    raw = obj(raw)
    out = {"id": scalar(raw.get("id")), "name": scalar(raw.get("name")), "state": scalar(raw.get("state")),
           "goal": scalar(raw.get("goal")) or None, "start": scalar(raw.get("startDate")),
           "end": scalar(raw.get("endDate")), "complete": scalar(raw.get("completeDate")),
           "board_id": scalar(raw.get("originBoardId"))}
    return {key: value for key, value in out.items() if value is not None}


def _moment(value: str | None, what: str) -> dt.datetime | None:
    """Parse an ISO date or date-time argument into an aware UTC date-time."""
    if value is None or not value.strip():
        return None
    try:
        parsed = dt.datetime.fromisoformat(value.strip())
    except ValueError:
        raise UserFacingError(
            f"{what} {value!r} is not an ISO date or date-time; expected e.g. 2026-03-02 or 2026-03-02T09:00:00Z"
        ) from None
    return (parsed if parsed.tzinfo else parsed.replace(tzinfo=dt.UTC)).astimezone(dt.UTC)


def _jira_time(moment: dt.datetime) -> str:
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.000Z")


def _check_order(start: dt.datetime | None, end: dt.datetime | None) -> None:
    if start and end and end <= start:
        raise UserFacingError(f"end_date {_jira_time(end)} is not after start_date {_jira_time(start)}")


async def _sprint(sprint_id: int) -> dict[str, Any]:
    """A sprint, refused when its board is outside ``JIRA_PROJECTS_FILTER``."""
    client = await jira().ready()
    sprint = await client.request("GET", f"{client.agile}/sprint/{sprint_id}", operation="sprint.get",
                                  subject=f"sprint {sprint_id}")
    await guard_sprint(sprint_id, board_id=sprint.get("originBoardId") or "")
    return sprint


async def _issue_page(found: OffsetPage) -> dict[str, Any]:
    client = jira()
    issues = [issue for issue in found.items if isinstance(issue, dict)]
    names = await client.names_for(issues, {})  # custom fields under their names, as jira_search shows them
    statuses = await client.status_names_for(issues)
    with stage(RENDER):
        rendered = await off_loop(lambda: [compact_issue(issue, client.base_url, field_names=names,
                                                         field_types=client.field_types, status_names=statuses)
                                           for issue in issues], what="the issues")
    out: dict[str, Any] = {"issues": rendered}
    if found.total is not None:
        out["total"] = found.total
    out["next_start_at"] = found.next_start_at
    return out


# Issue fields of the agile API itself (not in the field list): passed as they are.
AGILE_FIELDS = ("sprint", "closedSprints", "epic", "flagged")


async def _issue_params(jql: str | None, fields: str | None) -> dict[str, Any]:
    asked = split_csv(fields) or []
    own = [name for name in asked if name in AGILE_FIELDS]
    wanted = [*own, *(await field_ids(jira(), [name for name in asked if name not in AGILE_FIELDS]) or [])]
    return {"jql": scoped_jql(jql or "") or None, "fields": ",".join(wanted or SEARCH_FIELDS)}


async def jira_list_boards(
    project_key: Annotated[str | None, Field(description="Only boards of this project")] = None,
    board_type: Literal["scrum", "kanban", "simple"] | None = None,
    name: Annotated[str | None, Field(description="Text in the board name")] = None,
    start_at: StartAt = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    """List agile boards."""
    client = await jira().ready()
    params = {"projectKeyOrId": guard_project(project_key) if project_key else None, "type": board_type, "name": name}
    found = await client.paginate(f"{client.agile}/board", operation="board.list", params=params, limit=limit,
                                  start_at=start_at)
    allowed = allowed_projects()
    visible = [b for b in found.items if not allowed or str((b.get("location") or {}).get("projectKey", "")).upper()
               in allowed]
    return {"boards": [_compact_board(b) for b in visible], "next_start_at": found.next_start_at}


async def jira_get_board_issues(
    board_id: BoardId, jql: Jql = None, fields: Fields = None, start_at: StartAt = 0, limit: Limit = 50
) -> dict[str, Any]:
    """Issues on a board (backlog and sprints), optionally filtered by JQL."""
    client = await jira().ready()
    await guard_board(board_id)
    return await _issue_page(await client.paginate(
        f"{client.agile}/board/{board_id}/issue", operation="board.issues", params=await _issue_params(jql, fields),
        items_key="issues", limit=limit, start_at=start_at, subject=f"board {board_id}",
    ))


async def jira_list_sprints(
    board_id: BoardId,
    state: Annotated[str | None, Field(description="Comma-separated: future, active, closed")] = None,
    start_at: StartAt = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    """List a board's sprints."""
    client = await jira().ready()
    states = split_csv(state.lower() if state else None)
    bad = [s for s in states or [] if s not in SPRINT_STATES]
    if bad:
        raise UserFacingError(f"unknown sprint state {', '.join(bad)}; use any of {', '.join(SPRINT_STATES)}")
    await guard_board(board_id)
    found = await client.paginate(f"{client.agile}/board/{board_id}/sprint", operation="sprint.list",
                                  params={"state": ",".join(states) if states else None}, limit=limit,
                                  start_at=start_at, subject=f"board {board_id}")
    return {"sprints": [_compact_sprint(s) for s in found.items], "next_start_at": found.next_start_at}


async def jira_get_sprint_issues(
    sprint_id: SprintId, jql: Jql = None, fields: Fields = None, start_at: StartAt = 0, limit: Limit = 50
) -> dict[str, Any]:
    """Issues in a sprint, optionally filtered by JQL."""
    client = await jira().ready()
    if allowed_projects():
        await _sprint(sprint_id)
    return await _issue_page(await client.paginate(
        f"{client.agile}/sprint/{sprint_id}/issue", operation="sprint.issues", params=await _issue_params(jql, fields),
        items_key="issues", limit=limit, start_at=start_at, subject=f"sprint {sprint_id}",
    ))


async def jira_create_sprint(
    board_id: BoardId, name: str, goal: str | None = None, start_date: Moment = None, end_date: Moment = None
) -> dict[str, Any]:
    """Create a future sprint on a board."""
    client = await jira().ready()
    if not name.strip():
        raise UserFacingError("name is empty; give the sprint a name, e.g. Sprint 42")
    start, end = _moment(start_date, "start_date"), _moment(end_date, "end_date")
    _check_order(start, end)
    await guard_board(board_id)
    body: dict[str, Any] = {"name": name.strip(), "originBoardId": board_id}
    if goal:
        body["goal"] = goal
    if start:
        body["startDate"] = _jira_time(start)
    if end:
        body["endDate"] = _jira_time(end)
    created = await client.request("POST", f"{client.agile}/sprint", operation="sprint.create", json_body=body,
                                   touches=(f"board:{board_id}",), subject=f"board {board_id}")
    return _compact_sprint(created)


async def jira_update_sprint(
    sprint_id: SprintId,
    name: str | None = None,
    goal: str | None = None,
    start_date: Moment = None,
    end_date: Moment = None,
) -> dict[str, Any]:
    """Change a sprint's name, goal or dates."""
    start, end = _moment(start_date, "start_date"), _moment(end_date, "end_date")
    changes: dict[str, Any] = {"name": name.strip() if name else None, "goal": goal,
                               "startDate": _jira_time(start) if start else None,
                               "endDate": _jira_time(end) if end else None}
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise UserFacingError("nothing to change: give at least one of name, goal, start_date, end_date")
    sprint = await _sprint(sprint_id)
    _check_order(start or _moment(sprint.get("startDate"), "start"), end or _moment(sprint.get("endDate"), "end"))
    return await _post_sprint(sprint, changes, "sprint.update", idempotent=True)


async def _post_sprint(sprint: dict[str, Any], changes: dict[str, Any], operation: str,
                       idempotent: bool, touches_issues: bool = False) -> dict[str, Any]:
    """Partially update a sprint (``POST /sprint/{id}`` changes only the fields sent)."""
    client = await jira().ready()
    sid = sprint["id"]
    touches = [f"sprint:{sid}"] + ([f"board:{sprint['originBoardId']}"] if sprint.get("originBoardId") else [])
    if touches_issues:  # closing moves unfinished issues out: which ones is Jira's to decide
        touches.append("issue:*")
    updated = await client.request(
        "POST", f"{client.agile}/sprint/{sid}", operation=operation, json_body=changes, idempotent=idempotent,
        touches=tuple(touches), subject=f"sprint {sid}",
    )
    return _compact_sprint(updated or {**sprint, **changes})


async def jira_start_sprint(
    sprint_id: SprintId,
    start_date: Annotated[str | None, Field(description="ISO date-time; default: the sprint's, else now")] = None,
    end_date: Annotated[str | None, Field(description="ISO date-time; default: the sprint's, else start + 2 weeks")]
    = None,
) -> dict[str, Any]:
    """Start a future sprint."""
    sprint = await _sprint(sprint_id)
    if sprint.get("state") != "future":
        raise UserFacingError(f"sprint {sprint_id} is {sprint.get('state')}; only a future sprint can be started")
    start = _moment(start_date, "start_date") or _moment(sprint.get("startDate"), "start") or now()
    end = _moment(end_date, "end_date") or _moment(sprint.get("endDate"), "end") or start + DEFAULT_SPRINT_LENGTH
    _check_order(start, end)
    # Not idempotent: repeating it on an already started sprint would fail.
    return await _post_sprint(
        sprint, {"state": "active", "startDate": _jira_time(start), "endDate": _jira_time(end)}, "sprint.start",
        idempotent=False,
    )


async def jira_close_sprint(sprint_id: SprintId) -> dict[str, Any]:
    """Close an active sprint."""
    sprint = await _sprint(sprint_id)
    if sprint.get("state") != "active":
        raise UserFacingError(f"sprint {sprint_id} is {sprint.get('state')}; only an active sprint can be closed")
    return await _post_sprint(sprint, {"state": "closed"}, "sprint.close", idempotent=False, touches_issues=True)


async def jira_add_issues_to_sprint(sprint_id: SprintId, issue_keys: IssueKeys) -> dict[str, Any]:
    """Move issues into a sprint."""
    client = await jira().ready()
    keys = list(dict.fromkeys(guard_issue(key) for key in issue_keys))
    sprint = await _sprint(sprint_id)
    if sprint.get("state") == "closed":
        raise UserFacingError(f"sprint {sprint_id} is closed; issues can be added to future or active sprints")
    await client.request(
        "POST", f"{client.agile}/sprint/{sprint_id}/issue", operation="sprint.add_issues",
        json_body={"issues": keys}, idempotent=True,
        # The issues also leave whatever sprint they were in: every sprint and board view may change.
        touches=("sprint:*", "board:*", *(f"issue:{key}" for key in keys)), subject=f"sprint {sprint_id}",
    )
    return {"sprint_id": sprint_id, "moved": keys}


async def jira_move_issues_to_backlog(issue_keys: IssueKeys) -> dict[str, Any]:
    """Move issues out of their sprints into the backlog."""
    client = await jira().ready()
    keys = list(dict.fromkeys(guard_issue(key) for key in issue_keys))
    await client.request(
        "POST", f"{client.agile}/backlog/issue", operation="backlog.move_issues", json_body={"issues": keys},
        idempotent=True, touches=("sprint:*", "board:*", *(f"issue:{key}" for key in keys)),
    )
    return {"moved_to_backlog": keys}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    read = {"read_only": True, "idempotent": True}
    registry.add(jira_list_boards, title="List boards", **read)
    registry.add(jira_get_board_issues, title="Board issues", **read)
    registry.add(jira_list_sprints, title="List sprints", **read)
    registry.add(jira_get_sprint_issues, title="Sprint issues", **read)
    registry.add(jira_create_sprint, title="Create sprint")
    registry.add(jira_update_sprint, title="Update sprint", idempotent=True)
    registry.add(jira_start_sprint, title="Start sprint")
    registry.add(jira_close_sprint, title="Close sprint")
    registry.add(jira_add_issues_to_sprint, title="Add issues to sprint", idempotent=True)
    registry.add(jira_move_issues_to_backlog, title="Move issues to backlog", idempotent=True)
