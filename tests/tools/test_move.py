"""``jira_move_issues`` through the MCP client: Cloud's bulk move against the sandbox, a refusal on Data Center."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from mcp import Client

from jiraplug.bootstrap import bootstrap
from jiraplug.clock import ManualClock
from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.model import Issue
from jiraplug.server.build import build_server
from tests.conftest import sandbox_environ
from tests.spec_contract import SpecContract
from tests.tools.helpers import call, call_error, connect, result_data

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh Cloud sandbox per test: these tests move issues."""
    with SandboxServer(flavour="cloud", seed=5, port=0) as server:
        yield server


def _issues(sandbox: SandboxServer, project: str, kind: str, count: int, **where: Any) -> list[Issue]:
    state = sandbox.state
    found = [i for i in state.issues if i.project_key == project and i.issuetype.name == kind
             and all(getattr(i, k) == v for k, v in where.items())]
    return found[:count]


async def test_a_move_changes_project_type_and_key_and_reports_progress(sandbox: SandboxServer) -> None:
    state = sandbox.state
    tasks = _issues(sandbox, "MOB", "Task", 2)
    story = next(i for i in state.issues if i.project_key == "MOB" and i.issuetype.name == "Story"
                 and state.subtasks_of(i))
    subtask = state.subtasks_of(story)[0]
    moving = [*tasks, story]
    old_keys = [i.key for i in moving]
    plat_before = state.projects["PLAT"].last_issue_number
    updates: list[tuple[float, float | None, str | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        updates.append((done, total, message))

    contract = SpecContract("cloud")
    async with connect(sandbox, plugins={"spec_contract": contract}) as client:
        result = result_data(await client.call_tool("jira_move_issues", {
            "issue_keys": [k.lower() for k in old_keys], "project_key": "plat", "issue_type": "Bug"},
            progress_callback=progress))
        by_old_key = await call(client, "jira_get_issue", issue_key=old_keys[0], fields="project,issuetype")
    contract.assert_clean(at_least=5)  # the move and its polls are requests the Cloud spec allows

    assert result["status"] == "COMPLETE" and result["progress_percent"] == 100
    rows = {row.get("key", row.get("id")): row for row in result["issues"]}
    for issue, old in zip(moving, old_keys, strict=True):
        assert issue.project_key == "PLAT" and issue.issuetype.name == "Bug" and issue.key.startswith("PLAT-")
        assert int(issue.key.split("-")[1]) > plat_before
        assert rows[old] == {"key": old, "outcome": "moved", "new_key": issue.key, "issue_type": "Bug"}
    # The story's sub-task went with it, and is reported although it was not named.
    assert subtask.project_key == "PLAT" and subtask.parent_id == story.id and subtask.issuetype.subtask
    assert rows[str(subtask.id)] == {"id": str(subtask.id), "outcome": "moved", "with_parent": True,
                                     "new_key": subtask.key, "issue_type": subtask.issuetype.name}
    assert by_old_key["key"] == moving[0].key  # an old key still leads to the issue, as in Jira
    # Progress went from 0 to 100 over several polls, always growing (as MCP requires).
    done = [d for d, _, _ in updates]
    assert done[0] == 0 and done[-1] == 100 and len(done) >= 3 and done == sorted(set(done))
    assert all(total == 100 for _, total, _ in updates) and "Jira task" in (updates[-1][2] or "")


async def test_a_type_change_keeps_the_project_and_key(sandbox: SandboxServer) -> None:
    bug = _issues(sandbox, "MOB", "Bug", 1)[0]
    key = bug.key
    async with connect(sandbox) as client:
        result = await call(client, "jira_move_issues", issue_keys=[key], issue_type="story", timeout_seconds=60)
    assert result["issues"] == [{"key": key, "outcome": "moved", "new_key": key, "issue_type": "Story"}]
    assert bug.key == key and bug.project_key == "MOB" and bug.issuetype.name == "Story"


async def test_each_issue_gets_its_own_outcome(sandbox: SandboxServer) -> None:
    """A sub-task moved without its parent fails with Jira's reason; the rest moves; a missing key is named."""
    state = sandbox.state
    task = next(i for i in _issues(sandbox, "MOB", "Task", 50) if not state.subtasks_of(i))
    orphan = next(i for i in state.issues if i.project_key == "MOB" and i.issuetype.subtask)
    orphan_parent = state.parent_of(orphan)
    assert orphan_parent is not None
    task_key = task.key
    async with connect(sandbox) as client:
        result = await call(client, "jira_move_issues", issue_keys=[task_key, orphan.key, "MOB-99999"],
                            project_key="PLAT")
    rows = {row["key"]: row for row in result["issues"]}
    assert rows[task_key]["outcome"] == "moved" and task.project_key == "PLAT"
    assert rows[orphan.key]["outcome"] == "failed" and orphan.project_key == "MOB"
    assert orphan_parent.key in rows[orphan.key]["error"] and "parent" in rows[orphan.key]["error"]
    assert rows["MOB-99999"]["outcome"] == "inaccessible" and "does not exist" in rows["MOB-99999"]["error"]


async def test_an_issue_the_caller_may_not_move_fails_alone(sandbox: SandboxServer) -> None:
    """Erin browses PLAT but works in MOB only: her PLAT issue fails in Jira, her MOB issue moves."""
    erin = next(u for u in sandbox.state.users if u.name == "erin")
    plat, mob = _issues(sandbox, "PLAT", "Task", 1)[0], _issues(sandbox, "MOB", "Story", 1)[0]
    plat_key, mob_key = plat.key, mob.key
    async with connect(sandbox, JIRA_USERNAME=erin.email, JIRA_API_TOKEN=erin.api_token) as client:
        result = await call(client, "jira_move_issues", issue_keys=[plat_key, mob_key], project_key="MOB",
                            issue_type="Bug")
    rows = {row["key"]: row for row in result["issues"]}
    assert rows[plat_key]["outcome"] == "failed" and "permission in project 'PLAT'" in rows[plat_key]["error"]
    assert plat.key == plat_key and plat.issuetype.name == "Task"
    assert rows[mob_key]["outcome"] == "moved" and mob.issuetype.name == "Bug" and mob.key == mob_key


async def test_jira_refusing_the_whole_move_is_a_clear_error(sandbox: SandboxServer) -> None:
    task = _issues(sandbox, "MOB", "Task", 1)[0]
    async with connect(sandbox) as client:
        no_type = await call_error(client, "jira_move_issues", issue_keys=[task.key], project_key="PLAT",
                                   issue_type="Unicorn")
        nothing = await call_error(client, "jira_move_issues", issue_keys=[task.key])
    assert "no issue type 'Unicorn'" in no_type and "Bug" in no_type
    assert "nothing to move to" in nothing and task.project_key == "MOB"


async def test_a_move_that_outlasts_the_timeout_says_so_and_goes_on(sandbox: SandboxServer) -> None:
    """The wait is bounded: past ``timeout_seconds`` the tool answers with the task still running."""
    issues = _issues(sandbox, "MOB", "Task", 3)
    clock = ManualClock()
    app = bootstrap(environ=sandbox_environ(sandbox))
    async with Client(build_server(app.settings, app.plugins, clock=clock), cache=None) as client:
        started = clock.monotonic()
        result = await call(client, "jira_move_issues", issue_keys=[i.key for i in issues], project_key="PLAT",
                            timeout_seconds=1)
    assert clock.monotonic() - started == pytest.approx(1.0)
    assert result["status"] == "RUNNING" and 0 < result["progress_percent"] < 100
    assert {row["outcome"] for row in result["issues"]} == {"pending"} and "jira_get_issue" in result["note"]
    assert any(i.project_key == "PLAT" for i in issues) and any(i.project_key == "MOB" for i in issues)


async def test_data_center_has_no_bulk_move_and_the_tool_says_what_to_do(dc_sandbox: SandboxServer) -> None:
    key = next(i.key for i in dc_sandbox.state.issues if i.project_key == "MOB")
    async with connect(dc_sandbox) as client:
        error = await call_error(client, "jira_move_issues", issue_keys=[key], project_key="PLAT")
    assert "Data Center has no API to move issues" in error and "Move" in error and "jira_clone_issue" in error
    assert dc_sandbox.state.issue_by_key(key).project_key == "MOB"


async def test_read_only_mode_hides_the_move(cloud_sandbox: SandboxServer) -> None:
    async with connect(cloud_sandbox, READ_ONLY_MODE="true") as client:
        names = {t.name for t in (await client.list_tools()).tools}
        refused = await client.call_tool("jira_move_issues", {"issue_keys": ["MOB-1"], "project_key": "PLAT"})
    assert "jira_search" in names and "jira_move_issues" not in names and refused.is_error
    async with connect(cloud_sandbox) as client:
        move = next(t for t in (await client.list_tools()).tools if t.name == "jira_move_issues")
    assert move.annotations is not None and move.annotations.destructive_hint and not move.annotations.read_only_hint


async def test_the_projects_filter_refuses_a_move_out_of_it_or_into_another_project(sandbox: SandboxServer) -> None:
    mob, plat = _issues(sandbox, "MOB", "Task", 1)[0], _issues(sandbox, "PLAT", "Task", 1)[0]
    mob_key, plat_key = mob.key, plat.key
    async with connect(sandbox, JIRA_PROJECTS_FILTER="MOB") as client:
        out = await call_error(client, "jira_move_issues", issue_keys=[mob_key], project_key="PLAT")
        source = await call_error(client, "jira_move_issues", issue_keys=[plat_key], issue_type="Bug")
        inside = await call(client, "jira_move_issues", issue_keys=[mob_key], issue_type="Bug")
    assert "outside the projects this server may access" in out and "outside" in source
    assert mob.project_key == "MOB" and plat.key == plat_key and plat.issuetype.name == "Task"
    assert inside["issues"][0]["outcome"] == "moved" and mob.issuetype.name == "Bug"


async def test_a_key_from_before_a_move_out_of_the_filter_is_refused_unnamed(sandbox: SandboxServer) -> None:
    """MOB-n moved to PLAT keeps leading there: a server restricted to MOB refuses it, naming only MOB-n."""
    mob = _issues(sandbox, "MOB", "Task", 1)[0]
    old_key = mob.key
    async with connect(sandbox) as client:
        await call(client, "jira_move_issues", issue_keys=[old_key], project_key="PLAT")
    async with connect(sandbox, JIRA_PROJECTS_FILTER="MOB") as client:
        error = await call_error(client, "jira_move_issues", issue_keys=[old_key], issue_type="Bug")
    assert "outside the projects" in error and old_key in error and mob.key not in error
    assert mob.project_key == "PLAT" and mob.issuetype.name == "Task"


async def test_a_move_jira_refuses_whole_shows_jiras_reason(sandbox: SandboxServer) -> None:
    """The bulk API answers 400 as ``{"errors": [{"message"}]}``, not Jira's usual shape: its words still show."""
    erin = next(u for u in sandbox.state.users if u.name == "erin")
    mob = _issues(sandbox, "MOB", "Task", 1)[0]
    async with connect(sandbox, JIRA_USERNAME=erin.email, JIRA_API_TOKEN=erin.api_token) as client:
        error = await call_error(client, "jira_move_issues", issue_keys=[mob.key], project_key="PLAT")
    assert "permission to create issues in the target project 'PLAT'" in error and mob.project_key == "MOB"
