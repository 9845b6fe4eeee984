"""MCP-native context through an MCP client: resource templates, completion and prompts (both flavours)."""

from __future__ import annotations

from typing import Any

import pytest
from mcp.shared.exceptions import MCPError
from mcp.types import PromptReference, ResourceTemplateReference

from tests.spec_contract import SpecContract
from tests.tools.helpers import call, connect

pytestmark = pytest.mark.anyio

FLAVOURS = ["cloud_sandbox", "dc_sandbox"]
ISSUE = ResourceTemplateReference(type="ref/resource", uri="jira://issue/{key}")
PROJECT = ResourceTemplateReference(type="ref/resource", uri="jira://project/{key}")


async def _read(client: Any, uri: str) -> str:
    [content] = (await client.read_resource(uri)).contents
    assert content.mime_type == "text/markdown"
    return content.text


async def _complete(client: Any, ref: Any, name: str, value: str, **context: str) -> list[str]:
    return (await client.complete(ref, {"name": name, "value": value}, context or None)).completion.values


@pytest.mark.parametrize("fixture", FLAVOURS)
async def test_issue_and_project_templates_read_as_markdown(fixture: str, request: Any) -> None:
    contract = SpecContract(fixture.removesuffix("_sandbox"))
    async with connect(request.getfixturevalue(fixture), plugins={"spec_contract": contract}) as client:
        templates = {t.uri_template: t for t in (await client.list_resource_templates()).resource_templates}
        issue = await _read(client, "jira://issue/PLAT-1")
        project = await _read(client, "jira://project/plat")
        expected = await call(client, "jira_get_issue", issue_key="PLAT-1")
    assert set(templates) == {"jira://issue/{key}", "jira://project/{key}"}
    assert templates["jira://issue/{key}"].mime_type == "text/markdown"
    assert issue.startswith(f"# PLAT-1: {expected['summary']}\n")
    assert f"- Status: {expected['status']}" in issue and f"- URL: {expected['url']}" in issue
    assert project.startswith("# PLAT: ") and "- Issue types: " in project
    contract.assert_clean()


async def test_templates_keep_to_the_projects_filter(cloud_sandbox: Any) -> None:
    async with connect(cloud_sandbox, JIRA_PROJECTS_FILTER="PLAT") as client:
        with pytest.raises(MCPError, match="outside the projects"):
            await client.read_resource("jira://issue/OPS-1")
        with pytest.raises(MCPError, match="outside the projects"):
            await client.read_resource("jira://project/OPS")
        with pytest.raises(MCPError, match="not an issue key"):
            await client.read_resource("jira://issue/nonsense")
        assert await _complete(client, PROJECT, "key", "") == ["PLAT"]
        assert await _complete(client, ISSUE, "key", "OPS-") == []
        keys = await _complete(client, ISSUE, "key", "")
    assert keys and all(k.startswith("PLAT-") for k in keys)


@pytest.mark.parametrize("fixture", FLAVOURS)
async def test_completion_offers_projects_and_recently_read_issues_first(fixture: str, request: Any) -> None:
    async with connect(request.getfixturevalue(fixture)) as client:
        projects = await _complete(client, PROJECT, "key", "o")
        before = await _complete(client, ISSUE, "key", "MOB-")
        await _read(client, "jira://issue/MOB-3")
        after = await _complete(client, ISSUE, "key", "MOB")
        nothing = await _complete(client, ISSUE, "key", "NOPE-")
    assert projects[0] == "OPS"
    assert before and all(k.startswith("MOB-") for k in before)
    assert after[0] == "MOB-3"
    assert nothing == []


@pytest.mark.parametrize("fixture", FLAVOURS)
async def test_prompts_list_complete_and_render(fixture: str, request: Any) -> None:
    async with connect(request.getfixturevalue(fixture)) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
        sprint_ref = PromptReference(type="ref/prompt", name="summarise_sprint")
        version_ref = PromptReference(type="ref/prompt", name="draft_release_notes")
        sprints = await _complete(client, sprint_ref, "sprint", "", project_key="PLAT")
        versions = await _complete(client, version_ref, "version", "", project_key="PLAT")
        no_project = await _complete(client, version_ref, "version", "")
        triage = await client.get_prompt("triage_issue", {"issue_key": "PLAT-2"})
        sprint = await client.get_prompt("summarise_sprint", {"project_key": "PLAT", "sprint": sprints[0]})
        notes = await client.get_prompt("draft_release_notes", {"project_key": "PLAT", "version": versions[0]})
        with pytest.raises(MCPError, match="404|does not exist"):
            await client.get_prompt("triage_issue", {"issue_key": "PLAT-99999"})
    assert set(prompts) == {"triage_issue", "summarise_sprint", "draft_release_notes"}
    assert [a.name for a in prompts["summarise_sprint"].arguments] == ["project_key", "sprint"]
    assert sprints and versions and no_project == []
    assert "# PLAT-2: " in triage.messages[0].content.text
    assert "make them with the Jira tools" in triage.messages[0].content.text
    assert sprints[0] in sprint.messages[0].content.text and "| key |" in sprint.messages[0].content.text
    assert versions[0] in notes.messages[0].content.text and "issue(s):" in notes.messages[0].content.text


async def test_read_only_mode_triage_recommends_only(cloud_sandbox: Any) -> None:
    async with connect(cloud_sandbox, READ_ONLY_MODE="true") as client:
        triage = await client.get_prompt("triage_issue", {"issue_key": "PLAT-2"})
    assert "read-only" in triage.messages[0].content.text
