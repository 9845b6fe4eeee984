"""Cache hints (ttlMs/cacheScope, protocol 2026-07-28) on the listings, seen by the SDK client."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client

from jiraplug.server.build import LIST_TTL_MS
from tests.test_server import make_server

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray ./jiraplug.toml


async def listings(server: Any) -> dict[str, Any]:
    async with Client(server, cache=None) as client:
        assert client.protocol_version == "2026-07-28"
        return {
            "tools/list": await client.list_tools(),
            "resources/list": await client.list_resources(),
            "resources/templates/list": await client.list_resource_templates(),
            "prompts/list": await client.list_prompts(),
        }


async def test_listings_carry_a_ttl_and_only_caller_dependent_ones_are_private(cloud_sandbox: Any) -> None:
    server, _ = make_server(cloud_sandbox)
    hints = {method: (result.ttl_ms, result.cache_scope) for method, result in (await listings(server)).items()}
    assert hints == {
        "tools/list": (LIST_TTL_MS, "public"),  # same for every caller of this server
        "resources/list": (LIST_TTL_MS, "private"),  # operator-only resources are hidden from other callers
        "resources/templates/list": (LIST_TTL_MS, "public"),
        "prompts/list": (LIST_TTL_MS, "public"),
    }


@pytest.mark.parametrize("environ", [
    {"READ_ONLY_MODE": "true"},
    {"TOOLSETS": "issues,comments"},
    {"ENABLED_TOOLS": "jira_get_issue"},
    {"JIRAPLUG_PROFILING__ADMIN_TOOLS": "true"},  # an operator-only tool in the listing
], ids=["read-only", "toolsets", "enabled-tools", "operator-tools"])
async def test_tools_list_is_private_when_it_depends_on_configuration_or_caller(
        cloud_sandbox: Any, environ: dict[str, str]) -> None:
    server, _ = make_server(cloud_sandbox, **environ)
    tools = (await listings(server))["tools/list"]
    assert (tools.ttl_ms, tools.cache_scope) == (LIST_TTL_MS, "private")


async def test_the_sdk_client_reuses_a_hinted_listing_without_asking_again(cloud_sandbox: Any) -> None:
    server, _ = make_server(cloud_sandbox)
    asked: list[str] = []

    async def count(ctx: Any, call_next: Any) -> Any:
        asked.append(ctx.method)
        return await call_next(ctx)

    server.middleware.insert(0, count)
    async with Client(server) as client:  # the SDK's default response cache
        first = await client.list_tools()
        second = await client.list_tools()
        await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
        await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
    assert [tool.name for tool in second.tools] == [tool.name for tool in first.tools]
    assert asked.count("tools/list") == 1
    assert asked.count("tools/call") == 2  # tool results carry no hint: each call reaches Jira's data
