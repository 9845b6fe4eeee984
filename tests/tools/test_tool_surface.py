"""What tools/list offers: annotations, its size, read-only mode, filters, the projects filter."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jiraplug.bootstrap import bootstrap
from jiraplug.errors import ConfigError
from jiraplug.server.registry import ToolRegistry
from tests.conftest import sandbox_environ
from tests.tools.helpers import call, call_error, connect, tool_names

pytestmark = pytest.mark.anyio

# Bytes of compact JSON that tools/list may take with every toolset on, and the tools it must hold
# (issue 17): every client sends it to the model on every request. mcp-atlassian 0.23.1 takes
# 69,876 bytes for 63 tools (1,109 per tool); ours may spend 640 per tool on average.
TOOLS_LIST_BUDGET = 48_000
TOOLS_AT_LEAST = 75


def compact_size(tools: list[Any]) -> int:
    """Bytes of the tools as compact JSON, the way tools/list carries them."""
    return len(json.dumps([t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in tools],
                          separators=(",", ":")))


def every_registered_tool(sandbox: Any) -> ToolRegistry:
    """Every tool the built-in plugins register (before any filter)."""
    app = bootstrap(environ=sandbox_environ(sandbox))
    registry = ToolRegistry()
    app.plugins.register_tools(registry, app.settings)
    return registry


async def test_every_tool_has_complete_annotations_and_a_description(cloud_sandbox: Any) -> None:
    async with connect(cloud_sandbox) as client:
        tools = (await client.list_tools()).tools
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


async def test_tools_list_with_every_toolset_fits_its_budget(cloud_sandbox: Any) -> None:
    async with connect(cloud_sandbox) as client:
        listed = await client.list_tools()
    assert listed.next_cursor is None
    assert {t.name for t in listed.tools} == {t.name for t in every_registered_tool(cloud_sandbox)}
    size = compact_size(listed.tools)
    print(f"\ntools/list: {len(listed.tools)} tools, {size:,} bytes (budget {TOOLS_LIST_BUDGET:,})")
    assert len(listed.tools) >= TOOLS_AT_LEAST
    assert size <= TOOLS_LIST_BUDGET


async def test_lean_schemas_keep_every_parameter_and_still_validate(cloud_sandbox: Any) -> None:
    """What tools/list drops changes neither the parameters, nor what is required, nor what is accepted."""
    from jsonschema import Draft202012Validator
    from mcp.server.mcpserver.tools.base import Tool

    async with connect(cloud_sandbox) as client:
        listed = {t.name: t for t in (await client.list_tools()).tools}
        explicit_nulls = await call(client, "jira_search", jql="key = PLAT-1", fields=None, page_token=None)
        wrong_type = await call_error(client, "jira_search", jql="key = PLAT-1", fields=5)
    for tool in every_registered_tool(cloud_sandbox):
        generated = Tool.from_function(tool.fn, name=tool.name, structured_output=tool.structured_output)
        lean = listed[tool.name].input_schema
        Draft202012Validator.check_schema(lean)
        assert lean["properties"].keys() == generated.parameters["properties"].keys(), tool.name
        assert lean.get("required") == generated.parameters.get("required"), tool.name
    assert [issue["key"] for issue in explicit_nulls["issues"]] == ["PLAT-1"]
    assert "fields" in wrong_type


def test_optional_arguments_lose_their_null_branch_and_results_keep_it() -> None:
    from jiraplug.server.schemas import lean_schema

    schema = {
        "type": "object",
        "properties": {
            "key": {"type": "string"},
            "due": {"anyOf": [{"type": "string"}, {"type": "null"}], "default": None, "description": "YYYY-MM-DD"},
            "kind": {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}], "default": None},
            "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": 50},  # null means something
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}], "default": None},
            "extra": {"anyOf": [{"additionalProperties": True, "type": "object"}, {"type": "null"}],
                      "default": None},
            "closed": {"type": "object", "additionalProperties": False},
        },
        "required": ["key"],
    }
    assert lean_schema(schema, arguments=True) == {
        "type": "object",
        "properties": {
            "key": {"type": "string"},
            "due": {"type": "string", "description": "YYYY-MM-DD"},
            "kind": {"enum": ["a", "b"], "type": "string"},
            "limit": {"anyOf": [{"type": "integer"}, {"type": "null"}], "default": 50},
            "either": {"anyOf": [{"type": "string"}, {"type": "integer"}, {"type": "null"}], "default": None},
            "extra": {"type": "object"},
            "closed": {"type": "object", "additionalProperties": False},
        },
        "required": ["key"],
    }
    result = lean_schema(schema, arguments=False)["properties"]
    assert result["due"] == schema["properties"]["due"]  # a result may hold null
    assert result["extra"] == {"anyOf": [{"type": "object"}, {"type": "null"}], "default": None}


def test_generated_titles_go_and_chosen_ones_stay() -> None:
    from jiraplug.server.schemas import without_generated_titles

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
