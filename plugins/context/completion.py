"""Argument completion for the context plugin: project keys, issue keys, sprints and versions.

Everything is asked as the caller and kept inside ``JIRA_PROJECTS_FILTER``. Issue keys come
first from those this caller's credential recently read here (``jira://issue`` reads, prompts),
then from the project's recently updated issues.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from jiraplug.plugins.toolsets.agile import jira_list_boards, jira_list_sprints
from jiraplug.plugins.toolsets.projects import jira_list_project_versions, jira_list_projects
from jiraplug import current_call
from jiraplug.server.projects_filter import ISSUE_KEY, allowed_projects, guard_project
from jiraplug.server.toolkit import jira, scoped_jql
from jiraplug.tool_errors import UserFacingError

_PER_CREDENTIAL = 200
_CREDENTIALS = 1000
_SUGGESTED = 20
_PROJECT_PART = re.compile(r"^([A-Za-z][A-Za-z0-9_]*)(?:-\d*)?$")


@dataclass
class SeenIssues:
    """Issue keys each credential read recently, newest last (bounded per credential and in credentials)."""

    by_credential: OrderedDict[str, OrderedDict[str, None]] = field(default_factory=OrderedDict)

    def add(self, credential: str, key: str) -> None:
        keys = self.by_credential.setdefault(credential, OrderedDict())
        self.by_credential.move_to_end(credential)
        keys[key] = None
        keys.move_to_end(key)
        while len(keys) > _PER_CREDENTIAL:
            keys.popitem(last=False)
        while len(self.by_credential) > _CREDENTIALS:
            self.by_credential.popitem(last=False)

    def recent(self, credential: str) -> list[str]:
        return list(reversed(self.by_credential.get(credential, {})))


def seen_issues() -> SeenIssues:
    """This run's store of recently read issue keys (``runtime.plugin_state``)."""
    return current_call().runtime.plugin_state(__name__, SeenIssues)


def remember_issue(key: str) -> None:
    """Record that the caller read ``key`` (for issue-key completion)."""
    seen_issues().add(jira().auth.fingerprint, key.upper())


def _allowed(key: str) -> bool:
    projects = allowed_projects()
    match = ISSUE_KEY.match(key)
    return match is not None and (not projects or match["project"] in projects)


def _starting(values: list[str], typed: str) -> list[str]:
    typed = typed.strip().casefold()
    unique = list(dict.fromkeys(values))
    return [v for v in unique if v.casefold().startswith(typed)] + \
        [v for v in unique if typed and typed in v.casefold() and not v.casefold().startswith(typed)]


async def complete_project_key(typed: str, _arguments: Mapping[str, str]) -> list[str]:
    """Project keys the caller can see (and the filter allows) matching what is typed."""
    found = await jira_list_projects(query=typed.strip() or None, limit=50)
    return _starting([str(p["key"]) for p in found["projects"] if p.get("key")], typed)


async def complete_issue_key(typed: str, _arguments: Mapping[str, str]) -> list[str]:
    """Recently read issue keys, then recently updated issues of the project being typed."""
    keys = [k for k in seen_issues().recent(jira().auth.fingerprint) if _allowed(k)]
    matching = _starting(keys, typed) if typed.strip() else keys
    part = _PROJECT_PART.match(typed.strip())
    if len(matching) < _SUGGESTED and (part or allowed_projects()):
        where = f'project = "{part.group(1).upper()}"' if part else ""
        try:
            if part:
                guard_project(part.group(1))
            page = await jira().search(scoped_jql(f"{where} ORDER BY updated DESC"), fields=["summary"],
                                       limit=_SUGGESTED)
        except UserFacingError:
            page = None  # an unknown or refused project: no more suggestions
        if page is not None:
            matching += _starting([str(i.get("key")) for i in page.issues if i.get("key")], typed)
    return list(dict.fromkeys(matching))


async def complete_sprint(typed: str, arguments: Mapping[str, str]) -> list[str]:
    """Sprint names of the boards of the chosen ``project_key`` (active and future first)."""
    project = (arguments.get("project_key") or "").strip()
    if not project:
        return []
    names: list[str] = []
    for board in (await jira_list_boards(project_key=project, limit=10))["boards"]:
        found = await jira_list_sprints(board_id=board["id"], limit=50)
        ranked = sorted(found["sprints"], key=lambda s: {"active": 0, "future": 1}.get(str(s.get("state")), 2))
        names += [str(s["name"]) for s in ranked if s.get("name")]
    return _starting(names, typed)


async def complete_version(typed: str, arguments: Mapping[str, str]) -> list[str]:
    """Version names of the chosen ``project_key``, unreleased first."""
    project = (arguments.get("project_key") or "").strip()
    if not project:
        return []
    versions: list[dict[str, Any]] = (await jira_list_project_versions(project_key=project, limit=100))["versions"]
    ranked = sorted(versions, key=lambda v: bool(v.get("released")))
    return _starting([str(v["name"]) for v in ranked if v.get("name")], typed)
