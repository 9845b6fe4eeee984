"""The sandbox's domain objects: users, projects, issues and their reference data.

These are plain dataclasses with no knowledge of HTTP or JSON; ``serialize`` turns them
into Jira's REST shapes, ``data`` generates them, ``store`` holds them.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from jiraplug.sandbox.richtext import Doc

__all__ = [
    "SandboxUser",
    "Board",
    "StatusCategory",
    "Status",
    "IssueType",
    "Priority",
    "Resolution",
    "Component",
    "Version",
    "Sprint",
    "Project",
    "Comment",
    "Worklog",
    "Attachment",
    "RemoteLink",
    "LinkType",
    "IssueLink",
    "ChangeItem",
    "History",
    "Issue",
    "REFERENCE_NOW",
]

#: The sandbox clock is frozen here: timestamps in the data and relative JQL dates
#: (``-7d``, ``startOfDay()``) are computed from this instant, never from ``now()``.
REFERENCE_NOW = dt.datetime(2026, 11, 20, 12, 0, 0, tzinfo=dt.UTC)


@dataclass(frozen=True, slots=True)
class SandboxUser:
    """A sandbox account and its (fake, sandbox-only) credentials.

    ``projects`` is ``None`` for users who can browse every project, otherwise the set
    of project keys the user may see. ``edit_projects`` narrows where the user may also
    work (create, edit, transition, comment, log work, attach, schedule); ``None`` means
    every project the user can browse.
    """

    account_id: str
    name: str
    email: str
    display_name: str
    api_token: str
    personal_token: str
    key: str = ""
    projects: frozenset[str] | None = None
    time_zone: str = "Europe/London"
    active: bool = True
    edit_projects: frozenset[str] | None = None

    def can_browse(self, project_key: str) -> bool:
        """Whether this user has the Browse Projects permission on ``project_key``."""
        return self.projects is None or project_key in self.projects

    def can_edit(self, project_key: str) -> bool:
        """Whether this user may change issues (and their sprints, versions...) in ``project_key``."""
        return self.can_browse(project_key) and (self.edit_projects is None or project_key in self.edit_projects)


@dataclass(frozen=True, slots=True)
class StatusCategory:
    """A status category (``new``, ``indeterminate``, ``done``)."""

    id: int
    key: str
    name: str
    color_name: str


@dataclass(frozen=True, slots=True)
class Status:
    """A workflow status."""

    id: str
    name: str
    description: str
    category: StatusCategory
    icon: str


@dataclass(frozen=True, slots=True)
class IssueType:
    """An issue type; ``hierarchy_level`` is 1 for epics, 0 standard, -1 sub-tasks."""

    id: str
    name: str
    description: str
    subtask: bool
    hierarchy_level: int
    avatar_id: int


@dataclass(frozen=True, slots=True)
class Priority:
    """An issue priority; a higher ``rank`` is more urgent (Highest = 5)."""

    id: str
    name: str
    rank: int
    color: str


@dataclass(frozen=True, slots=True)
class Resolution:
    """An issue resolution."""

    id: str
    name: str
    description: str


@dataclass(slots=True, eq=False)
class Component:
    """A project component."""

    id: str
    name: str
    description: str
    project_key: str
    project_id: str
    lead: SandboxUser | None = None


@dataclass(slots=True, eq=False)
class Version:
    """A project version (release)."""

    id: str
    name: str
    description: str
    project_key: str
    project_id: str
    sequence: int
    released: bool
    archived: bool = False
    start_date: dt.date | None = None
    release_date: dt.date | None = None


@dataclass(slots=True, eq=False)
class Sprint:
    """A Jira Software sprint (``state`` is ``closed``, ``active`` or ``future``)."""

    id: int
    name: str
    state: str
    board_id: int
    project_key: str
    goal: str
    start: dt.datetime | None
    end: dt.datetime | None
    complete: dt.datetime | None
    sequence: int
    created: dt.datetime | None = None


@dataclass(frozen=True, slots=True)
class Board:
    """A Jira Software board over one project (``type`` is ``scrum`` or ``kanban``)."""

    id: int
    name: str
    type: str
    project_key: str


@dataclass(slots=True)
class Project:
    """A Jira project with its components and versions."""

    id: str
    key: str
    name: str
    description: str
    lead: SandboxUser
    components: list[Component] = field(default_factory=list)
    versions: list[Version] = field(default_factory=list)
    sprints: list[Sprint] = field(default_factory=list)
    board_id: int = 0
    last_issue_number: int = 0


@dataclass(slots=True)
class Comment:
    """An issue comment."""

    id: str
    author: SandboxUser
    body: Doc
    created: dt.datetime
    updated: dt.datetime
    update_author: SandboxUser | None = None


@dataclass(slots=True)
class Worklog:
    """Time logged on an issue (``comment`` is optional rich text)."""

    id: str
    issue_id: int
    author: SandboxUser
    started: dt.datetime
    time_spent_seconds: int
    created: dt.datetime
    updated: dt.datetime
    comment: Doc | None = None
    update_author: SandboxUser | None = None


@dataclass(slots=True)
class Attachment:
    """A file attached to an issue; ``content`` holds the bytes."""

    id: str
    issue_id: int
    filename: str
    mime_type: str
    content: bytes
    author: SandboxUser
    created: dt.datetime

    @property
    def size(self) -> int:
        """Size in bytes."""
        return len(self.content)


@dataclass(slots=True)
class RemoteLink:
    """A link from an issue to something outside Jira (a pull request, a wiki page...)."""

    id: int
    url: str
    title: str
    global_id: str | None = None
    summary: str | None = None
    relationship: str | None = None
    application_name: str | None = None
    application_type: str | None = None
    icon_url: str | None = None
    resolved: bool | None = None


@dataclass(frozen=True, slots=True)
class LinkType:
    """An issue link type (``Blocks``: outward "blocks", inward "is blocked by")."""

    id: str
    name: str
    inward: str
    outward: str


@dataclass(slots=True)
class IssueLink:
    """A link from ``outward_issue_id`` (source) to ``inward_issue_id`` (target)."""

    id: str
    type: LinkType
    outward_issue_id: int
    inward_issue_id: int


@dataclass(frozen=True, slots=True)
class ChangeItem:
    """One changed field inside a changelog history entry (``field_id`` defaults to ``field``)."""

    field: str
    field_type: str
    from_id: str | None
    from_string: str | None
    to_id: str | None
    to_string: str | None
    field_id: str | None = None


@dataclass(slots=True)
class History:
    """A changelog entry: who changed which fields when."""

    id: str
    author: SandboxUser
    created: dt.datetime
    items: list[ChangeItem]


@dataclass(slots=True)
class Issue:
    """A Jira issue as the sandbox stores it."""

    id: int
    key: str
    number: int
    project_key: str
    issuetype: IssueType
    summary: str
    description: Doc | None
    status: Status
    priority: Priority
    reporter: SandboxUser
    creator: SandboxUser
    created: dt.datetime
    updated: dt.datetime
    assignee: SandboxUser | None = None
    resolution: Resolution | None = None
    resolutiondate: dt.datetime | None = None
    status_changed: dt.datetime | None = None
    labels: list[str] = field(default_factory=list)
    components: list[Component] = field(default_factory=list)
    fix_versions: list[Version] = field(default_factory=list)
    affects_versions: list[Version] = field(default_factory=list)
    duedate: dt.date | None = None
    parent_id: int | None = None
    story_points: float | None = None
    sprint_ids: list[int] = field(default_factory=list)
    rank: str = ""
    comments: list[Comment] = field(default_factory=list)
    links: list[IssueLink] = field(default_factory=list)
    changelog: list[History] = field(default_factory=list)
    environment: str | None = None
    severity: str | None = None
    worklogs: list[Worklog] = field(default_factory=list)
    attachments: list[Attachment] = field(default_factory=list)
    remote_links: list[RemoteLink] = field(default_factory=list)
    watchers: list[SandboxUser] = field(default_factory=list)
    original_estimate: int | None = None
    remaining_estimate: int | None = None

    @property
    def time_spent(self) -> int | None:
        """Seconds logged in worklogs (``None`` when nothing was logged)."""
        return sum(w.time_spent_seconds for w in self.worklogs) if self.worklogs else None
