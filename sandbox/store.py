"""The sandbox's in-memory data store: lookups, permissions and the frozen clock.

The store is shared by the HTTP handlers (running on the server's event loop) and by
tests that read it from another thread; mutations take ``lock``.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator

from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.data import Dataset, generate
from jiraplug.sandbox.model import (
    REFERENCE_NOW,
    Component,
    Issue,
    IssueType,
    Priority,
    Project,
    Resolution,
    SandboxUser,
    Sprint,
    Status,
    Version,
)

__all__ = ["Store"]


class Store:
    """All sandbox data for one seed, with the lookups the API and JQL need."""

    def __init__(self, dataset: Dataset) -> None:
        self.seed = dataset.seed
        self.lock = threading.RLock()
        self.users: list[SandboxUser] = list(dataset.users)
        self.projects: dict[str, Project] = {p.key: p for p in dataset.projects}
        self.issues: list[Issue] = list(dataset.issues)
        self.statuses: tuple[Status, ...] = ref.STATUSES
        self.issue_types: tuple[IssueType, ...] = tuple(ref.ISSUE_TYPES.values())
        self.priorities: tuple[Priority, ...] = ref.PRIORITIES
        self.resolutions: tuple[Resolution, ...] = tuple(ref.RESOLUTIONS.values())
        self._reindex()

    @classmethod
    def from_seed(cls, seed: int) -> Store:
        """Generate the data for ``seed`` and wrap it in a store."""
        return cls(generate(seed))

    def _reindex(self) -> None:
        self._by_key: dict[str, Issue] = {i.key: i for i in self.issues}
        self._by_id: dict[int, Issue] = {i.id: i for i in self.issues}
        self._children: dict[int, list[Issue]] = {}
        for issue in self.issues:
            if issue.parent_id is not None:
                self._children.setdefault(issue.parent_id, []).append(issue)
        self.sprints: dict[int, Sprint] = {s.id: s for p in self.projects.values() for s in p.sprints}

    # ------------------------------------------------------------------ clock

    def now(self) -> dt.datetime:
        """The sandbox's (frozen) current time."""
        return REFERENCE_NOW

    # ------------------------------------------------------------------ users

    @property
    def default_user(self) -> SandboxUser:
        """The first user, who can browse every project."""
        return self.users[0]

    def find_users(self, value: str) -> list[SandboxUser]:
        """Users matching ``value`` by account id, user name, key, email or display name."""
        needle = value.casefold()
        return [u for u in self.users
                if needle in (u.account_id.casefold(), u.name.casefold(), u.key.casefold(),
                              u.email.casefold(), u.display_name.casefold())]

    def user_by_account_id(self, account_id: str) -> SandboxUser | None:
        """The user with this Cloud account id, if any."""
        return next((u for u in self.users if u.account_id == account_id), None)

    def user_by_name(self, name: str) -> SandboxUser | None:
        """The user with this Data Center user name (or key), if any."""
        return next((u for u in self.users if name in (u.name, u.key)), None)

    # ------------------------------------------------------------------ projects

    def visible_projects(self, user: SandboxUser) -> list[Project]:
        """Projects ``user`` may browse, in id order."""
        return [p for p in self.projects.values() if user.can_browse(p.key)]

    def get_project(self, id_or_key: str, user: SandboxUser) -> Project | None:
        """Project by key (case-insensitive) or numeric id, if ``user`` may browse it."""
        for project in self.projects.values():
            if id_or_key.upper() == project.key or id_or_key == project.id:
                return project if user.can_browse(project.key) else None
        return None

    def project_of(self, issue: Issue) -> Project:
        """The project ``issue`` belongs to."""
        return self.projects[issue.project_key]

    def all_components(self) -> Iterator[Component]:
        """Every component of every project."""
        for project in self.projects.values():
            yield from project.components

    def all_versions(self) -> Iterator[Version]:
        """Every version of every project."""
        for project in self.projects.values():
            yield from project.versions

    # ------------------------------------------------------------------ issues

    def issue_by_id(self, issue_id: int) -> Issue | None:
        """Issue by numeric id, ignoring permissions."""
        return self._by_id.get(issue_id)

    def issue_by_key(self, key: str) -> Issue | None:
        """Issue by key (case-insensitive), ignoring permissions."""
        return self._by_key.get(key.upper())

    def get_issue(self, id_or_key: str, user: SandboxUser) -> Issue | None:
        """Issue by id or key if ``user`` may see it; ``None`` otherwise (Jira answers 404)."""
        issue = self.issue_by_id(int(id_or_key)) if id_or_key.isdigit() else self.issue_by_key(id_or_key)
        if issue is None or not user.can_browse(issue.project_key):
            return None
        return issue

    def visible_issues(self, user: SandboxUser) -> Iterable[Issue]:
        """Every issue ``user`` may see, in id order."""
        return (i for i in self.issues if user.can_browse(i.project_key))

    def parent_of(self, issue: Issue) -> Issue | None:
        """The issue's parent (epic or, for sub-tasks, the parent issue)."""
        return self._by_id.get(issue.parent_id) if issue.parent_id is not None else None

    def children_of(self, issue: Issue) -> list[Issue]:
        """Issues whose parent is ``issue``."""
        return list(self._children.get(issue.id, ()))

    def subtasks_of(self, issue: Issue) -> list[Issue]:
        """The sub-tasks of ``issue``."""
        return [c for c in self._children.get(issue.id, ()) if c.issuetype.subtask]
