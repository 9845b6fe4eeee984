"""Compact Markdown views of an issue and a project, the text of ``jira://issue/{key}`` and ``jira://project/{key}``.

They read through the toolsets' own tool functions (``jira_get_issue``, ``jira_get_project``),
so the projects filter, the caller's credential and the compact rendering are the same as a
tool call's.
"""

from __future__ import annotations

from typing import Any

from jiraplug.plugins.toolsets.issues import jira_get_issue
from jiraplug.plugins.toolsets.projects import jira_get_project

_COMMENTS = 5
# Shown on one line each, in this order, when present.
_FACTS = ("issuetype", "status", "priority", "assignee", "reporter", "parent", "labels", "duedate", "created",
          "updated")
_LABELS = {"issuetype": "Type", "duedate": "Due"}


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(_text(v) for v in value)
    if isinstance(value, dict):
        return str(value.get("key") or value.get("name") or value.get("summary") or value)
    return str(value)


async def issue_markdown(key: str) -> tuple[str, str]:
    """``(issue key as Jira answered it, Markdown)``: summary, facts, description, latest comments."""
    issue = await jira_get_issue(key, comment_limit=_COMMENTS)
    found = str(issue.get("key") or key)
    lines = [f"# {found}: {issue.get('summary', '')}", ""]
    for name in _FACTS:
        if issue.get(name) not in (None, "", []):
            lines.append(f"- {_LABELS.get(name, name.capitalize())}: {_text(issue[name])}")
    known = {"key", "url", "summary", "description", "comment", "comment_total", "comment_error", *_FACTS}
    for name, value in issue.items():  # other fields Jira returned (custom fields under their names)
        if name not in known and value not in (None, "", []):
            lines.append(f"- {name}: {_text(value)}")
    lines.append(f"- URL: {issue.get('url')}")
    if issue.get("description"):
        lines += ["", "## Description", "", str(issue["description"]).strip()]
    comments = issue.get("comment") or []
    if comments:
        total = issue.get("comment_total") or len(comments)
        lines += ["", f"## Latest comments ({len(comments)} of {total})"]
        for comment in comments:
            who, when = comment.get("author") or "?", str(comment.get("created") or "")[:16]
            lines += ["", f"**{who}**, {when}:", "", str(comment.get("body") or "").strip()]
    return found, "\n".join(lines) + "\n"


async def project_markdown(key: str) -> str:
    """A project: name, lead, description, issue types, components, unreleased versions."""
    project = await jira_get_project(key)
    lines = [f"# {project.get('key')}: {project.get('name', '')}", ""]
    for name, label in (("type", "Type"), ("lead", "Lead"), ("issue_types", "Issue types"),
                        ("components", "Components"), ("unreleased_versions", "Unreleased versions"),
                        ("url", "URL")):
        if project.get(name):
            lines.append(f"- {label}: {_text(project[name])}")
    if project.get("description"):
        lines += ["", "## Description", "", str(project["description"]).strip()]
    return "\n".join(lines) + "\n"
