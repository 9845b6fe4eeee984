"""Seeded data: determinism, volume, variety and internal consistency."""

from __future__ import annotations

import collections
import random

import pytest
from jiraplug.sandbox import REFERENCE_NOW, Store
from jiraplug.sandbox.richtext import to_plain


def fingerprint(store: Store) -> list[tuple]:
    return [
        (i.key, i.id, i.issuetype.name, i.summary, i.status.name, i.priority.name,
         i.assignee.name if i.assignee else None, i.reporter.name, i.created, i.updated, i.duedate,
         tuple(i.labels), tuple(c.name for c in i.components), tuple(v.name for v in i.fix_versions),
         i.parent_id, i.story_points, tuple(i.sprint_ids),
         to_plain(i.description) if i.description else None,
         tuple((c.id, c.author.name, to_plain(c.body), c.created) for c in i.comments))
        for i in store.issues
    ]


def test_same_seed_gives_identical_data() -> None:
    assert fingerprint(Store.from_seed(7)) == fingerprint(Store.from_seed(7))


def test_different_seeds_give_different_data() -> None:
    a, b = fingerprint(Store.from_seed(1)), fingerprint(Store.from_seed(2))
    assert a != b
    # Not just one field: most issues differ somewhere.
    same = sum(1 for x, y in zip(a, b, strict=False) if x == y)
    assert same < len(a) // 10


def test_generation_leaves_global_random_alone() -> None:
    random.seed(1234)
    expected = random.random()
    random.seed(1234)
    Store.from_seed(3)
    assert random.random() == expected


@pytest.mark.parametrize("seed", [0, 1, 2, 99, 2026])
def test_projects_and_keys(seed: int) -> None:
    store = Store.from_seed(seed)
    assert {"PLAT", "MOB", "OPS"} <= set(store.projects)
    assert store.issue_by_key("PLAT-1") is not None
    for key in store.projects:
        numbers = sorted(i.number for i in store.issues if i.project_key == key)
        assert numbers == list(range(1, len(numbers) + 1)), f"{key} keys are not numbered from 1"
        assert len(numbers) >= 50
    assert 250 <= len(store.issues) <= 350
    assert len({i.id for i in store.issues}) == len(store.issues)


def test_variety() -> None:
    store = Store.from_seed(1)
    issues = store.issues
    types = collections.Counter(i.issuetype.name for i in issues)
    assert set(types) == {"Epic", "Story", "Task", "Bug", "Sub-task"}
    statuses = {(i.status.name, i.status.category.key) for i in issues}
    assert statuses == {("To Do", "new"), ("In Progress", "indeterminate"), ("In Review", "indeterminate"),
                        ("Done", "done")}
    assert len({i.priority.name for i in issues}) == 5
    assert any(i.assignee is None for i in issues) and any(i.assignee is not None for i in issues)
    assert len({i.reporter.name for i in issues}) >= 4
    assert sum(1 for i in issues if i.labels) > len(issues) / 3
    assert sum(1 for i in issues if i.components) > len(issues) / 2
    assert sum(1 for i in issues if i.fix_versions) > len(issues) / 3
    assert sum(1 for i in issues if i.duedate) > len(issues) / 5
    assert sum(len(i.comments) for i in issues) > len(issues) / 2
    assert sum(1 for i in issues if i.story_points is not None) > 50
    assert sum(1 for i in issues if i.links) > 10
    # Descriptions are rich: paragraphs, lists and code blocks all occur.
    kinds = {type(b).__name__ for i in issues if i.description for b in i.description.blocks}
    assert {"Paragraph", "Heading", "BulletList", "OrderedList", "CodeBlock"} <= kinds
    assert any(i.description is None for i in issues)


def test_hierarchy_is_consistent() -> None:
    store = Store.from_seed(1)
    for issue in store.issues:
        parent = store.parent_of(issue)
        if issue.issuetype.subtask:
            assert parent is not None, f"{issue.key} is a sub-task without parent"
            assert not parent.issuetype.subtask and parent.issuetype.name != "Epic"
        elif issue.issuetype.name == "Epic":
            assert parent is None
        elif parent is not None:
            assert parent.issuetype.name == "Epic"
        if parent is not None:
            assert parent.project_key == issue.project_key
            assert parent.number < issue.number
    assert any(store.parent_of(i) for i in store.issues if i.issuetype.name == "Story")


def test_timestamps_are_fixed_and_ordered() -> None:
    store = Store.from_seed(1)
    assert store.now() == REFERENCE_NOW
    for issue in store.issues:
        assert issue.created <= issue.updated <= REFERENCE_NOW
        for comment in issue.comments:
            assert issue.created <= comment.created <= issue.updated
        if issue.status.category.key == "done":
            assert issue.resolution is not None and issue.resolutiondate is not None
        else:
            assert issue.resolution is None
    by_project = collections.defaultdict(list)
    for issue in store.issues:
        by_project[issue.project_key].append(issue)
    for items in by_project.values():
        items.sort(key=lambda i: i.number)
        assert [i.created for i in items] == sorted(i.created for i in items)


def test_users() -> None:
    store = Store.from_seed(1)
    users = store.users
    assert 4 <= len(users) <= 6
    assert store.default_user is users[0] and users[0].projects is None
    restricted = [u for u in users if u.projects]
    assert len(restricted) == 1 and restricted[0].projects == {"MOB", "PLAT"}
    # The service desk's customer-only account (no Jira licence) browses no project at all.
    customers = [u for u in users if u.projects == frozenset()]
    assert [u.name for u in customers] == ["frank"] and not any(customers[0].can_browse(p) for p in store.projects)
    assert restricted[0].edit_projects == {"MOB"}
    assert restricted[0].can_browse("PLAT") and not restricted[0].can_edit("PLAT") and restricted[0].can_edit("MOB")
    assert not restricted[0].can_browse("OPS")
    for attr in ("account_id", "name", "email", "api_token", "personal_token"):
        assert len({getattr(u, attr) for u in users}) == len(users)
    # The restricted user only works on (is assigned, reports, logs work in) the project they may edit.
    only = restricted[0]
    for issue in store.issues:
        if only in (issue.assignee, issue.reporter) or any(w.author is only for w in issue.worklogs):
            assert only.can_edit(issue.project_key)


def extras(store: Store) -> list[tuple]:
    return [(i.key, tuple(u.name for u in i.watchers), i.severity, i.original_estimate, i.remaining_estimate,
             tuple((w.id, w.author.name, w.time_spent_seconds, w.started) for w in i.worklogs),
             tuple((a.id, a.filename, a.mime_type, a.content) for a in i.attachments),
             tuple((r.id, r.url, r.title) for r in i.remote_links))
            for i in store.issues]


def test_extras_are_deterministic_and_varied() -> None:
    assert extras(Store.from_seed(5)) == extras(Store.from_seed(5))
    assert extras(Store.from_seed(5)) != extras(Store.from_seed(6))
    store = Store.from_seed(1)
    issues = store.issues
    assert sum(len(i.worklogs) for i in issues) > 100
    assert sum(1 for i in issues if i.remote_links) >= 10
    assert all(i.reporter in i.watchers for i in issues)
    assert {i.severity for i in issues if i.issuetype.name == "Bug"} >= {"10040", "10041", "10042", "10043"}
    assert all(i.severity is None for i in issues if i.issuetype.name != "Bug")
    mimes = {a.mime_type for i in issues for a in i.attachments}
    assert {"image/png", "text/plain", "application/json"} <= mimes
    for issue in issues:
        for worklog in issue.worklogs:
            assert issue.created <= worklog.started <= issue.updated and worklog.time_spent_seconds % 900 == 0
        if issue.original_estimate is not None and issue.status.category.key == "done":
            assert issue.remaining_estimate == 0
        for attachment in issue.attachments:
            assert issue.created <= attachment.created <= issue.updated and attachment.size > 0


def test_extras_do_not_change_the_issues() -> None:
    """Extras draw from their own random stream: the seeded issues are what they were before."""
    from jiraplug.sandbox.data import _Ids, _make_issues, _make_projects
    from jiraplug.sandbox import reference as ref

    rng = random.Random(1)
    ids = _Ids()
    users = list(ref.USERS)
    projects = _make_projects(rng, ids, {u.name: u for u in users})
    plain = [i for p in projects for i in _make_issues(rng, ids, p, users)]
    seeded = Store.from_seed(1).issues
    assert [(i.key, i.summary, i.status.name, i.updated) for i in plain] == \
        [(i.key, i.summary, i.status.name, i.updated) for i in seeded]


def test_boards_and_sprints() -> None:
    store = Store.from_seed(1)
    assert [(b.id, b.type, b.project_key) for b in store.boards.values()] == [
        (1, "scrum", "PLAT"), (2, "scrum", "MOB"), (3, "scrum", "OPS"), (4, "kanban", "OPS")]
    for board in (b for b in store.boards.values() if b.type == "scrum"):
        states = [s.state for s in store.sprints_of_board(board.id)]
        assert states == ["closed", "closed", "closed", "active", "future"]
    assert store.sprints_of_board(4) == []
