"""Seeded extras hung off the generated issues: watchers, severity, estimates, worklogs,
attachments (real small files) and remote links; plus the boards.

They draw from their own ``random.Random`` (derived from the seed), so the issues
themselves are byte-for-byte what :mod:`jiraplug.sandbox.data` generated before extras
existed, and the extras are as deterministic as the rest.
"""

from __future__ import annotations

import datetime as dt
import random
from collections.abc import Callable

from jiraplug.sandbox import files
from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.model import (
    REFERENCE_NOW,
    Attachment,
    Board,
    Issue,
    Project,
    RemoteLink,
    SandboxUser,
    Worklog,
)
from jiraplug.sandbox.richtext import Doc, Paragraph, Text

__all__ = ["make_boards", "add_extras"]

_HOUR = 3600
_WORK_NOTES = ("Investigated the logs and narrowed it down.", "Paired on the fix.", "Wrote tests.",
               "Code review and follow-ups.", "Deployed to staging and verified.", "")
_ESTIMATES = (2 * _HOUR, 4 * _HOUR, 8 * _HOUR, 16 * _HOUR, 24 * _HOUR)


def make_boards(projects: list[Project]) -> list[Board]:
    """One scrum board per project (the one its sprints live on) plus the kanban boards."""
    boards = [Board(p.board_id, f"{p.key} board", "scrum", p.key) for p in projects]
    boards.extend(Board(bid, name, "kanban", key) for bid, name, key in ref.KANBAN_BOARDS)
    return boards


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    if end <= start:
        return start
    return (start + dt.timedelta(seconds=rng.uniform(0, (end - start).total_seconds()))).replace(microsecond=0)


def _area(project: Project) -> str:
    return project.name.lower().replace(" ", "-")


def _attach(rng: random.Random, next_id: Callable[[str], int], issue: Issue, project: Project,
            kind: str, members: list[SandboxUser]) -> None:
    service = _area(project)
    if kind == "png":
        name, mime, data = f"screenshot-{issue.number}.png", "image/png", files.png(rng)
    elif kind == "log":
        name, mime, data = f"{service}-{issue.number}.log", "text/plain", files.log_text(rng, service)
    else:
        name, mime, data = f"{service}-config.json", "application/json", files.json_document(rng, service)
    issue.attachments.append(Attachment(
        id=str(next_id("attachment")), issue_id=issue.id, filename=name, mime_type=mime, content=data,
        author=rng.choice([issue.reporter, *members]), created=_between(rng, issue.created, issue.updated)))


def _remote_link(rng: random.Random, next_id: Callable[[str], int], issue: Issue, project: Project) -> RemoteLink:
    number = rng.randint(100, 4000)
    if rng.random() < 0.6:
        repo = f"example/{project.key.lower()}-service"
        return RemoteLink(id=next_id("remote_link"), url=f"https://github.com/{repo}/pull/{number}",
                          title=f"PR #{number}: {issue.summary[:60]}", global_id=f"github={repo}/pull/{number}",
                          summary="Pull request", relationship="mentioned in", application_name="GitHub",
                          application_type="com.github", icon_url="https://github.com/favicon.ico",
                          resolved=issue.status.category.key == "done")
    page = rng.randint(100000, 999999)
    return RemoteLink(id=next_id("remote_link"),
                      url=f"https://example.atlassian.net/wiki/spaces/{project.key}/pages/{page}",
                      title=f"{project.name} runbook", global_id=f"appId=sandbox-confluence&pageId={page}",
                      relationship="Wiki Page", application_name="Confluence",
                      application_type="com.atlassian.confluence",
                      icon_url="https://example.atlassian.net/wiki/favicon.ico")


def _worklogs(rng: random.Random, next_id: Callable[[str], int], issue: Issue, members: list[SandboxUser]) -> None:
    if issue.status.category.key == "new" or issue.issuetype.name == "Epic" or rng.random() < 0.35:
        return
    for _ in range(rng.randint(1, 3)):
        started = _between(rng, issue.created, issue.updated)
        author = issue.assignee if issue.assignee is not None and rng.random() < 0.8 else rng.choice(members)
        note = rng.choice(_WORK_NOTES)
        issue.worklogs.append(Worklog(
            id=str(next_id("worklog")), issue_id=issue.id, author=author, started=started,
            time_spent_seconds=rng.randint(2, 24) * 15 * 60, created=started, updated=started,
            comment=Doc((Paragraph((Text(note),)),)) if note else None))
    issue.worklogs.sort(key=lambda w: w.started)


def add_extras(seed: int, projects: list[Project], issues: list[Issue], users: list[SandboxUser],
               next_id: Callable[[str], int]) -> None:
    """Attach watchers, severity, estimates, worklogs, attachments and remote links to ``issues``."""
    rng = random.Random(f"extras-{seed}")
    by_key = {p.key: p for p in projects}
    kinds_seen: set[str] = set()
    for issue in issues:
        project = by_key[issue.project_key]
        members = [u for u in users if u.can_edit(project.key)]
        watchers = [issue.reporter] + ([issue.assignee] if issue.assignee not in (None, issue.reporter) else [])
        if rng.random() < 0.2:
            extra = rng.choice(members)
            if extra not in watchers:
                watchers.append(extra)
        issue.watchers = [u for u in watchers if u is not None]
        if issue.issuetype.name == "Bug" and rng.random() < 0.85:
            issue.severity = rng.choices(ref.SEVERITY_OPTIONS, weights=(10, 35, 40, 15))[0][0]
        if issue.issuetype.name in ("Story", "Task", "Bug", "Sub-task") and rng.random() < 0.5:
            issue.original_estimate = rng.choice(_ESTIMATES)
        _worklogs(rng, next_id, issue, members)
        if issue.original_estimate is not None:
            spent = issue.time_spent or 0
            issue.remaining_estimate = 0 if issue.status.category.key == "done" else \
                max(0, issue.original_estimate - spent)
        if rng.random() < 0.1:
            kind = "png" if issue.issuetype.name == "Bug" else rng.choice(("log", "json", "png"))
            _attach(rng, next_id, issue, project, kind, members)
            kinds_seen.add(kind)
            if rng.random() < 0.3:
                second = "log" if kind != "log" else "json"
                _attach(rng, next_id, issue, project, second, members)
                kinds_seen.add(second)
        if rng.random() < 0.08:
            issue.remote_links.append(_remote_link(rng, next_id, issue, project))
    # Every seed has at least one file of each kind, on the first issues of the first project.
    first = [i for i in issues if i.project_key == projects[0].key][:3]
    for issue, kind in zip(first, ("png", "log", "json"), strict=False):
        if kind not in kinds_seen:
            _attach(rng, next_id, issue, projects[0], kind, [issue.reporter])
    for issue in first[:1]:
        if not issue.remote_links:
            issue.remote_links.append(_remote_link(rng, next_id, issue, projects[0]))
    assert all(i.updated <= REFERENCE_NOW for i in issues)
