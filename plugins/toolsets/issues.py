"""Built-in toolset ``issues``: read issues and search with JQL."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.registry import ToolRegistry


def _split(value: str | None) -> list[str] | None:
    return [part.strip() for part in value.split(",") if part.strip()] if value else None


async def jira_get_issue(
    issue_key: Annotated[str, Field(description="Issue key or id, e.g. PROJ-123")],
    fields: Annotated[str | None, Field(description="Comma-separated fields; default: the common ones")] = None,
) -> dict[str, Any]:
    """Get one Jira issue: summary, status, people, dates and description as Markdown."""
    from jiraplug.jira.compact import DEFAULT_FIELDS, compact_issue
    from jiraplug.toolcalls import current_call

    jira = current_call().jira
    raw = await jira.get_issue(issue_key, fields=_split(fields) or list(DEFAULT_FIELDS))
    return compact_issue(raw, jira.base_url)


async def jira_search(
    jql: Annotated[str, Field(description='JQL, e.g. project = PROJ AND status = "In Progress"')],
    fields: Annotated[str | None, Field(description="Comma-separated fields to return")] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Issues per page")] = 20,
    page_token: Annotated[str | None, Field(description="next_page_token from the previous page")] = None,
) -> dict[str, Any]:
    """Search issues with JQL. Returns one page and a next_page_token when more exist."""
    from jiraplug.jira.compact import SEARCH_FIELDS, compact_issue
    from jiraplug.toolcalls import current_call

    jira = current_call().jira
    page = await jira.search(jql, fields=_split(fields) or list(SEARCH_FIELDS), limit=limit, page_token=page_token)
    result: dict[str, Any] = {"issues": [compact_issue(issue, jira.base_url) for issue in page.issues]}
    if page.total is not None:
        result["total"] = page.total
    result["next_page_token"] = page.next_page_token
    return result


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    registry.add(jira_get_issue, title="Get issue", read_only=True, idempotent=True)
    registry.add(jira_search, title="Search issues (JQL)", read_only=True, idempotent=True)
