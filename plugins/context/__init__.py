"""Built-in plugin ``context``: MCP-native context, so a client can attach Jira data without a tool call.

- Resource templates ``jira://issue/{key}`` and ``jira://project/{key}``: a compact Markdown view.
- Prompts: ``triage_issue``, ``summarise_sprint``, ``draft_release_notes``.
- Argument completion (``completion/complete``) for both: project keys, issue keys (those the
  caller recently read here first), sprint and version names of the chosen project.

Everything acts as the caller (their credential on a shared HTTP server) and stays inside
``JIRA_PROJECTS_FILTER``; switch the plugin off with ``[plugins] context = false``.
"""

from __future__ import annotations

from jiraplug import hookimpl
from jiraplug.plugins.context.completion import (
    complete_issue_key, complete_project_key, complete_sprint, complete_version, remember_issue,
)
from jiraplug.plugins.context.prompts import draft_release_notes, summarise_sprint, triage_prompt
from jiraplug.plugins.context.views import issue_markdown, project_markdown
from jiraplug.server.registry import PromptRegistry, ResourceRegistry
from jiraplug.settings import Settings

PLUGIN_NAME = "context"
ISSUE_TEMPLATE = "jira://issue/{key}"
PROJECT_TEMPLATE = "jira://project/{key}"


async def read_issue(key: str) -> str:
    """An issue as compact Markdown: summary, status, people, dates, description, latest comments."""
    found, markdown = await issue_markdown(key)
    remember_issue(found)
    return markdown


async def read_project(key: str) -> str:
    """A project as compact Markdown: lead, description, issue types, components, unreleased versions."""
    return await project_markdown(key)


@hookimpl
def register_resources(registry: ResourceRegistry) -> None:
    registry.add_template(ISSUE_TEMPLATE, read_issue, name="Jira issue", complete={"key": complete_issue_key})
    registry.add_template(PROJECT_TEMPLATE, read_project, name="Jira project", complete={"key": complete_project_key})


@hookimpl
def register_prompts(registry: PromptRegistry, settings: Settings) -> None:
    registry.add(triage_prompt(settings.tools.read_only), name="triage_issue", title="Triage an issue",
                 complete={"issue_key": complete_issue_key})
    project = {"project_key": complete_project_key}
    registry.add(summarise_sprint, title="Summarise a sprint", complete={**project, "sprint": complete_sprint})
    registry.add(draft_release_notes, title="Draft release notes", complete={**project, "version": complete_version})
