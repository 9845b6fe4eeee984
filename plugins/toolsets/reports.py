"""Built-in toolset ``reports``: read-only views built from several Jira answers.

The issues of a project (a search shortcut) and the dates of issues with their time in each
status, worked out from the changelog: on Cloud ``/issue/{key}/changelog`` paged to its end,
on Data Center the ``changelog`` expand of the issue (Data Center returns it whole).
"""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.jira.compact import SEARCH_FIELDS, compact_issue
from jiraplug.server.projects_filter import allowed_projects, guard_issue, guard_project
from jiraplug.server.registry import ToolRegistry
from jiraplug.server.toolkit import jira, off_loop, scoped_jql
from jiraplug.tool_errors import UserFacingError

__all__ = ["jira_get_epic_hierarchy", "jira_get_issue_dates", "jira_get_issue_dependencies",
           "jira_get_project_issues", "mermaid", "status_history", "time_in_status"]

_DATE_FIELDS = ["created", "updated", "resolutiondate", "duedate", "status"]
_CHANGELOG_PAGE = 100
_MAX_CHANGES = 5000  # a bound on one issue's history, far above what a real issue holds


async def jira_get_project_issues(
    project_key: Annotated[str, Field(description="Project key, e.g. PROJ")],
    limit: Annotated[int, Field(ge=1, le=100)] = 20,
    page_token: Annotated[str | None, Field(description="next_page_token of a previous call")] = None,
) -> dict[str, Any]:
    """Issues of a project, newest first."""
    client = jira()
    key = guard_project(project_key)
    found = await client.search_all(scoped_jql(f'project = "{key}" ORDER BY created DESC'), limit,
                                    fields=list(SEARCH_FIELDS), page_token=page_token)
    issues = await off_loop(lambda: [compact_issue(i, client.base_url) for i in found.issues], what="the issues")
    result: dict[str, Any] = {"project": key, "issues": issues, "next_page_token": found.next_page_token}
    if found.total is not None:
        result["total"] = found.total
    return result


def _moment(value: str) -> dt.datetime:
    """Jira's ``2026-11-20T10:00:00.000+0000`` (or ISO 8601) as an aware datetime."""
    text = value.strip()
    if len(text) > 5 and text[-5] in "+-" and text[-3] != ":":
        text = text[:-2] + ":" + text[-2:]
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def status_history(histories: list[dict[str, Any]]) -> list[tuple[dt.datetime, str | None, str | None]]:
    """``(when, from status, to status)`` of each status change, oldest first."""
    changes = []
    for history in histories:
        for item in history.get("items") or []:
            if item.get("fieldId") == "status" or str(item.get("field", "")).lower() == "status":
                changes.append((_moment(str(history["created"])), item.get("fromString"), item.get("toString")))
    return sorted(changes, key=lambda change: change[0])


def time_in_status(created: dt.datetime, current: str, changes: list[tuple[dt.datetime, str | None, str | None]],
                   now: dt.datetime) -> list[dict[str, Any]]:
    """Seconds spent in each status from creation to ``now``, and how often each was entered."""
    status = (changes[0][1] if changes else None) or current
    seconds: dict[str, float] = {status: 0.0}
    entered: dict[str, int] = {status: 1}
    since = created
    for when, _, to in changes:
        seconds[status] += max(0.0, (when - since).total_seconds())
        status, since = to or status, when
        seconds.setdefault(status, 0.0)
        entered[status] = entered.get(status, 0) + 1
    seconds[status] += max(0.0, (now - since).total_seconds())
    return [{"status": name, "seconds": int(spent), "days": round(spent / 86400, 2), "times_entered": entered[name]}
            for name, spent in seconds.items()]


async def _histories(key: str) -> list[dict[str, Any]]:
    client = jira()
    if not client.is_cloud:
        raw = await client.get_issue(key, fields=["status"], expand=["changelog"])
        return list((raw.get("changelog") or {}).get("histories") or [])
    found = await client.paginate(f"{client.api}/issue/{key}/changelog", operation="issue.changelog",
                                  limit=_MAX_CHANGES, page_size=_CHANGELOG_PAGE, subject=key)
    return list(found.items)


async def jira_get_issue_dates(
    issue_keys: Annotated[list[str], Field(min_length=1, max_length=50)],
) -> dict[str, Any]:
    """Dates of issues and time spent in each status (from the changelog)."""
    client = jira()
    keys = list(dict.fromkeys(guard_issue(key) for key in issue_keys))
    now = dt.datetime.now(dt.UTC)
    out = []
    for key in keys:
        raw = await client.get_issue(key, fields=_DATE_FIELDS)
        fields = raw.get("fields") or {}
        if not fields.get("created"):
            raise UserFacingError(f"Jira returned no creation date for {key}")
        current = str((fields.get("status") or {}).get("name") or "")
        changes = status_history(await _histories(key))
        out.append({
            "issue": raw.get("key") or key, "status": current, "created": fields.get("created"),
            "updated": fields.get("updated"), "resolved": fields.get("resolutiondate"),
            "due": fields.get("duedate"),
            "time_in_status": time_in_status(_moment(str(fields["created"])), current, changes, now),
        })
    return {"issues": out}


def _done(issue: dict[str, Any]) -> bool:
    status = (issue.get("fields") or {}).get("status") or {}
    return (status.get("statusCategory") or {}).get("key") == "done"


def _brief(issue: dict[str, Any]) -> dict[str, Any]:
    fields = issue.get("fields") or {}
    return {"key": issue.get("key"), "summary": fields.get("summary"), "status": (fields.get("status") or {}).get("name")}


async def jira_get_epic_hierarchy(
    project_key: Annotated[str, Field(description="Project key, e.g. PROJ")],
    limit: Annotated[int, Field(ge=1, le=50, description="Max epics")] = 20,
) -> dict[str, Any]:
    """Epics of a project with their children and progress."""
    client = jira()
    key = guard_project(project_key)
    fields = ["summary", "status"]
    epics = await client.search_all(scoped_jql(f'project = "{key}" AND issuetype = Epic ORDER BY created DESC'),
                                    limit, fields=fields)
    # Cloud ties children to their epic by ``parent``; Data Center by the Epic Link field.
    link = "parent" if client.is_cloud else '"Epic Link"'
    out = []
    for epic in epics.issues:
        children = await client.search_all(scoped_jql(f"{link} = {epic['key']} ORDER BY key"), 100, fields=fields)
        done = sum(_done(child) for child in children.issues)
        total = len(children.issues)
        out.append({**_brief(epic), "done": done, "total": total,
                    "progress": round(100 * done / total) if total else None,
                    "children": [_brief(child) for child in children.issues]})
    return {"project": key, "epics": out, "more_epics": bool(epics.next_page_token)}


def mermaid(edges: list[tuple[str, str]], titles: dict[str, str]) -> str:
    """A Mermaid ``graph LR`` with ``blocker --> blocked`` for each edge."""
    def node(key: str) -> str:
        label = f"{key}: {titles.get(key, '')}".rstrip(": ").replace('"', "'")[:60]
        return f'{key.replace("-", "_")}["{label}"]'
    return "\n".join(["graph LR", *(f"  {node(a)} -->|blocks| {node(b)}" for a, b in edges)])


async def jira_get_issue_dependencies(
    issue_keys: Annotated[list[str], Field(min_length=1, max_length=50)],
) -> dict[str, Any]:
    """Blocks/is-blocked-by links of issues, as a list and a Mermaid graph."""
    client = jira()
    keys = list(dict.fromkeys(guard_issue(key) for key in issue_keys))
    allowed = set(allowed_projects() or [])
    edges: dict[tuple[str, str], None] = {}
    titles: dict[str, str] = {}
    hidden = 0
    for key in keys:
        raw = await client.get_issue(key, fields=["summary", "issuelinks"])
        fields = raw.get("fields") or {}
        titles[key] = str(fields.get("summary") or "")
        for link in fields.get("issuelinks") or []:
            if str((link.get("type") or {}).get("name", "")).casefold() != "blocks":
                continue
            other = link.get("outwardIssue") or link.get("inwardIssue") or {}
            other_key = str(other.get("key") or "")
            if allowed and other_key.rsplit("-", 1)[0] not in allowed:
                hidden += 1  # outside JIRA_PROJECTS_FILTER: not named
                continue
            titles.setdefault(other_key, str((other.get("fields") or {}).get("summary") or ""))
            edges[(key, other_key) if "outwardIssue" in link else (other_key, key)] = None
    rows = [{"blocker": a, "blocked": b, "cross_project": a.rsplit("-", 1)[0] != b.rsplit("-", 1)[0]}
            for a, b in edges]
    result: dict[str, Any] = {"dependencies": rows, "mermaid": mermaid(list(edges), titles)}
    if hidden:
        result["hidden"] = f"{hidden} links to projects outside JIRA_PROJECTS_FILTER"
    return result


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    read = {"read_only": True, "idempotent": True}
    registry.add(jira_get_project_issues, title="Issues of a project", **read)
    registry.add(jira_get_issue_dates, title="Issue dates and time in status", **read)
    registry.add(jira_get_epic_hierarchy, title="Epic hierarchy", **read)
    registry.add(jira_get_issue_dependencies, title="Issue dependencies", **read)
