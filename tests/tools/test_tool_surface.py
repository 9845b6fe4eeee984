"""What tools/list offers: annotations, read-only mode, filters, the projects filter."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jiraplug.errors import ConfigError
from tests.tools.helpers import call, call_error, connect, tool_names

pytestmark = pytest.mark.anyio


async def test_every_tool_has_complete_annotations_and_a_description(cloud_sandbox: Any) -> None:
    async with connect(cloud_sandbox) as client:
        tools = (await client.list_tools()).tools
    size = len(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools],
                          separators=(",", ":")))
    print(f"\ntools/list: {len(tools)} tools, {size} bytes")
    assert len(tools) >= 9
    for tool in tools:
        a = tool.annotations
        assert a is not None and a.title, tool.name
        assert None not in (a.read_only_hint, a.destructive_hint, a.idempotent_hint, a.open_world_hint), tool.name
        assert tool.description and len(tool.description) < 200, tool.name
        if a.read_only_hint:
            assert not a.destructive_hint, tool.name
        # pydantic's titles ("Issue Key" for issue_key) are dropped; property names are not.
        schemas = json.dumps([tool.input_schema, tool.output_schema])
        assert '"title": "' not in schemas.replace('"title": {"', ""), tool.name
    remote_link = next(t for t in tools if t.name == "jira_create_remote_link")
    assert remote_link.input_schema["properties"]["title"]["type"] == "string"


def test_generated_titles_go_and_chosen_ones_stay() -> None:
    from jiraplug.schemas import without_generated_titles

    schema = {
        "title": "toolArguments", "type": "object",
        "properties": {
            "issue_key": {"title": "Issue Key", "type": "string"},
            "title": {"title": "Title", "type": "string"},  # a property called "title"
            "due": {"title": "When it is due", "anyOf": [{"type": "string"}, {"type": "null"}]},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        },
        "$defs": {"Item": {"title": "Item", "type": "object",
                           "properties": {"key_name": {"title": "Key Name", "type": "string"}}}},
    }
    assert without_generated_titles(schema) == {
        "type": "object",
        "properties": {
            "issue_key": {"type": "string"},
            "title": {"type": "string"},
            "due": {"title": "When it is due", "anyOf": [{"type": "string"}, {"type": "null"}]},
            "items": {"type": "array", "items": {"$ref": "#/$defs/Item"}},
        },
        "$defs": {"Item": {"type": "object", "properties": {"key_name": {"type": "string"}}}},
    }


async def test_read_only_mode_hides_and_refuses_writes(cloud_sandbox: Any) -> None:
    async with connect(cloud_sandbox, READ_ONLY_MODE="true") as client:
        names = await tool_names(client)
        refused = await client.call_tool("jira_create_issue", {"project_key": "PLAT", "summary": "x"})
        assert "jira_get_issue" in names and "jira_search" in names
        assert not {"jira_create_issue", "jira_add_comment", "jira_transition_issue", "jira_delete_issue"} & names
    assert refused.is_error and "jira_create_issue" in refused.content[0].text


async def test_enabled_tools_and_toolsets_filter(cloud_sandbox: Any) -> None:
    async with connect(cloud_sandbox, ENABLED_TOOLS="jira_get_issue,jira_add_comment") as client:
        assert await tool_names(client) == {"jira_get_issue", "jira_add_comment"}
    async with connect(cloud_sandbox, TOOLSETS="comments") as client:
        assert await tool_names(client) == {"jira_get_comments", "jira_add_comment", "jira_edit_comment",
                                            "jira_delete_comment"}
    with pytest.raises(ConfigError, match="did you mean 'jira_get_issue'"):
        async with connect(cloud_sandbox, ENABLED_TOOLS="jira_get_isue"):
            pass


ESCAPES = [
    "project = OPS",
    "project = MOB OR project = OPS",
    "project = MOB) OR (project = OPS",
    "project = MOB ORDER BY key) OR (project = OPS",
    "project = MOB ORDER BY created OR project = OPS",
    'summary ~ "x") OR project = OPS OR (summary ~ "y"',
    "NOT project = MOB",
    "",
]


@pytest.mark.parametrize("jql", ESCAPES)
async def test_projects_filter_cannot_be_escaped_by_jql(cloud_sandbox: Any, jql: str) -> None:
    async with connect(cloud_sandbox, JIRA_PROJECTS_FILTER="MOB") as client:
        result = await client.call_tool("jira_search", {"jql": jql, "limit": 100})
    if result.is_error:
        return  # refused outright: nothing leaked
    keys = [issue["key"] for issue in result.structured_content["issues"]]
    assert all(key.startswith("MOB-") for key in keys), keys


async def test_projects_filter_guards_direct_issue_access(cloud_sandbox: Any) -> None:
    async with connect(cloud_sandbox, JIRA_PROJECTS_FILTER="MOB") as client:
        assert (await call(client, "jira_get_issue", issue_key="MOB-1"))["key"] == "MOB-1"
        text = await call_error(client, "jira_get_issue", issue_key="PLAT-1")
        create = await call_error(client, "jira_create_issue", project_key="OPS", summary="x")
        comment = await call_error(client, "jira_add_comment", issue_key="OPS-1", body="x")
    assert "outside the projects" in text and "MOB" in text
    assert "outside the projects" in create and "outside the projects" in comment
