"""The ``links`` toolset through the MCP client, against the sandbox (Cloud and Data Center)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.model import Issue
from tests.tools.helpers import call, call_error, connect, tool_names

pytestmark = pytest.mark.anyio

WRITE_TOOLS = {"jira_create_issue_link", "jira_remove_issue_link", "jira_create_remote_link", "jira_link_to_epic"}


@pytest.fixture(scope="module", params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox of each flavour for this module's writes (tests touch different objects)."""
    with SandboxServer(flavour=request.param, seed=7, port=0) as server:
        yield server


def unlinked_pair(sandbox: SandboxServer, project: str) -> tuple[Issue, Issue]:
    """Two issues of ``project`` with no link between them."""
    issues = [i for i in sandbox.state.issues if i.project_key == project]
    for first in issues:
        for second in issues:
            if first is not second and not any(
                {link.outward_issue_id, link.inward_issue_id} == {first.id, second.id} for link in first.links
            ):
                return first, second
    raise AssertionError("no unlinked pair")


async def test_link_types_are_jiras(sandbox: SandboxServer) -> None:
    async with connect(sandbox) as client:
        got = await call(client, "jira_list_link_types")
    blocks = next(t for t in got["link_types"] if t["name"] == "Blocks")
    assert blocks == {"id": "10000", "name": "Blocks", "outward": "blocks", "inward": "is blocked by"}
    assert {"Blocks", "Relates", "Duplicate"} <= {t["name"] for t in got["link_types"]}


async def test_create_and_remove_an_issue_link(sandbox: SandboxServer) -> None:
    source, target = unlinked_pair(sandbox, "PLAT")
    comments_before = len(source.comments)
    async with connect(sandbox) as client:
        created = await call(client, "jira_create_issue_link", link_type="blocks", from_key=source.key,
                             to_key=target.key, comment="Found while **testing**")
        link = sandbox.state.issue_link(created["link_id"])
        assert link is not None
        ends = (link.type.name, link.outward_issue_id, link.inward_issue_id)
        removed = await call(client, "jira_remove_issue_link", link_id=created["link_id"])
    assert created["link"] == f"{source.key} blocks {target.key}" and created["type"] == "Blocks"
    assert ends == ("Blocks", source.id, target.id)  # the source is the link's outward end
    assert len(sandbox.state.issue_by_key(source.key).comments) == comments_before + 1
    assert removed["removed"] == created["link_id"] and sorted(removed["issues"]) == sorted([source.key, target.key])
    assert sandbox.state.issue_link(created["link_id"]) is None


async def test_bad_link_arguments_write_nothing(sandbox: SandboxServer) -> None:
    source, target = unlinked_pair(sandbox, "PLAT")
    links_before = len(source.links)
    async with connect(sandbox) as client:
        unknown = await call_error(client, "jira_create_issue_link", link_type="Causes", from_key=source.key,
                                   to_key=target.key)
        itself = await call_error(client, "jira_create_issue_link", link_type="Blocks", from_key=source.key,
                                  to_key=source.key)
        bad_id = await call_error(client, "jira_remove_issue_link", link_id="../1")
    assert "unknown link type 'Causes'" in unknown and "Blocks (blocks)" in unknown
    assert "cannot be linked to itself" in itself
    assert "not a link id" in bad_id
    assert len(sandbox.state.issue_by_key(source.key).links) == links_before


async def test_remote_links_create_and_list(sandbox: SandboxServer) -> None:
    key = "MOB-4"
    async with connect(sandbox) as client:
        created = await call(client, "jira_create_remote_link", issue_key=key, url="https://example.com/spec",
                             title="Spec", summary="The design", relationship="documented in")
        listed = await call(client, "jira_list_remote_links", issue_key=key, limit=100)
        bad = await call_error(client, "jira_create_remote_link", issue_key=key, url="javascript:alert(1)",
                               title="x")
    stored = {str(link.id): link for link in sandbox.state.issue_by_key(key).remote_links}
    assert stored[created["id"]].url == "https://example.com/spec" and stored[created["id"]].title == "Spec"
    mine = next(link for link in listed["remote_links"] if link["id"] == created["id"])
    assert mine == {"id": created["id"], "url": "https://example.com/spec", "title": "Spec",
                    "summary": "The design", "relationship": "documented in"}
    assert len(listed["remote_links"]) == len(stored) and listed["next_start_at"] is None
    assert "not an http(s) URL" in bad and len(stored) == len(sandbox.state.issue_by_key(key).remote_links)


async def test_link_to_epic(sandbox: SandboxServer) -> None:
    epic = next(i for i in sandbox.state.issues if i.project_key == "OPS" and i.issuetype.name == "Epic")
    story = next(i for i in sandbox.state.issues if i.project_key == "OPS" and i.issuetype.name == "Story"
                 and i.parent_id != epic.id)
    async with connect(sandbox) as client:
        linked = await call(client, "jira_link_to_epic", issue_key=story.key, epic_key=epic.key)
        not_epic = await call_error(client, "jira_link_to_epic", issue_key=epic.key, epic_key=story.key)
    assert linked == {"issue_key": story.key, "epic_key": epic.key}
    assert sandbox.state.issue_by_key(story.key).parent_id == epic.id
    assert "not an epic" in not_epic and sandbox.state.issue_by_key(epic.key).parent_id != story.id


async def test_projects_filter_and_read_only_mode(sandbox: SandboxServer) -> None:
    plat, _ = unlinked_pair(sandbox, "PLAT")
    ops_link = next(link for i in sandbox.state.issues if i.project_key == "OPS" for link in i.links)
    async with connect(sandbox, JIRA_PROJECTS_FILTER="PLAT") as client:
        refused = [
            await call_error(client, "jira_create_issue_link", link_type="Relates", from_key=plat.key,
                             to_key="OPS-1"),
            await call_error(client, "jira_remove_issue_link", link_id=ops_link.id),
            await call_error(client, "jira_list_remote_links", issue_key="OPS-1"),
            await call_error(client, "jira_create_remote_link", issue_key="OPS-1", url="https://x.org", title="x"),
            await call_error(client, "jira_link_to_epic", issue_key="OPS-2", epic_key="OPS-1"),
        ]
    async with connect(sandbox, READ_ONLY_MODE="true") as client:
        names = await tool_names(client)
    assert all("outside the projects" in text for text in refused), refused
    assert sandbox.state.issue_link(ops_link.id) is not None
    assert {"jira_list_link_types", "jira_list_remote_links"} <= names and not WRITE_TOOLS & names
