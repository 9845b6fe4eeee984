"""Built-in toolset ``transitions``: list an issue's workflow transitions and move it along."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.jira.fields import FieldCatalog
from jiraplug.server.registry import ToolRegistry
from jiraplug.tool_errors import UserFacingError
from jiraplug.server.projects_filter import guard_issue
from jiraplug.server.toolkit import IssueKey, jira



async def _transitions(key: str) -> list[dict[str, Any]]:
    client = jira()
    data = await client.request(
        "GET", f"{client.api}/issue/{key}/transitions", operation="transition.list", subject=key
    )
    return data.get("transitions", [])


async def jira_get_transitions(issue_key: IssueKey) -> dict[str, Any]:
    """Transitions available for an issue now (id, name, target status)."""
    key = guard_issue(issue_key)
    return {
        "issue": key,
        "transitions": [
            {"id": t.get("id"), "name": t.get("name"), "to": (t.get("to") or {}).get("name")}
            for t in await _transitions(key)
        ],
    }


async def jira_transition_issue(
    issue_key: IssueKey,
    transition: Annotated[str, Field(description="Transition id or name (e.g. 'Start Progress' or the target status)")],
    fields: Annotated[dict[str, Any] | None, Field(description="Fields the transition screen needs, by name or id")]
    = None,
    comment: Annotated[str | None, Field(description="Markdown comment to add")] = None,
) -> dict[str, Any]:
    """Move an issue through its workflow, optionally setting fields and adding a comment."""
    client = jira()
    key = guard_issue(issue_key)
    available = await _transitions(key)
    wanted = transition.strip().lower()
    chosen = next((t for t in available if str(t.get("id")) == wanted), None) or next(
        (t for t in available if str(t.get("name", "")).lower() == wanted
         or str((t.get("to") or {}).get("name", "")).lower() == wanted), None)
    if chosen is None:
        names = ", ".join(f"{t.get('name')} (id {t.get('id')})" for t in available) or "none"
        raise UserFacingError(f"{key} has no transition {transition!r} now; available: {names}")
    body: dict[str, Any] = {"transition": {"id": str(chosen["id"])}}
    if fields:
        catalog = await FieldCatalog.of(client)
        body["fields"] = {catalog.find(name).id: await catalog.to_jira(client, catalog.find(name), value)
                          for name, value in fields.items()}
    if comment:
        body["update"] = {"comment": [{"add": {"body": await client.text_to_jira(comment, argument="comment")}}]}
    await client.request(
        "POST", f"{client.api}/issue/{key}/transitions", operation="transition.do", json_body=body,
        touches=(f"issue:{key}",), subject=key,
    )
    return {"key": key, "transition": chosen.get("name"), "status": (chosen.get("to") or {}).get("name")}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    registry.add(jira_get_transitions, title="List transitions", read_only=True, idempotent=True)
    registry.add(jira_transition_issue, title="Transition issue")
