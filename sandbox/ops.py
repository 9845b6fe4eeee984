"""Domain write operations shared by several endpoints (and usable from tests).

Each function changes the store the way Jira would: it bumps the issue's ``updated``,
adds changelog entries where Jira records them, and keeps derived state (time tracking,
resolution, watchers, sprint membership) consistent. HTTP parsing and permission checks
stay in the route modules.
"""

from __future__ import annotations

import datetime as dt

from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.model import (
    Attachment,
    ChangeItem,
    Comment,
    Issue,
    IssueLink,
    LinkType,
    Resolution,
    SandboxUser,
    Sprint,
    Status,
    Worklog,
)
from jiraplug.sandbox.richtext import Doc
from jiraplug.sandbox.store import Store

__all__ = [
    "add_comment",
    "add_worklog",
    "update_worklog",
    "delete_worklog",
    "add_attachment",
    "delete_attachment",
    "link_issues",
    "unlink",
    "transition",
    "set_sprint",
    "sprint_item",
    "user_id",
]


def user_id(user: SandboxUser | None, flavour: str) -> str | None:
    """How a changelog names a user: account id on Cloud, user key on Data Center."""
    if user is None:
        return None
    return user.account_id if flavour == "cloud" else user.key


def add_comment(store: Store, issue: Issue, author: SandboxUser, body: Doc) -> Comment:
    """Append a comment (no changelog entry, as in Jira; ``updated`` moves)."""
    with store.lock:
        when = store.stamp()
        comment = Comment(id=str(store.next_id("comment")), author=author, body=body, created=when, updated=when)
        issue.comments.append(comment)
        issue.updated = when
        return comment


def _time_items(issue: Issue, spent_before: int | None, remaining_before: int | None) -> list[ChangeItem]:
    items = []
    if spent_before != issue.time_spent:
        items.append(ChangeItem("timespent", "jira", _s(spent_before), _s(spent_before), _s(issue.time_spent),
                                _s(issue.time_spent)))
    if remaining_before != issue.remaining_estimate:
        items.append(ChangeItem("timeestimate", "jira", _s(remaining_before), _s(remaining_before),
                                _s(issue.remaining_estimate), _s(issue.remaining_estimate)))
    return items


def _s(value: int | None) -> str | None:
    return None if value is None else str(value)


def _adjust(issue: Issue, mode: str, delta_spent: int, new_estimate: int | None, adjust_by: int | None) -> None:
    """Apply Jira's ``adjustEstimate`` to the remaining estimate (``delta_spent`` may be negative)."""
    if mode == "new":
        issue.remaining_estimate = new_estimate
    elif mode == "manual":
        base = issue.remaining_estimate or 0
        issue.remaining_estimate = max(0, base - (adjust_by or 0)) if delta_spent >= 0 else base + (adjust_by or 0)
    elif mode == "auto" and issue.remaining_estimate is not None:
        issue.remaining_estimate = max(0, issue.remaining_estimate - delta_spent)


def add_worklog(store: Store, issue: Issue, author: SandboxUser, seconds: int, started: dt.datetime,
                comment: Doc | None, *, adjust: str = "auto", new_estimate: int | None = None,
                adjust_by: int | None = None) -> Worklog:
    """Log work: the worklog, time tracking and a changelog entry for the time fields."""
    with store.lock:
        spent, remaining = issue.time_spent, issue.remaining_estimate
        when = store.stamp()
        worklog = Worklog(id=str(store.next_id("worklog")), issue_id=issue.id, author=author, started=started,
                          time_spent_seconds=seconds, created=when, updated=when, comment=comment)
        issue.worklogs.append(worklog)
        _adjust(issue, adjust, seconds, new_estimate, adjust_by)
        items = _time_items(issue, spent, remaining)
        items.append(ChangeItem("WorklogId", "jira", None, None, worklog.id, worklog.id))
        store.record(issue, author, items, when)
        return worklog


def update_worklog(store: Store, issue: Issue, worklog: Worklog, editor: SandboxUser, *, seconds: int | None,
                   started: dt.datetime | None, comment: Doc | None, set_comment: bool, adjust: str = "auto",
                   new_estimate: int | None = None) -> Worklog:
    """Change a worklog's time, start or comment."""
    with store.lock:
        spent, remaining = issue.time_spent, issue.remaining_estimate
        when = store.stamp()
        if seconds is not None:
            _adjust(issue, adjust, seconds - worklog.time_spent_seconds, new_estimate, None)
            worklog.time_spent_seconds = seconds
        if started is not None:
            worklog.started = started
        if set_comment:
            worklog.comment = comment
        worklog.updated = when
        worklog.update_author = editor
        store.record(issue, editor, _time_items(issue, spent, remaining), when)
        return worklog


def delete_worklog(store: Store, issue: Issue, worklog: Worklog, actor: SandboxUser, *, adjust: str = "auto",
                   new_estimate: int | None = None, increase_by: int | None = None) -> None:
    """Remove a worklog; ``auto`` gives its time back to the remaining estimate."""
    with store.lock:
        spent, remaining = issue.time_spent, issue.remaining_estimate
        issue.worklogs = [w for w in issue.worklogs if w.id != worklog.id]
        if adjust == "auto" and issue.remaining_estimate is not None:
            issue.remaining_estimate += worklog.time_spent_seconds
        elif adjust == "new":
            issue.remaining_estimate = new_estimate
        elif adjust == "manual":
            issue.remaining_estimate = (issue.remaining_estimate or 0) + (increase_by or 0)
        items = _time_items(issue, spent, remaining)
        items.append(ChangeItem("WorklogId", "jira", worklog.id, worklog.id, None, None))
        store.record(issue, actor, items)


def add_attachment(store: Store, issue: Issue, author: SandboxUser, filename: str, mime_type: str,
                   content: bytes) -> Attachment:
    """Attach a file (changelog: ``Attachment``)."""
    with store.lock:
        when = store.stamp()
        attachment = Attachment(id=str(store.next_id("attachment")), issue_id=issue.id, filename=filename,
                                mime_type=mime_type, content=content, author=author, created=when)
        issue.attachments.append(attachment)
        store.record(issue, author, [ChangeItem("Attachment", "jira", None, None, attachment.id, filename,
                                                "attachment")], when)
        return attachment


def delete_attachment(store: Store, issue: Issue, attachment: Attachment, actor: SandboxUser) -> None:
    """Remove a file from its issue."""
    with store.lock:
        issue.attachments = [a for a in issue.attachments if a.id != attachment.id]
        store.record(issue, actor, [ChangeItem("Attachment", "jira", attachment.id, attachment.filename, None,
                                               None, "attachment")])


def link_issues(store: Store, link_type: LinkType, source: Issue, target: Issue, actor: SandboxUser) -> IssueLink:
    """Link ``source`` (outward: "blocks") to ``target`` (inward: "is blocked by"); an existing
    identical link is returned as is, as Jira does."""
    with store.lock:
        for link in source.links:
            if link.type.id == link_type.id and link.outward_issue_id == source.id and \
                    link.inward_issue_id == target.id:
                return link
        link = IssueLink(id=str(store.next_id("link")), type=link_type, outward_issue_id=source.id,
                         inward_issue_id=target.id)
        store.add_link(link)
        when = store.stamp()
        store.record(source, actor, [ChangeItem("Link", "jira", None, None, target.key,
                                                f"This issue {link_type.outward} {target.key}", "issuelinks")], when)
        if target is not source:
            store.record(target, actor, [ChangeItem("Link", "jira", None, None, source.key,
                                                    f"This issue {link_type.inward} {source.key}", "issuelinks")],
                         when)
        return link


def unlink(store: Store, link: IssueLink, actor: SandboxUser) -> None:
    """Delete an issue link (changelog on both issues)."""
    with store.lock:
        store.remove_link(link)
        source, target = store.issue_by_id(link.outward_issue_id), store.issue_by_id(link.inward_issue_id)
        when = store.stamp()
        if source is not None and target is not None:
            store.record(source, actor, [ChangeItem("Link", "jira", target.key,
                                                    f"This issue {link.type.outward} {target.key}", None, None,
                                                    "issuelinks")], when)
            store.record(target, actor, [ChangeItem("Link", "jira", source.key,
                                                    f"This issue {link.type.inward} {source.key}", None, None,
                                                    "issuelinks")], when)


def transition(store: Store, issue: Issue, target: Status, actor: SandboxUser,
               resolution: Resolution | None = None, extra: list[ChangeItem] | None = None) -> None:
    """Move ``issue`` to ``target``: status, resolution (set entering Done, cleared leaving it)."""
    with store.lock:
        when = store.stamp()
        before = issue.status
        items = [ChangeItem("status", "jira", before.id, before.name, target.id, target.name)]
        issue.status = target
        issue.status_changed = when
        old_resolution = issue.resolution
        if target.category.key == "done":
            issue.resolution = resolution or ref.RESOLUTIONS["Done"]
            issue.resolutiondate = when
        else:
            issue.resolution = None
            issue.resolutiondate = None
        if old_resolution is not issue.resolution:
            items.append(ChangeItem("resolution", "jira", old_resolution.id if old_resolution else None,
                                    old_resolution.name if old_resolution else None,
                                    issue.resolution.id if issue.resolution else None,
                                    issue.resolution.name if issue.resolution else None))
        store.record(issue, actor, [*items, *(extra or [])], when)


def sprint_item(store: Store, before: list[int], after: list[int]) -> ChangeItem | None:
    """The changelog item for a Sprint field change (``None`` if nothing changed)."""
    if before == after:
        return None

    def names(ids: list[int]) -> str | None:
        found = [store.sprints[s].name for s in ids if s in store.sprints]
        return ", ".join(found) or None

    return ChangeItem("Sprint", "custom", ", ".join(map(str, before)) or None, names(before),
                      ", ".join(map(str, after)) or None, names(after), "customfield_10020")


def set_sprint(store: Store, issue: Issue, sprint: Sprint | None, actor: SandboxUser, *,
               with_subtasks: bool = True) -> None:
    """Put ``issue`` in ``sprint`` (or in the backlog for ``None``): open sprints are replaced,
    closed ones stay in its history. Sub-tasks follow their parent, as on a Jira board."""
    with store.lock:
        targets = [issue, *(store.subtasks_of(issue) if with_subtasks else [])]
        open_ids = store.open_sprint_ids()
        when = store.stamp()
        for item in targets:
            before = list(item.sprint_ids)
            after = [s for s in before if s not in open_ids]
            if sprint is not None and sprint.id not in after:
                after.append(sprint.id)
            change = sprint_item(store, before, after)
            if change is not None:
                item.sprint_ids = after
                store.record(item, actor, [change], when)
