"""Jira Cloud's bulk move in the sandbox: a task that moves issues to another project and/or issue type.

``POST /rest/api/3/bulk/issues/move`` checks the request and queues a :class:`MoveTask`;
``GET /rest/api/3/bulk/queue/{taskId}`` reports it. The sandbox's clock only moves on writes,
so a task advances on each poll instead of in the background: the first poll starts it
(``RUNNING``, 0%), each later one moves about a third of its issues, and the poll after the
last issue answers ``COMPLETE`` with the per-issue outcome (``processedAccessibleIssues``,
``failedAccessibleIssues``, ``invalidOrInaccessibleIssueCount``).

A moved issue takes the next key of the target project and keeps finding itself by its old
key (Jira's key history); its sub-tasks move with it (``inferSubtaskTypeDefault``), and its
project-scoped values (components, versions) are dropped. An issue fails, with Jira's kind of
message, when the caller may not move issues of its project, or when it would be a sub-task
without a parent in the target project.
"""

from __future__ import annotations

import math
import weakref
from dataclasses import dataclass, field
from typing import Any

from jiraplug.sandbox.model import ChangeItem, Issue, IssueType, Project, SandboxUser
from jiraplug.sandbox.store import Store

__all__ = ["MAX_ISSUES", "MoveRequestError", "MoveTask", "advance", "submit", "task"]

MAX_ISSUES = 1000
_PAYLOAD_KEYS = {"sendBulkNotification", "targetToSourcesMapping"}
_MAPPING_KEYS = {"inferClassificationDefaults", "inferFieldDefaults", "inferStatusDefaults",
                 "inferSubtaskTypeDefault", "issueIdsOrKeys", "targetClassification", "targetMandatoryFields",
                 "targetStatus"}
_TASKS: weakref.WeakKeyDictionary[Store, dict[str, MoveTask]] = weakref.WeakKeyDictionary()
_STEPS = 3  # polls a running task takes to move every issue


class MoveRequestError(Exception):
    """The request is refused as a whole (Jira answers 400 with ``{"errors": [{"message"}]}``)."""

    def __init__(self, *messages: str) -> None:
        super().__init__("; ".join(messages))
        self.messages = list(messages)


@dataclass
class _Target:
    project: Project
    issuetype: IssueType
    parent: Issue | None
    with_subtasks: bool


@dataclass
class MoveTask:
    """One bulk move: what to move where, and how far it got."""

    id: str
    user: SandboxUser
    created: int
    items: list[tuple[str, _Target]]
    status: str = "ENQUEUED"
    started: int | None = None
    updated: int | None = None
    done: int = 0
    processed: list[int] = field(default_factory=list)
    failed: dict[str, list[str]] = field(default_factory=dict)
    invalid: int = 0

    def body(self) -> dict[str, Any]:
        """The task as ``BulkOperationProgress`` (times in epoch milliseconds, as Jira sends them)."""
        out: dict[str, Any] = {"taskId": self.id, "status": self.status, "submittedBy": {"accountId":
                                                                                         self.user.account_id},
                               "created": self.created, "progressPercent": self.percent}
        if self.started is not None:
            out["started"] = self.started
        if self.updated is not None:
            out["updated"] = self.updated
        if self.status == "COMPLETE":
            out.update(processedAccessibleIssues=list(self.processed), failedAccessibleIssues=dict(self.failed),
                       invalidOrInaccessibleIssueCount=self.invalid, totalIssueCount=len(self.items))
        return out

    @property
    def percent(self) -> int:
        return 100 if self.status == "COMPLETE" else math.floor(100 * self.done / max(1, len(self.items)))


def _millis(store: Store) -> int:
    return int(store.now().timestamp() * 1000)


def _target(store: Store, user: SandboxUser, key: str, sources: Any) -> _Target:
    parts = [part.strip() for part in str(key).split(",")]
    if len(parts) not in (2, 3) or not all(parts):
        raise MoveRequestError(f"The target '{key}' is not '<project ID or key>,<issueType ID>[,<parent ID or key>]'.")
    project = store.get_project(parts[0], user)
    if project is None:
        raise MoveRequestError(f"The target project '{parts[0]}' does not exist or you do not have permission to "
                               "view it.")
    if not user.can_edit(project.key):
        raise MoveRequestError(f"You do not have permission to create issues in the target project '{project.key}'.")
    issuetype = next((t for t in store.issue_types if t.id == parts[1]), None)
    if issuetype is None:
        raise MoveRequestError(f"The target issue type '{parts[1]}' is not valid for project '{project.key}'.")
    parent = store.get_issue(parts[2], user) if len(parts) == 3 else None
    if len(parts) == 3 and parent is None:
        raise MoveRequestError(f"The target parent '{parts[2]}' does not exist or you do not have permission to "
                               "view it.")
    if not isinstance(sources, dict) or set(sources) - _MAPPING_KEYS:
        unknown = sorted(set(sources) - _MAPPING_KEYS) if isinstance(sources, dict) else []
        raise MoveRequestError(f"Unrecognized field '{unknown[0]}' in the target '{key}'." if unknown
                               else f"The target '{key}' must map to an object.")
    return _Target(project, issuetype, parent, sources.get("inferSubtaskTypeDefault", True) is not False)


def submit(store: Store, user: SandboxUser, payload: Any) -> MoveTask:
    """Check a ``IssueBulkMovePayload`` and queue its task (raises :class:`MoveRequestError`)."""
    if not isinstance(payload, dict):
        raise MoveRequestError("The request body must be an object.")
    unknown = sorted(set(payload) - _PAYLOAD_KEYS)
    if unknown:
        raise MoveRequestError(f"Unrecognized field '{unknown[0]}'.")
    mapping = payload.get("targetToSourcesMapping")
    if not isinstance(mapping, dict) or not mapping:
        raise MoveRequestError("targetToSourcesMapping must map at least one target to the issues to move.")
    items: list[tuple[str, _Target]] = []
    for key, sources in mapping.items():
        target = _target(store, user, key, sources)
        wanted = sources.get("issueIdsOrKeys")
        if not isinstance(wanted, list) or not wanted or not all(isinstance(w, str) and w for w in wanted):
            raise MoveRequestError(f"issueIdsOrKeys of the target '{key}' must be a non-empty list of issue ids or "
                                   "keys.")
        items += [(w.strip(), target) for w in wanted]
    if len(items) > MAX_ISSUES:
        raise MoveRequestError(f"You can't move more than {MAX_ISSUES} issues at once.")
    with store.lock:
        tasks = _TASKS.setdefault(store, {})
        task_id = str(10000 + len(tasks) + 1)
        tasks[task_id] = MoveTask(task_id, user, _millis(store), items)
        return tasks[task_id]


def task(store: Store, task_id: str, user: SandboxUser) -> MoveTask | None:
    """The task ``task_id`` if ``user`` submitted it."""
    found = _TASKS.get(store, {}).get(task_id)
    return found if found is not None and found.user is user else None


def advance(store: Store, move: MoveTask) -> None:
    """One poll's worth of work: start the task, or move the next share of its issues."""
    with store.lock:
        if move.status == "ENQUEUED":
            move.status, move.started = "RUNNING", _millis(store)
        elif move.status == "RUNNING":
            step = max(1, math.ceil(len(move.items) / _STEPS))
            moving = {id_or_key.upper() for id_or_key, _ in move.items}
            for id_or_key, target in move.items[move.done: move.done + step]:
                _move_one(store, move, id_or_key, target, moving)
            move.done = min(len(move.items), move.done + step)
            if move.done == len(move.items):
                move.status = "COMPLETE"
        move.updated = _millis(store)


def _move_one(store: Store, move: MoveTask, id_or_key: str, target: _Target, moving: set[str]) -> None:
    issue = store.get_issue(id_or_key, move.user)
    if issue is None:
        move.invalid += 1
        return
    if issue.id in move.processed:
        return  # already moved with its parent
    problem = _problem(store, move.user, issue, target, moving)
    if problem:
        move.failed[str(issue.id)] = [problem]
        return
    parent = target.parent or (store.parent_of(issue) if target.issuetype.subtask else None)
    _relocate(store, move.user, issue, target.project, target.issuetype, parent)
    move.processed.append(issue.id)
    if target.with_subtasks and not target.issuetype.subtask:
        subtask_type = next(t for t in store.issue_types if t.subtask)
        for child in store.subtasks_of(issue):
            if child.project_key != target.project.key:
                _relocate(store, move.user, child, target.project, subtask_type, issue)
                move.processed.append(child.id)


def _problem(store: Store, user: SandboxUser, issue: Issue, target: _Target, moving: set[str]) -> str | None:
    """Why ``issue`` cannot go to ``target`` (``None``: it can)."""
    if not user.can_edit(issue.project_key):
        return f"You don't have the Move issues permission in project '{issue.project_key}'."
    if not target.issuetype.subtask:
        return None
    parent = target.parent or store.parent_of(issue)
    if parent is None:
        return f"Issue {issue.key} can't become a sub-task without a parent: give a target parent."
    parent_moves = {str(parent.id), parent.key} & moving
    if parent.project_key != target.project.key and not parent_moves:
        return (f"The parent {parent.key} of sub-task {issue.key} is not in project '{target.project.key}' and is "
                "not moved with it; move the parent too, or give a target parent in that project.")
    return None


def _relocate(store: Store, user: SandboxUser, issue: Issue, project: Project, issuetype: IssueType,
              parent: Issue | None) -> None:
    """Move one issue: new key and project, new type and parent, project-scoped values dropped."""
    items: list[ChangeItem] = []
    if issue.project_key != project.key:
        before = store.project_of(issue)
        old_key = store.rekey(issue, project)
        items += [ChangeItem("project", "jira", before.id, before.name, project.id, project.name),
                  ChangeItem("Key", "jira", None, old_key, None, issue.key)]
        issue.components, issue.fix_versions, issue.affects_versions = [], [], []
    if issue.issuetype is not issuetype:
        items.append(ChangeItem("issuetype", "jira", issue.issuetype.id, issue.issuetype.name, issuetype.id,
                                issuetype.name))
        issue.issuetype = issuetype
    if parent is None:  # a parent above the new level (an epic over a story) stays; a sub-task's does not
        current = store.parent_of(issue)
        keeps = current is not None and current.issuetype.hierarchy_level > issuetype.hierarchy_level >= 0
        parent = current if keeps else None
    if (parent.id if parent is not None else None) != issue.parent_id:
        store.reparent(issue, parent.id if parent is not None else None)
    store.record(issue, user, items)
