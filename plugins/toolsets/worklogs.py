"""Built-in toolset ``worklogs``: time tracking on issues, with Jira duration strings."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Any

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.jira.compact import render_text
from jiraplug.jira.shapes import obj, scalar
from jiraplug.server.registry import ToolRegistry
from jiraplug.tool_errors import UserFacingError
from jiraplug.plugins.toolsets.issue_items import WORKLOGS
from jiraplug.server.toolkit import IssueKey, Limit, StartAt, jira, off_loop

WorklogId = Annotated[str, Field(description="Worklog id (from jira_get_worklogs)")]
Duration = Annotated[str, Field(description="Jira duration, e.g. '1h 30m', '2d', '45m'")]
Started = Annotated[str | None, Field(description="When the work started, ISO 8601; default: now")]

DURATION = re.compile(r"^\s*(\d+(\.\d+)?\s*[wdhm]\s*)+$", re.IGNORECASE)


def _duration(value: str) -> str:
    if not DURATION.match(value):
        raise UserFacingError(
            f"time spent {value!r} is not a Jira duration; use numbers with w/d/h/m, e.g. '1h 30m' or '2d'"
        )
    return " ".join(value.split())


def _started(value: str | None) -> str | None:
    """Jira wants ``2026-11-20T10:00:00.000+0000``; accept ISO 8601 and convert."""
    if value is None:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UserFacingError(f"started {value!r} is not an ISO 8601 time, e.g. 2026-11-20T10:00:00+00:00") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000%z")


def _worklog(raw: Any) -> dict[str, Any]:
    raw = obj(raw)
    author = obj(raw.get("author"))
    return {
        "id": scalar(raw.get("id")),
        "author": scalar(author.get("displayName") or author.get("name")),
        "time_spent": scalar(raw.get("timeSpent")),
        "seconds": scalar(raw.get("timeSpentSeconds")),
        "started": scalar(raw.get("started")),
        "comment": render_text(raw.get("comment")),
    }


async def _body(time_spent: str | None, started: str | None, comment: str | None) -> dict[str, Any]:
    body: dict[str, Any] = {}
    if time_spent is not None:
        body["timeSpent"] = _duration(time_spent)
    if started is not None:
        body["started"] = _started(started)
    if comment is not None:
        body["comment"] = await jira().text_to_jira(comment, argument="comment")
    return body


async def jira_get_worklogs(
    issue_key: IssueKey, start_at: StartAt = 0, limit: Limit = 20
) -> dict[str, Any]:
    """Work logged on an issue, paged."""
    page = await WORKLOGS.page(issue_key, start_at, limit)
    return {**page, "worklogs": await off_loop(lambda: [_worklog(w) for w in page["worklogs"]], what="the worklogs")}


async def jira_get_worklog(issue_key: IssueKey, worklog_id: WorklogId) -> dict[str, Any]:
    """One worklog by id."""
    key, found = await WORKLOGS.get(issue_key, worklog_id)
    return {"issue": key, **await off_loop(_worklog, found, what="the worklog")}


async def jira_add_worklog(
    issue_key: IssueKey, time_spent: Duration, started: Started = None,
    comment: Annotated[str | None, Field(description="Markdown")] = None,
) -> dict[str, Any]:
    """Log work on an issue."""
    body = await _body(time_spent, started, comment)
    body.setdefault("started", _started(dt.datetime.now(dt.UTC).isoformat()))
    key, created = await WORKLOGS.add(issue_key, body)
    return {"issue": key, **await off_loop(_worklog, created, what="the worklog")}


async def jira_update_worklog(
    issue_key: IssueKey, worklog_id: WorklogId, time_spent: Annotated[str | None, Field(description="e.g. '2h'")] = None,
    started: Started = None, comment: Annotated[str | None, Field(description="Markdown")] = None,
) -> dict[str, Any]:
    """Change a worklog's time, start or comment."""
    body = await _body(time_spent, started, comment)
    if not body:
        raise UserFacingError("nothing to change: give time_spent, started or comment")
    key, updated = await WORKLOGS.update(issue_key, worklog_id, body)
    return {"issue": key, **await off_loop(_worklog, updated, what="the worklog")}


async def jira_delete_worklog(issue_key: IssueKey, worklog_id: WorklogId) -> dict[str, Any]:
    """Delete a worklog."""
    key = await WORKLOGS.delete(issue_key, worklog_id)
    return {"issue": key, "deleted": worklog_id}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    registry.add(jira_get_worklogs, title="List worklogs", read_only=True, idempotent=True)
    registry.add(jira_get_worklog, title="Get worklog", read_only=True, idempotent=True)
    registry.add(jira_add_worklog, title="Log work")
    registry.add(jira_update_worklog, title="Update worklog", idempotent=True)
    registry.add(jira_delete_worklog, title="Delete worklog", destructive=True, idempotent=True)
