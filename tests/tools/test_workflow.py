"""Transitions, comments and worklogs through an MCP client, against the sandbox."""

from __future__ import annotations

from typing import Any

import pytest

from jiraplug.sandbox import SandboxServer
from tests.tools.helpers import call, call_error, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    with SandboxServer(flavour=request.param, seed=11, port=0) as sb:
        yield sb


async def test_transition_by_name_and_by_id_with_comment(sandbox: Any) -> None:
    issue = next(i for i in sandbox.state.issues if i.status.name == "To Do" and i.project_key == "PLAT")
    async with connect(sandbox) as client:
        listed = await call(client, "jira_get_transitions", issue_key=issue.key)
        forward = next(t for t in listed["transitions"] if t["to"] == "In Progress")
        moved = await call(client, "jira_transition_issue", issue_key=issue.key, transition=forward["name"],
                           comment="Starting **now**")
        assert moved["status"] == "In Progress" and issue.status.name == "In Progress"
        assert "now" in (await call(client, "jira_get_comments", issue_key=issue.key, newest_first=True))[
            "comments"][0]["body"]
        again = await call(client, "jira_get_transitions", issue_key=issue.key)
        back = again["transitions"][0]
        await call(client, "jira_transition_issue", issue_key=issue.key, transition=back["id"])
        assert issue.status.name == back["to"]
        wrong = await call_error(client, "jira_transition_issue", issue_key=issue.key, transition="Teleport")
    assert "no transition 'Teleport'" in wrong and "available:" in wrong


async def test_comments_add_edit_delete_roundtrip_markdown(sandbox: Any) -> None:
    key = "OPS-2"
    stored = sandbox.state.issue_by_key(key)
    async with connect(sandbox) as client:
        added = await call(client, "jira_add_comment", issue_key=key, body="Looks **good**, see `make test`")
        assert "**good**" in added["body"] and "`make test`" in added["body"]
        assert any(c.id == int(added["id"]) or str(c.id) == added["id"] for c in stored.comments)
        edited = await call(client, "jira_edit_comment", issue_key=key, comment_id=added["id"], body="Changed")
        assert edited["body"].strip() == "Changed"
        listed = await call(client, "jira_get_comments", issue_key=key, limit=100)
        assert any(c["id"] == added["id"] and c["body"].strip() == "Changed" for c in listed["comments"])
        await call(client, "jira_delete_comment", issue_key=key, comment_id=added["id"])
        after = await call(client, "jira_get_comments", issue_key=key, limit=100)
        assert all(c["id"] != added["id"] for c in after["comments"])
        bad = await call_error(client, "jira_edit_comment", issue_key=key, comment_id="abc", body="x")
    assert "not valid" in bad


async def test_worklogs_add_update_delete(sandbox: Any) -> None:
    key = "MOB-4"
    async with connect(sandbox) as client:
        added = await call(client, "jira_add_worklog", issue_key=key, time_spent="1h 30m",
                           started="2026-11-19T09:00:00+00:00", comment="pairing")
        assert added["seconds"] == 5400 and added["time_spent"] in ("1h 30m", "1.5h")
        updated = await call(client, "jira_update_worklog", issue_key=key, worklog_id=added["id"], time_spent="2h")
        assert updated["seconds"] == 7200
        listed = await call(client, "jira_get_worklogs", issue_key=key, limit=100)
        assert any(w["id"] == added["id"] and w["seconds"] == 7200 for w in listed["worklogs"])
        await call(client, "jira_delete_worklog", issue_key=key, worklog_id=added["id"])
        after = await call(client, "jira_get_worklogs", issue_key=key, limit=100)
        assert all(w["id"] != added["id"] for w in after["worklogs"])
        bad = await call_error(client, "jira_add_worklog", issue_key=key, time_spent="an hour")
    assert "not a Jira duration" in bad and "1h 30m" in bad
