"""The ``agile`` toolset (boards, sprints, backlog) through the MCP client, against the sandbox."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from jiraplug.plugins.toolsets import agile
from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.model import Sprint
from tests.tools.helpers import call, call_error, connect, tool_names
from tests.tools.test_watchers import Recorder

pytestmark = pytest.mark.anyio

WRITE_TOOLS = {"jira_create_sprint", "jira_update_sprint", "jira_start_sprint", "jira_close_sprint",
               "jira_add_issues_to_sprint", "jira_move_issues_to_backlog"}
FROZEN = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


@pytest.fixture(params=["cloud", "dc"])
def shared(request: pytest.FixtureRequest, cloud_sandbox: SandboxServer, dc_sandbox: SandboxServer) -> SandboxServer:
    return cloud_sandbox if request.param == "cloud" else dc_sandbox


@pytest.fixture(scope="module", params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox of each flavour for this module's writes (tests touch different objects)."""
    with SandboxServer(flavour=request.param, seed=4, port=0) as server:
        yield server


def sprint_of(sandbox: SandboxServer, project: str, state: str) -> Sprint:
    return next(s for s in sandbox.state.sprints.values() if s.project_key == project and s.state == state)


async def test_list_boards_with_filters_and_pages(shared: SandboxServer) -> None:
    boards = sorted(shared.state.boards.values(), key=lambda b: b.id)
    async with connect(shared) as client:
        everything = await call(client, "jira_list_boards")
        kanban = await call(client, "jira_list_boards", board_type="kanban")
        plat = await call(client, "jira_list_boards", project_key="PLAT")
        first = await call(client, "jira_list_boards", limit=1)
        second = await call(client, "jira_list_boards", limit=1, start_at=first["next_start_at"])
    assert [(b["id"], b["name"], b["type"], b["project"]) for b in everything["boards"]] == [
        (b.id, b.name, b.type, b.project_key) for b in boards
    ]
    assert everything["next_start_at"] is None
    assert [b["name"] for b in kanban["boards"]] == [b.name for b in boards if b.type == "kanban"]
    assert {b["project"] for b in plat["boards"]} == {"PLAT"}
    assert first["next_start_at"] == 1 and first["boards"][0]["id"] != second["boards"][0]["id"]


async def test_board_issues_with_jql(shared: SandboxServer) -> None:
    board = shared.state.board_of_project("PLAT")
    bugs = {i.key for i in shared.state.issues if i.project_key == "PLAT" and i.issuetype.name == "Bug"}
    async with connect(shared) as client:
        page = await call(client, "jira_get_board_issues", board_id=board.id, jql="issuetype = Bug", limit=100)
    assert {i["key"] for i in page["issues"]} == bugs
    assert all(i["issuetype"] == "Bug" and "status" in i for i in page["issues"])


async def test_sprints_of_a_board_and_their_issues(shared: SandboxServer) -> None:
    board = shared.state.board_of_project("MOB")
    active = sprint_of(shared, "MOB", "active")
    in_sprint = {i.key for i in shared.state.issues_in_sprint(active.id, shared.default_user)}
    async with connect(shared) as client:
        every = await call(client, "jira_list_sprints", board_id=board.id)
        only_active = await call(client, "jira_list_sprints", board_id=board.id, state="active")
        issues = await call(client, "jira_get_sprint_issues", sprint_id=active.id, limit=100)
        bad_state = await call_error(client, "jira_list_sprints", board_id=board.id, state="running")
    assert [s["id"] for s in every["sprints"]] == [s.id for s in shared.state.sprints_of_board(board.id)]
    assert [s["id"] for s in only_active["sprints"]] == [active.id]
    assert only_active["sprints"][0]["state"] == "active" and only_active["sprints"][0]["board_id"] == board.id
    assert {i["key"] for i in issues["issues"]} == in_sprint
    assert "unknown sprint state running" in bad_state and "future, active, closed" in bad_state


async def test_sprint_lifecycle(sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agile, "now", lambda: FROZEN)
    board = sandbox.state.board_of_project("PLAT")
    running = sprint_of(sandbox, "PLAT", "active")
    async with connect(sandbox) as client:
        created = await call(client, "jira_create_sprint", board_id=board.id, name="PLAT Sprint X",
                             goal="Ship it")
        new = sandbox.state.sprints[created["id"]]
        assert (new.name, new.state, new.board_id, new.goal) == ("PLAT Sprint X", "future", board.id, "Ship it")
        updated = await call(client, "jira_update_sprint", sprint_id=created["id"], goal="Ship it well",
                             end_date="2026-12-11")
        not_yet = await call_error(client, "jira_close_sprint", sprint_id=created["id"])
        await call(client, "jira_close_sprint", sprint_id=running.id)
        started = await call(client, "jira_start_sprint", sprint_id=created["id"])
        again = await call_error(client, "jira_start_sprint", sprint_id=created["id"])
        closed = await call(client, "jira_close_sprint", sprint_id=created["id"])
    assert updated["goal"] == "Ship it well" and new.goal == "Ship it well"
    assert "only an active sprint can be closed" in not_yet
    assert sandbox.state.sprints[running.id].state == "closed"
    assert started["state"] == "active"
    # the end set earlier is kept; the start defaults to "now"
    assert new.start == FROZEN and new.end == dt.datetime(2026, 12, 11, tzinfo=dt.UTC)
    assert "only a future sprint can be started" in again
    assert closed["state"] == "closed" and new.state == "closed"


async def test_start_defaults_to_two_weeks_and_checks_dates(sandbox: SandboxServer,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(agile, "now", lambda: FROZEN)
    board = sandbox.state.board_of_project("MOB")
    async with connect(sandbox) as client:
        backwards = await call_error(client, "jira_create_sprint", board_id=board.id, name="B",
                                     start_date="2026-12-10", end_date="2026-12-01")
        garbage = await call_error(client, "jira_create_sprint", board_id=board.id, name="B", start_date="soon")
        await call(client, "jira_close_sprint", sprint_id=sprint_of(sandbox, "MOB", "active").id)
        future = sprint_of(sandbox, "MOB", "future")
        future.start = future.end = None
        await call(client, "jira_start_sprint", sprint_id=future.id)
    assert "not after start_date" in backwards and "not an ISO date" in garbage
    assert not any(s.name == "B" for s in sandbox.state.sprints.values())
    assert future.state == "active" and future.start == FROZEN and future.end == FROZEN + dt.timedelta(days=14)


async def test_add_issues_to_a_sprint_and_move_them_to_the_backlog(sandbox: SandboxServer) -> None:
    future = sprint_of(sandbox, "OPS", "future")
    keys = [i.key for i in sandbox.state.issues if i.project_key == "OPS" and not i.issuetype.subtask
            and i.issuetype.name != "Epic" and future.id not in i.sprint_ids][:3]
    recorder = Recorder()
    async with connect(sandbox, plugins={"recorder": recorder}) as client:
        added = await call(client, "jira_add_issues_to_sprint", sprint_id=future.id, issue_keys=keys)
        in_sprint = [future.id in sandbox.state.issue_by_key(k).sprint_ids for k in keys]
        moved = await call(client, "jira_move_issues_to_backlog", issue_keys=keys[:2])
        bad = await call_error(client, "jira_add_issues_to_sprint", sprint_id=future.id, issue_keys=["nope"])
    open_ids = sandbox.state.open_sprint_ids()
    assert added == {"sprint_id": future.id, "moved": keys} and all(in_sprint)
    assert moved == {"moved_to_backlog": keys[:2]}
    assert all(not open_ids & set(sandbox.state.issue_by_key(k).sprint_ids) for k in keys[:2])
    assert future.id in sandbox.state.issue_by_key(keys[2]).sprint_ids
    assert "not an issue key" in bad
    writes = {info.operation: info for info in recorder.seen if not info.read_only}
    # a moved issue leaves its old sprint too, so every sprint and board view may change
    assert set(writes["sprint.add_issues"].touches) == {"sprint:*", "board:*", *(f"issue:{k}" for k in keys)}
    assert set(writes["backlog.move_issues"].touches) == {"sprint:*", "board:*", *(f"issue:{k}" for k in keys[:2])}


async def test_projects_filter_confines_boards_sprints_and_jql(sandbox: SandboxServer) -> None:
    plat_board = sandbox.state.board_of_project("PLAT")
    ops_board = sandbox.state.board_of_project("OPS")
    ops_sprint = sprint_of(sandbox, "OPS", "future")
    async with connect(sandbox, JIRA_PROJECTS_FILTER="PLAT") as client:
        boards = await call(client, "jira_list_boards")
        escape = await call(client, "jira_get_board_issues", board_id=plat_board.id,
                            jql="project = OPS OR project = PLAT ORDER BY key", limit=100)
        refused = [
            await call_error(client, "jira_get_board_issues", board_id=ops_board.id),
            await call_error(client, "jira_list_sprints", board_id=ops_board.id),
            await call_error(client, "jira_get_sprint_issues", sprint_id=ops_sprint.id),
            await call_error(client, "jira_create_sprint", board_id=ops_board.id, name="x"),
            await call_error(client, "jira_update_sprint", sprint_id=ops_sprint.id, name="x"),
            await call_error(client, "jira_start_sprint", sprint_id=ops_sprint.id),
            await call_error(client, "jira_add_issues_to_sprint", sprint_id=ops_sprint.id, issue_keys=["PLAT-1"]),
            await call_error(client, "jira_move_issues_to_backlog", issue_keys=["OPS-1"]),
        ]
    assert {b["project"] for b in boards["boards"]} == {"PLAT"}
    assert escape["issues"] and {i["key"].split("-")[0] for i in escape["issues"]} == {"PLAT"}
    assert all("outside the projects" in text for text in refused), refused
    assert ops_sprint.state == "future" and ops_sprint.name != "x"


async def test_read_only_mode_hides_sprint_changes(shared: SandboxServer) -> None:
    async with connect(shared, READ_ONLY_MODE="true") as client:
        names = await tool_names(client)
    assert {"jira_list_boards", "jira_get_board_issues", "jira_list_sprints", "jira_get_sprint_issues"} <= names
    assert not WRITE_TOOLS & names
