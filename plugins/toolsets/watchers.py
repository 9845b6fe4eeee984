"""Built-in toolset ``watchers``: who watches an issue; add and remove watchers."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.plugins.toolsets.users import compact_user, user_id
from jiraplug.server.registry import ToolRegistry
from jiraplug.tool_errors import UserFacingError
from jiraplug.server.projects_filter import guard_issue
from jiraplug.server.toolkit import IssueKey, Limit, StartAt, jira, slice_page

User = Annotated[str | None, Field(description="accountId (Cloud) or username (DC); default: you")]


async def _who(user: str | None) -> str:
    """The user argument, or the current user's id when omitted."""
    if user is not None and user.strip():
        return user.strip()
    client = await jira().ready()
    me = await client.request("GET", f"{client.api}/myself", operation="myself.get")
    found = user_id(me)
    if not found:
        raise UserFacingError("could not tell who the current user is; pass user explicitly")
    return found


async def jira_list_watchers(
    issue_key: IssueKey, start_at: StartAt = 0, limit: Limit = 50
) -> dict[str, Any]:
    """List the users watching an issue."""
    client = await jira().ready()
    key = guard_issue(issue_key)
    body = await client.request("GET", f"{client.api}/issue/{key}/watchers", operation="watcher.list", subject=key)
    watchers = body.get("watchers") or []
    chunk, following = slice_page(watchers, start_at, limit)
    return {"issue_key": key, "watch_count": body.get("watchCount", len(watchers)),
            "you_watch": bool(body.get("isWatching")), "watchers": [compact_user(w) for w in chunk],
            "next_start_at": following}


async def jira_add_watcher(issue_key: IssueKey, user: User = None) -> dict[str, Any]:
    """Add a watcher to an issue."""
    client = await jira().ready()
    key = guard_issue(issue_key)
    who = await _who(user)
    # The body is the bare JSON string of the account id (Cloud) or username (DC).
    await client.request(
        "POST", f"{client.api}/issue/{key}/watchers", operation="watcher.add", json_body=who,
        idempotent=True, touches=(f"issue:{key}",), subject=key,
    )
    return {"issue_key": key, "added": who}


async def jira_remove_watcher(issue_key: IssueKey, user: User = None) -> dict[str, Any]:
    """Remove a watcher from an issue."""
    client = await jira().ready()
    key = guard_issue(issue_key)
    who = await _who(user)
    params = {"accountId": who} if client.is_cloud else {"username": who}
    await client.request(
        "DELETE", f"{client.api}/issue/{key}/watchers", operation="watcher.remove", params=params,
        touches=(f"issue:{key}",), subject=key,
    )
    return {"issue_key": key, "removed": who}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    registry.add(jira_list_watchers, title="List watchers", read_only=True, idempotent=True)
    registry.add(jira_add_watcher, title="Add watcher", idempotent=True)
    registry.add(jira_remove_watcher, title="Remove watcher", destructive=True, idempotent=True)
