"""Prompts: triage an issue, summarise a sprint, draft release notes from a version.

Each prompt reads what it is about as the caller (inside ``JIRA_PROJECTS_FILTER``) and returns
one user message: the task, then the data in compact Markdown, so the model starts with the
context and spends no tool call on it. In read-only mode the triage prompt asks for
recommendations, not changes.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from jiraplug.plugins.context.completion import remember_issue
from jiraplug.plugins.context.views import issue_markdown
from jiraplug.plugins.toolsets.jql import jql_value
from jiraplug.server.projects_filter import guard_project
from jiraplug.server.toolkit import IssueKey, jira, scoped_jql

_MAX_ISSUES = 100
_ROW_FIELDS = ["summary", "status", "issuetype", "priority", "assignee"]

ProjectKey = Annotated[str, Field(description="Project key, e.g. PROJ")]


def _name(value: Any) -> str:
    return str((value or {}).get("displayName") or (value or {}).get("name") or "—") if isinstance(value, dict) \
        else str(value or "—")


async def _issue_table(jql: str) -> tuple[str, int]:
    """A Markdown table of the issues matching ``jql`` (inside the filter) and how many matched."""
    page = await jira().search_all(scoped_jql(jql), _MAX_ISSUES, fields=_ROW_FIELDS)
    rows = ["| key | type | status | priority | assignee | summary |", "|---|---|---|---|---|---|"]
    for issue in page.issues:
        fields = issue.get("fields") or {}
        cells = [str(issue.get("key")), _name(fields.get("issuetype")), _name(fields.get("status")),
                 _name(fields.get("priority")), _name(fields.get("assignee")),
                 str(fields.get("summary") or "").replace("|", "\\|")]
        rows.append("| " + " | ".join(cells) + " |")
    total = page.total if page.total is not None else len(page.issues)
    more = f"\n\n({total - len(page.issues)} more not shown: search with `{jql}`)" if total > len(page.issues) else ""
    return "\n".join(rows) + more, total


def triage_prompt(read_only: bool) -> Any:
    async def triage_issue(issue_key: IssueKey) -> str:
        """Triage an issue: type, priority, duplicates, owner and next step."""
        key, markdown = await issue_markdown(issue_key)
        remember_issue(key)
        action = ("Recommend each change; this server is read-only, so do not try to make them."
                  if read_only else "Propose the changes, and make them with the Jira tools once I agree.")
        return (f"Triage the Jira issue {key} below. Check that its type and priority fit the description, "
                "search for likely duplicates (jira_search with words from the summary), suggest who should "
                f"own it and which component or labels it needs, and say what the next step is. {action}\n\n"
                f"{markdown}")

    return triage_issue


async def summarise_sprint(
    project_key: ProjectKey,
    sprint: Annotated[str, Field(description="Sprint name")],
) -> str:
    """Summarise a sprint: done, in progress, at risk."""
    key = guard_project(project_key)
    jql = f"project = {jql_value(key)} AND sprint = {jql_value(sprint)} ORDER BY status, priority DESC"
    table, total = await _issue_table(jql)
    return (f"Summarise sprint {sprint!r} of project {key} for a stand-up or review: what is done, what is in "
            "progress, what is at risk or blocked (and why, if the issues say), and who carries the most. Keep it "
            f"short and group by status.\n\nThe sprint's {total} issue(s):\n\n{table}\n")


async def draft_release_notes(
    project_key: ProjectKey,
    version: Annotated[str, Field(description="Version (fix version) name")],
) -> str:
    """Draft release notes from the issues fixed in a version."""
    key = guard_project(project_key)
    jql = f"project = {jql_value(key)} AND fixVersion = {jql_value(version)} ORDER BY issuetype, priority DESC"
    table, total = await _issue_table(jql)
    return (f"Draft release notes for version {version!r} of {key} from the issues below: a one-paragraph "
            "summary, then sections for new features, improvements and fixed bugs, each item one line written "
            "for users (not the issue summary copied), with its issue key. Leave out internal tasks, and list "
            f"issues that are not done yet separately.\n\nThe version's {total} issue(s):\n\n{table}\n")
