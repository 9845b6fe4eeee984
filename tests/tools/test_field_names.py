"""Fields asked for by name (issue 14, point 1): resolved to ids through the field list, once per credential."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from jiraplug.sandbox import SandboxServer
from tests.tools.helpers import call, call_error, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(flavour=request.param, seed=7, port=0) as sb:
        yield sb


def _with_points(sandbox: SandboxServer) -> str:
    """An issue with story points, in a project that has a board."""
    boarded = {board.project_key for board in sandbox.state.boards.values()}
    return next(i.key for i in sandbox.state.issues if i.story_points is not None and i.project_key in boarded)


def _field_reads(sandbox: SandboxServer) -> int:
    return sum(1 for record in sandbox.request_log.snapshot() if record.path.endswith("/field"))


async def test_custom_field_by_name_is_shown_in_every_issue_tool(sandbox: SandboxServer) -> None:
    key = _with_points(sandbox)
    issue = sandbox.state.issue_by_key(key)
    points, project = issue.story_points, issue.project_key
    board_id = min(b.id for b in sandbox.state.boards.values() if b.project_key == project)
    async with connect(sandbox) as client:
        by_name = await call(client, "jira_get_issue", issue_key=key, fields="summary,story points")
        by_id = await call(client, "jira_get_issue", issue_key=key, fields="summary,customfield_10016")
        found = await call(client, "jira_search", jql=f"key = {key}", fields="Summary,Story Points")
        board = await call(client, "jira_get_board_issues", board_id=board_id, jql=f"key = {key}",
                           fields="Story Points,status")
    assert by_name["Story Points"] == by_id["Story Points"] == points
    assert by_name["summary"] and "customfield_10016" not in by_name
    assert found["issues"][0]["Story Points"] == points and found["issues"][0]["summary"]
    assert board["issues"][0]["Story Points"] == points and board["issues"][0]["status"]
    # One field list read for all of these calls (one credential), none per call.
    assert _field_reads(sandbox) == 1


async def test_ids_alone_need_no_field_list(sandbox: SandboxServer) -> None:
    key = _with_points(sandbox)
    async with connect(sandbox) as client:
        issue = await call(client, "jira_get_issue", issue_key=key, fields="summary,status,-comment")
    assert issue["summary"] and issue["status"]
    assert _field_reads(sandbox) == 0


async def test_unknown_and_ambiguous_names_are_clear_errors(sandbox: SandboxServer) -> None:
    key = _with_points(sandbox)
    async with connect(sandbox) as client:
        unknown = await call_error(client, "jira_search", jql=f"key = {key}", fields="summary,Story Pionts")
        shared = await call_error(client, "jira_get_issue", issue_key=key, fields="team")
        chosen = await call(client, "jira_get_issue", issue_key=key, fields="summary,customfield_10057")
    assert "unknown field 'Story Pionts'" in unknown and "'Story Points'" in unknown and "fields" in unknown
    assert "'team'" in shared and "customfield_10056" in shared and "customfield_10057" in shared
    assert chosen["summary"]
