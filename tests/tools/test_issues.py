"""The issues toolset through an MCP client, against the sandbox (Cloud and DC)."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest

from jiraplug import hookimpl
from jiraplug.sandbox import SandboxServer
from tests.tools.helpers import call, call_error, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest):  # type: ignore[no-untyped-def]
    """A fresh sandbox per test: these tests write."""
    with SandboxServer(flavour=request.param, seed=7, port=0) as sb:
        yield sb


async def test_search_returns_compact_issues_and_pages(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        first = await call(client, "jira_search", jql="project = MOB ORDER BY key ASC", limit=5)
        assert len(first["issues"]) == 5 and first["next_page_token"]
        issue = first["issues"][0]
        assert issue["key"].startswith("MOB-") and isinstance(issue["status"], str)
        second = await call(client, "jira_search", jql="project = MOB ORDER BY key ASC", limit=5,
                            page_token=first["next_page_token"])
    keys = [i["key"] for i in first["issues"] + second["issues"]]
    assert len(set(keys)) == 10


async def test_large_search_reports_progress(sandbox: Any) -> None:
    updates: list[tuple[float, float | None]] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        updates.append((done, total))

    async with connect(sandbox) as client:
        result = await client.call_tool("jira_search", {"jql": "project = PLAT", "limit": 250,
                                                        "fields": "summary"}, progress_callback=progress)
    assert not result.is_error
    count = len(result.structured_content["issues"])
    assert count > 100
    assert updates and updates[-1][0] == count and len(updates) >= 2


async def test_get_issue_with_comments_and_changelog(sandbox: Any) -> None:
    key = next(i.key for i in sandbox.state.issues if i.comments and i.changelog)
    async with connect(sandbox) as client:
        issue = await call(client, "jira_get_issue", issue_key=key, comment_limit=1, changelog=True)
    assert issue["key"] == key
    assert len(issue["comment"]) == 1 and isinstance(issue["comment"][0]["body"], str)
    assert issue["changelog"] and {"field", "from", "to", "at", "by"} <= set(issue["changelog"][0])


async def test_get_issue_shows_the_latest_comments_oldest_first_and_how_many_there_are(sandbox: Any) -> None:
    """The latest few come from the comment list, so a long-lived issue's answer stays small."""
    key = next(i.key for i in sandbox.state.issues if i.key.startswith("PLAT-") and not i.comments)
    async with connect(sandbox) as client:
        for n in range(1, 8):
            await call(client, "jira_add_comment", issue_key=key, body=f"note {n}")
        issue = await call(client, "jira_get_issue", issue_key=key, comment_limit=3)
        everything = await call(client, "jira_get_issue", issue_key=key, comment_limit=10)
        none = await call(client, "jira_get_issue", issue_key=key, comment_limit=0)
        embedded = await call(client, "jira_get_issue", issue_key=key, fields="summary,comment", comment_limit=2)
    assert [c["body"] for c in issue["comment"]] == ["note 5", "note 6", "note 7"]
    assert issue["comment_total"] == 7 and issue["summary"]
    assert [c["body"] for c in everything["comment"]] == [f"note {n}" for n in range(1, 8)]
    assert "comment_total" not in everything  # all of them are shown
    assert "comment" not in none and "comment_total" not in none
    # Asking for the comment field by name still works (Jira embeds them; the latest are kept).
    assert [c["body"] for c in embedded["comment"]] == ["note 6", "note 7"]


class CommentListFails:
    """A plugin whose middleware answers 503 to every comment-list read (Jira's comments broken)."""

    @hookimpl
    def jira_request_middleware(self, runtime):  # type: ignore[no-untyped-def]
        def wrap(send):  # type: ignore[no-untyped-def]
            async def failing(request: httpx2.Request) -> httpx2.Response:
                if request.method == "GET" and request.url.path.endswith("/comment"):
                    return httpx2.Response(503, json={"errorMessages": ["Comments are unavailable."]},
                                           request=request)
                return await send(request)

            return failing

        return wrap


async def test_get_issue_still_shows_the_issue_when_its_comments_cannot_be_read(sandbox: Any) -> None:
    key = next(i.key for i in sandbox.state.issues if i.comments)
    async with connect(sandbox, plugins={"comment_list_fails": CommentListFails()},
                       JIRAPLUG_DISABLE_PLUGINS="ratelimit") as client:
        issue = await call(client, "jira_get_issue", issue_key=key)
    assert issue["key"] == key and issue["summary"] and "comment" not in issue
    assert "503" in issue["comment_error"] and "comment.list" in issue["comment_error"]


async def test_get_issue_of_a_missing_issue_names_the_issue_read(sandbox: Any) -> None:
    async with connect(sandbox) as client:
        for _ in range(5):  # both requests fail; whichever answers first, the issue read is named
            text = await call_error(client, "jira_get_issue", issue_key="PLAT-99999")
            assert "404" in text and "issue.get" in text and "comment" not in text


async def test_create_issue_with_all_common_fields(sandbox: Any) -> None:
    project = sandbox.state.projects["OPS"]
    component, version = project.components[0].name, project.versions[0].name
    assignee = sandbox.users[1]
    user = assignee.account_id if sandbox.flavour == "cloud" else assignee.name
    async with connect(sandbox) as client:
        created = await call(
            client, "jira_create_issue", project_key="OPS", summary="Rotate the TLS certificates",
            issue_type="Task", description="Steps:\n\n1. **renew**\n2. deploy `certs`", assignee=user,
            priority="High", labels=["security"], components=[component], fix_versions=[version],
            due_date="2026-12-24", custom_fields={"Story Points": 3},
        )
        fetched = await call(client, "jira_get_issue", issue_key=created["key"])
    stored = sandbox.state.issue_by_key(created["key"])
    assert stored is not None and stored.summary == "Rotate the TLS certificates"
    assert stored.assignee == assignee and stored.priority.name == "High" and stored.labels == ["security"]
    assert [c.name for c in stored.components] == [component] and [v.name for v in stored.fix_versions] == [version]
    assert str(stored.duedate) == "2026-12-24" and stored.story_points == 3
    assert "renew" in fetched["description"] and fetched["summary"] == "Rotate the TLS certificates"


async def test_create_rejects_bad_input_and_writes_nothing(sandbox: Any) -> None:
    before = len(sandbox.state.issues)
    async with connect(sandbox) as client:
        unknown_field = await call_error(client, "jira_create_issue", project_key="OPS", summary="x",
                                         custom_fields={"Story Pionts": 3})
        empty = await call_error(client, "jira_create_issue", project_key="OPS", summary="  ")
        bad_type = await call_error(client, "jira_create_issue", project_key="OPS", summary="x",
                                    issue_type="Unicorn")
    assert "unknown field 'Story Pionts'" in unknown_field and "Story Points" in unknown_field
    assert "summary is empty" in empty
    assert "400" in bad_type
    assert len(sandbox.state.issues) == before


async def test_batch_create_reports_progress_and_creates_each_once(sandbox: Any) -> None:
    updates: list[float] = []

    async def progress(done: float, total: float | None, message: str | None) -> None:
        updates.append(done)

    items = [{"project_key": "MOB", "summary": f"Batch item {n}"} for n in range(60)]
    async with connect(sandbox) as client:
        result = await client.call_tool("jira_batch_create_issues", {"issues": items}, progress_callback=progress)
    assert not result.is_error, result.content[0].text
    created = result.structured_content["created"]
    assert len(created) == 60 and result.structured_content["errors"] == []
    summaries = [i.summary for i in sandbox.state.issues if i.summary.startswith("Batch item")]
    assert sorted(summaries) == sorted(f"Batch item {n}" for n in range(60))
    assert updates == [50, 60]


async def test_update_assign_clone_delete(sandbox: Any) -> None:
    target = next(i for i in sandbox.state.issues if i.project_key == "MOB" and i.issuetype.name == "Story")
    async with connect(sandbox) as client:
        updated = await call(client, "jira_update_issue", issue_key=target.key,
                             fields={"summary": "Renamed", "labels": ["x", "y"], "Story Points": 8})
        assert set(updated["updated"]) == {"Summary", "Labels", "Story Points"}
        assert target.summary == "Renamed" and target.labels == ["x", "y"] and target.story_points == 8
        await call(client, "jira_assign_issue", issue_key=target.key, assignee=None)
        assert target.assignee is None
        clone = await call(client, "jira_clone_issue", issue_key=target.key)
        copy = sandbox.state.issue_by_key(clone["key"])
        assert copy is not None and copy.summary == "CLONE - Renamed" and copy.labels == ["x", "y"]
        await call(client, "jira_delete_issue", issue_key=clone["key"])
        assert sandbox.state.issue_by_key(clone["key"]) is None
        missing = await call_error(client, "jira_update_issue", issue_key=clone["key"], fields={"summary": "z"})
    assert "404" in missing and clone["key"] in missing


async def test_batch_changelogs(sandbox: Any) -> None:
    keys = [i.key for i in sandbox.state.issues if i.changelog][:3]
    async with connect(sandbox) as client:
        result = await call(client, "jira_batch_get_changelogs", issue_keys=keys, fields="status")
    assert set(result["changelogs"]) == set(keys)
    changes = [found["changes"] for found in result["changelogs"].values()]
    assert all(entry["field"] == "status" for entries in changes for entry in entries)
    assert any(changes)
