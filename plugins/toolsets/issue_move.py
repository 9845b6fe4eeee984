"""``jira_move_issues`` (toolset ``issues``): move issues to another project and/or issue type.

Jira Cloud moves issues with its bulk move API: ``POST /rest/api/3/bulk/issues/move`` queues a
task (``targetToSourcesMapping`` keyed ``"<project>,<issue type id>[,<parent>]"``) and
``GET /rest/api/3/bulk/queue/{taskId}`` reports it. The tool reads the issues first (their ids,
projects and types: a key that changed in an earlier move leads to the issue's current key,
which the projects filter then sees), groups them by target, submits one task, and polls it
with growing waits, sending MCP progress notifications, until it ends or ``timeout_seconds``
pass. Jira answers outcomes by issue *id*, so moved issues are searched once more for their
new keys. Data Center has no such API: the tool says what to do there instead.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from jiraplug.jira.errors import JiraError
from jiraplug.server.projects_filter import guard_found_issue, guard_issue, guard_project
from jiraplug.server.toolcalls import current_call
from jiraplug.server.toolkit import jira, scoped_jql
from jiraplug.tool_errors import UserFacingError

if TYPE_CHECKING:
    from jiraplug.jira.client import JiraClient

__all__ = ["jira_move_issues"]

MAX_ISSUES = 1000  # Jira's limit per bulk move, sub-tasks included
FIRST_WAIT, LONGEST_WAIT = 0.25, 5.0  # seconds between polls: doubling from the first to the longest
READERS = 8  # issues read at once before the move
FINAL = frozenset({"COMPLETE", "FAILED", "CANCELLED", "DEAD"})
DC_REFUSAL = (
    "Jira Data Center has no API to move issues to another project or issue type. Move them in Jira: the "
    "issue's More > Move, or for several issues a search, then Tools > Bulk Change > Move Issues. Or copy each "
    "with jira_clone_issue (project_key) and delete the original with jira_delete_issue; the copy gets a new "
    "key and loses the history"
)


async def jira_move_issues(
    issue_keys: Annotated[list[str], Field(min_length=1, max_length=MAX_ISSUES)],
    project_key: str | None = None,
    issue_type: str | None = None,  # a name or an id
    parent: str | None = None,  # the key of the new parent (a sub-task's)
    timeout_seconds: Annotated[int, Field(ge=1, le=3600)] = 300,
    ctx: Context | None = None,
) -> dict[str, Any]:
    """Move issues to another project and/or issue type (Cloud); unset targets stay. Per-issue outcome."""
    keys = list(dict.fromkeys(guard_issue(key) for key in issue_keys))
    target = guard_project(project_key) if project_key and project_key.strip() else None
    parent_key = guard_issue(parent) if parent and parent.strip() else None
    if target is None and not (issue_type and issue_type.strip()) and parent_key is None:
        raise UserFacingError("nothing to move to: give project_key, issue_type, parent or several of them")
    client = await jira().ready()
    if not client.is_cloud:
        raise UserFacingError(DC_REFUSAL)
    found, unreadable = await _read(client, keys)
    if not found:
        raise UserFacingError("none of the issues can be read, so none was moved: "
                              + "; ".join(f"{key}: {why}" for key, why in unreadable.items()))
    mapping = await _mapping(found, target, issue_type, parent_key)
    projects = {f"project:{t.split(',', 1)[0]}" for t in mapping} | {f"project:{_project(i)}" for i in found.values()}
    submitted = await client.request(
        "POST", f"{client.api}/bulk/issues/move", operation="issue.bulk_move",
        json_body={"sendBulkNotification": True, "targetToSourcesMapping": mapping},
        touches=tuple(sorted({f"issue:{i['key']}" for i in found.values()} | projects)),
    )
    task_id = str((submitted or {}).get("taskId") or "")
    if not task_id:
        raise UserFacingError("Jira accepted the move but named no task to follow; check the issues with jira_get_issue")
    state, timed_out = await _follow(client, task_id, timeout_seconds, ctx)
    return await _outcome(client, task_id, state, found, unreadable, timed_out, timeout_seconds)


# ------------------------------------------------------------------ before the move


async def _read(client: JiraClient, keys: list[str]) -> tuple[dict[str, dict[str, Any]], dict[str, str]]:
    """``({given key: issue}, {given key: why it cannot be read})``; an issue outside the filter is refused."""
    gate = asyncio.Semaphore(READERS)

    async def one(key: str) -> dict[str, Any] | str:
        async with gate:
            try:
                return await client.get_issue(key, fields=["project", "issuetype", "parent"], fresh=True)
            except JiraError as exc:
                if exc.status in (403, 404):
                    return "; ".join(exc.messages) or str(exc)
                raise

    answers = await asyncio.gather(*(one(key) for key in keys))
    found = {key: answer for key, answer in zip(keys, answers, strict=True) if isinstance(answer, dict)}
    for key, issue in found.items():  # a key from before a move leads to the issue: where is it now?
        moved = str(issue.get("key", "")).upper() != key
        guard_found_issue(str(issue.get("key", "")), f"issue {key}" + (" (moved since)" if moved else ""))
    return found, {key: answer for key, answer in zip(keys, answers, strict=True) if isinstance(answer, str)}


def _project(issue: dict[str, Any]) -> str:
    return str(((issue.get("fields") or {}).get("project") or {}).get("key", "")).upper()


async def _mapping(found: dict[str, dict[str, Any]], target: str | None, issue_type: str | None,
                   parent: str | None) -> dict[str, dict[str, Any]]:
    """``targetToSourcesMapping``: the issues grouped by ``"<project>,<type id>[,<parent>]"``."""
    type_ids: dict[tuple[str, str], str] = {}
    mapping: dict[str, dict[str, Any]] = {}
    for issue in found.values():
        project = target or _project(issue)
        wanted = issue_type.strip() if issue_type and issue_type.strip() else \
            str(((issue.get("fields") or {}).get("issuetype") or {}).get("name", ""))
        if (project, wanted.lower()) not in type_ids:
            type_ids[(project, wanted.lower())] = await _type_id(project, wanted)
        key = f"{project},{type_ids[(project, wanted.lower())]}" + (f",{parent}" if parent else "")
        mapping.setdefault(key, {"issueIdsOrKeys": [], "inferFieldDefaults": True, "inferStatusDefaults": True,
                                 "inferSubtaskTypeDefault": True, "inferClassificationDefaults": True})
        mapping[key]["issueIdsOrKeys"].append(str(issue["key"]))
    return mapping


async def _type_id(project: str, wanted: str) -> str:
    """The id of issue type ``wanted`` (a name or an id) in ``project`` (team-managed projects have their own).

    Read from the project, not from what the caller may create there: permissions are Jira's to
    judge, issue by issue, in the move's outcome.
    """
    client = jira()
    found = await client.request("GET", f"{client.api}/project/{project}", operation="project.get", subject=project)
    types = [t for t in (found or {}).get("issueTypes") or [] if isinstance(t, dict)]
    for item in types:
        if wanted.lower() in (str(item.get("id")), str(item.get("name", "")).lower()):
            return str(item.get("id"))
    names = ", ".join(str(t.get("name")) for t in types) or "none"
    raise UserFacingError(f"project {project} has no issue type {wanted!r}; it has: {names}")


# ------------------------------------------------------------------ while Jira moves them


async def _follow(client: JiraClient, task_id: str, timeout_seconds: int,
                  ctx: Context | None) -> tuple[dict[str, Any], bool]:
    """Poll the task until it ends or the time is up: ``(last progress, timed out)``."""
    clock = current_call().runtime.clock
    deadline = clock.monotonic() + timeout_seconds
    wait, shown = FIRST_WAIT, -1.0

    async def report(percent: float, status: str) -> None:
        nonlocal shown
        if ctx is not None and percent > shown:  # MCP progress must grow with each notification
            shown = percent
            await ctx.report_progress(percent, 100, f"move {status.lower()} (Jira task {task_id})")

    await report(0, "submitted")
    while True:
        await clock.sleep(min(wait, max(0.0, deadline - clock.monotonic())))
        try:
            state = await client.request("GET", f"{client.api}/bulk/queue/{task_id}", operation="bulk.progress",
                                         fresh=True) or {}
        except UserFacingError as exc:
            raise UserFacingError(f"the move was submitted as Jira task {task_id}, but its progress could not be "
                                  f"read: {exc}") from None
        status = str(state.get("status") or "UNKNOWN")
        percent = state.get("progressPercent")
        await report(float(percent) if isinstance(percent, int | float) else 0.0, status)
        if status in FINAL:
            return state, False
        if clock.monotonic() >= deadline:
            return state, True
        wait = min(wait * 2, LONGEST_WAIT)


# ------------------------------------------------------------------ after


async def _outcome(client: JiraClient, task_id: str, state: dict[str, Any], found: dict[str, dict[str, Any]],
                   unreadable: dict[str, str], timed_out: bool, timeout_seconds: int) -> dict[str, Any]:
    status = str(state.get("status") or "UNKNOWN")
    moved = {str(ident) for ident in state.get("processedAccessibleIssues") or []}
    failed = {str(ident): why for ident, why in (state.get("failedAccessibleIssues") or {}).items()}
    now = await _current(client, moved)
    rows: list[dict[str, Any]] = []
    given = {str(issue.get("id")): key for key, issue in found.items()}
    for ident, key in given.items():
        if ident in moved:
            rows.append({"key": key, "outcome": "moved", **now.get(ident, {})})
        elif ident in failed:
            reasons = failed[ident]
            rows.append({"key": key, "outcome": "failed",
                         "error": "; ".join(map(str, reasons)) if isinstance(reasons, list) else str(reasons)})
        else:  # Jira counts such issues only (invalidOrInaccessibleIssueCount), it does not name them
            rows.append({"key": key, "outcome": "inaccessible" if status == "COMPLETE" else
                         "pending" if status not in FINAL else "not moved"})
    rows += [{"id": ident, "outcome": "moved", "with_parent": True, **now.get(ident, {})}
             for ident in sorted(moved - set(given))]  # sub-tasks that went with their parent
    rows += [{"key": key, "outcome": "inaccessible", "error": why} for key, why in unreadable.items()]
    result: dict[str, Any] = {"task_id": task_id, "status": status, "progress_percent": state.get("progressPercent"),
                              "issues": rows}
    if timed_out:
        result["note"] = (f"Jira was still moving after {timeout_seconds} s and goes on without us; check the "
                          "issues later with jira_get_issue (an old key leads to the moved issue)")
    return result


async def _current(client: JiraClient, ids: set[str]) -> dict[str, dict[str, Any]]:
    """``{issue id: {"new_key", "issue_type"}}`` of moved issues, searched afresh (Jira reports only ids)."""
    out: dict[str, dict[str, Any]] = {}
    ordered = sorted(ids, key=int)
    for start in range(0, len(ordered), 100):
        chunk = ordered[start: start + 100]
        try:
            page = await client.search(scoped_jql(f"issue in ({', '.join(chunk)})"), fields=["issuetype"],
                                       limit=len(chunk), fresh=True)
        except UserFacingError:
            continue  # the move happened; only its new keys stay unknown
        for issue in page.issues:
            kind = ((issue.get("fields") or {}).get("issuetype") or {}).get("name")
            out[str(issue.get("id"))] = {"new_key": issue.get("key"), "issue_type": kind}
    return out
