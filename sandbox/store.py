"""The sandbox's in-memory data store: lookups, permissions, the clock and write helpers.

The store is shared by the HTTP handlers (running on the server's event loop) and by
tests that read it from another thread; mutations take ``lock``.

The clock starts frozen at :data:`~jiraplug.sandbox.model.REFERENCE_NOW` and moves one
second forward per write (:meth:`Store.stamp`), so writes are ordered, later than every
seeded timestamp, and still deterministic.
"""

from __future__ import annotations

import datetime as dt
import threading
from collections.abc import Iterable, Iterator

from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.data import Dataset, generate
from jiraplug.sandbox.servicedesk import CUSTOMER, ServiceDesk
from jiraplug.sandbox.model import (
    REFERENCE_NOW,
    Attachment,
    Board,
    ChangeItem,
    Comment,
    Component,
    History,
    Issue,
    IssueLink,
    IssueType,
    Priority,
    Project,
    Resolution,
    SandboxUser,
    Sprint,
    Status,
    Version,
    Worklog,
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
        self.boards: dict[int, Board] = {b.id: b for b in dataset.boards}
        self._ticks = 0
        self._reindex()
        self._counters = self._initial_counters()
        # Jira Service Management: the customer-only account joins the users after the seeded
        # data was generated from them, so the tracker's data stays what the seed made it.
        self.users.append(CUSTOMER)
        self.service_desk = ServiceDesk(self.users)

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

    def _initial_counters(self) -> dict[str, int]:
        """The last id used per kind, so new objects continue the seeded numbering."""
        def top(values: Iterable[str | int], floor: int = 10000) -> int:
            return max((int(v) for v in values), default=floor)

        issues = self.issues
        links = {link.id for i in issues for link in i.links}
        ranks = [int(i.rank[3:].rstrip(":"), 16) for i in issues if i.rank.startswith("0|i")]
        return {
            "issue": top(i.id for i in issues),
            "comment": top(c.id for i in issues for c in i.comments),
            "worklog": top(w.id for i in issues for w in i.worklogs),
            "attachment": top(a.id for i in issues for a in i.attachments),
            "link": top(links),
            "remote_link": top(r.id for i in issues for r in i.remote_links),
            "history": top(h.id for i in issues for h in i.changelog),
            "version": top(v.id for v in self.all_versions()),
            "component": top(c.id for c in self.all_components()),
            "sprint": top(self.sprints, 0),
            "rank": top(ranks, 0),
        }

    def next_id(self, kind: str) -> int:
        """Allocate the next id of ``kind`` (``issue``, ``comment``, ``worklog``, ``sprint``...)."""
        with self.lock:
            if kind not in self._counters:
                raise KeyError(f"unknown id kind {kind!r}; known: {', '.join(sorted(self._counters))}")
            self._counters[kind] += 1
            return self._counters[kind]

    def next_rank(self) -> str:
        """A LexoRank-like value after every existing one (new issues go to the bottom)."""
        return f"0|i{self.next_id('rank'):05x}:"

    # ------------------------------------------------------------------ clock

    def now(self) -> dt.datetime:
        """The sandbox's current time: the reference instant plus one second per write so far."""
        return REFERENCE_NOW + dt.timedelta(seconds=self._ticks)

    def stamp(self) -> dt.datetime:
        """Advance the clock by one second for a write and return the new time."""
        with self.lock:
            self._ticks += 1
            return self.now()

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

    def user_by_ref(self, value: str, flavour: str) -> SandboxUser | None:
        """The user a request names: account id on Cloud, user name (or key) on Data Center."""
        return self.user_by_account_id(value) if flavour == "cloud" else self.user_by_name(value)

    def is_admin(self, user: SandboxUser) -> bool:
        """Whether ``user`` is a Jira administrator (the default user)."""
        return user is self.default_user

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

    # ------------------------------------------------------------------ things on issues (for handlers and tests)

    def comments_of(self, key: str) -> list[Comment]:
        """The comments of issue ``key`` (oldest first); empty if there is no such issue."""
        issue = self.issue_by_key(key)
        return list(issue.comments) if issue else []

    def worklogs_of(self, key: str) -> list[Worklog]:
        """The worklogs of issue ``key``."""
        issue = self.issue_by_key(key)
        return list(issue.worklogs) if issue else []

    def attachments_of(self, key: str) -> list[Attachment]:
        """The attachments of issue ``key``."""
        issue = self.issue_by_key(key)
        return list(issue.attachments) if issue else []

    def watchers_of(self, key: str) -> list[SandboxUser]:
        """The watchers of issue ``key``."""
        issue = self.issue_by_key(key)
        return list(issue.watchers) if issue else []

    def changelog_of(self, key: str) -> list[History]:
        """The changelog of issue ``key``, oldest first."""
        issue = self.issue_by_key(key)
        return sorted(issue.changelog, key=lambda h: (h.created, int(h.id))) if issue else []

    def comment(self, issue: Issue, comment_id: str) -> Comment | None:
        """One comment of ``issue`` by id."""
        return next((c for c in issue.comments if c.id == comment_id), None)

    def worklog(self, issue: Issue, worklog_id: str) -> Worklog | None:
        """One worklog of ``issue`` by id."""
        return next((w for w in issue.worklogs if w.id == worklog_id), None)

    def attachment(self, attachment_id: str) -> tuple[Issue, Attachment] | None:
        """An attachment by id, with the issue it belongs to."""
        for issue in self.issues:
            for attachment in issue.attachments:
                if attachment.id == attachment_id:
                    return issue, attachment
        return None

    def issue_link(self, link_id: str) -> IssueLink | None:
        """An issue link by id."""
        for issue in self.issues:
            for link in issue.links:
                if link.id == link_id:
                    return link
        return None

    def version(self, version_id: str) -> Version | None:
        """A version by id, ignoring permissions."""
        return next((v for v in self.all_versions() if v.id == version_id), None)

    def component(self, component_id: str) -> Component | None:
        """A component by id, ignoring permissions."""
        return next((c for c in self.all_components() if c.id == component_id), None)

    # ------------------------------------------------------------------ agile

    def board_of_project(self, project_key: str) -> Board | None:
        """The scrum board of a project (the one its sprints live on)."""
        return next((b for b in self.boards.values() if b.project_key == project_key and b.type == "scrum"), None)

    def visible_boards(self, user: SandboxUser) -> list[Board]:
        """Boards over projects ``user`` may browse, in id order."""
        return [b for b in sorted(self.boards.values(), key=lambda b: b.id) if user.can_browse(b.project_key)]

    def sprints_of_board(self, board_id: int) -> list[Sprint]:
        """A board's sprints: closed, then active, then future, each in sequence order."""
        order = {"closed": 0, "active": 1, "future": 2}
        found = [s for s in self.sprints.values() if s.board_id == board_id]
        return sorted(found, key=lambda s: (order.get(s.state, 3), s.sequence, s.id))

    def open_sprint_ids(self) -> set[int]:
        """Ids of active and future sprints."""
        return {s.id for s in self.sprints.values() if s.state in ("active", "future")}

    def issues_in_sprint(self, sprint_id: int, user: SandboxUser) -> list[Issue]:
        """Issues ``user`` may see that are (or were) in the sprint, by rank."""
        return sorted((i for i in self.visible_issues(user) if sprint_id in i.sprint_ids), key=lambda i: i.rank)

    def board_issues(self, board: Board, user: SandboxUser) -> list[Issue]:
        """Issues on ``board`` (its project's issues) by rank; empty if ``user`` cannot browse it."""
        if not user.can_browse(board.project_key):
            return []
        return sorted((i for i in self.issues if i.project_key == board.project_key), key=lambda i: i.rank)

    def backlog_issues(self, board: Board, user: SandboxUser) -> list[Issue]:
        """A scrum board's backlog: unfinished issues in no active or future sprint, by rank."""
        open_ids = self.open_sprint_ids()
        return [i for i in self.board_issues(board, user)
                if i.status.category.key != "done" and not open_ids.intersection(i.sprint_ids)]

    def add_sprint(self, sprint: Sprint) -> None:
        """Register a new sprint on its project."""
        with self.lock:
            self.projects[sprint.project_key].sprints.append(sprint)
            self.sprints[sprint.id] = sprint

    def remove_sprint(self, sprint: Sprint) -> None:
        """Delete a sprint; its issues lose it from their Sprint field."""
        with self.lock:
            project = self.projects[sprint.project_key]
            project.sprints = [s for s in project.sprints if s.id != sprint.id]
            self.sprints.pop(sprint.id, None)
            for issue in self.issues:
                if sprint.id in issue.sprint_ids:
                    issue.sprint_ids = [s for s in issue.sprint_ids if s != sprint.id]

    # ------------------------------------------------------------------ writes

    def record(self, issue: Issue, author: SandboxUser, items: list[ChangeItem],
               when: dt.datetime | None = None) -> History | None:
        """Stamp ``issue`` as updated and add a changelog entry for ``items`` (if any)."""
        with self.lock:
            when = when or self.stamp()
            issue.updated = when
            if not items:
                return None
            history = History(id=str(self.next_id("history")), author=author, created=when, items=list(items))
            issue.changelog.append(history)
            return history

    def add_issue(self, issue: Issue) -> None:
        """Insert a newly created issue and index it."""
        with self.lock:
            self.issues.append(issue)
            self._by_key[issue.key] = issue
            self._by_id[issue.id] = issue
            siblings = self._children.setdefault(issue.parent_id, []) if issue.parent_id is not None else None
            if siblings is not None and not any(s is issue for s in siblings):
                siblings.append(issue)

    def reparent(self, issue: Issue, parent_id: int | None) -> None:
        """Change an issue's parent, keeping the children index right."""
        with self.lock:
            if issue.parent_id is not None:
                siblings = self._children.get(issue.parent_id, [])
                self._children[issue.parent_id] = [s for s in siblings if s is not issue]
            issue.parent_id = parent_id
            if parent_id is not None:
                self._children.setdefault(parent_id, []).append(issue)

    def delete_issue(self, issue: Issue) -> list[Issue]:
        """Remove ``issue`` and its sub-tasks, their links, and epic parenthood; returns what was removed."""
        with self.lock:
            doomed = [issue, *self.subtasks_of(issue)]
            ids = {i.id for i in doomed}
            for other in self.issues:
                if other.id in ids:
                    continue
                other.links = [link for link in other.links
                               if link.inward_issue_id not in ids and link.outward_issue_id not in ids]
                if other.parent_id in ids:
                    other.parent_id = None  # children of a deleted epic stay, without a parent
            self.issues = [i for i in self.issues if i.id not in ids]
            self._reindex()
            return doomed

    def add_link(self, link: IssueLink) -> None:
        """Attach ``link`` to both of its issues."""
        with self.lock:
            for issue_id in {link.outward_issue_id, link.inward_issue_id}:
                issue = self._by_id.get(issue_id)
                if issue is not None:
                    issue.links.append(link)

    def remove_link(self, link: IssueLink) -> None:
        """Detach ``link`` from both of its issues."""
        with self.lock:
            for issue_id in (link.outward_issue_id, link.inward_issue_id):
                issue = self._by_id.get(issue_id)
                if issue is not None:
                    issue.links = [x for x in issue.links if x.id != link.id]

