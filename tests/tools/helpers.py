"""Helpers for tool tests: a server on a sandbox, driven by the MCP SDK client in memory."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp import Client

from jiraplug.bootstrap import bootstrap
from jiraplug.server.build import build_server
from tests.conftest import sandbox_environ


@asynccontextmanager
async def connect(sandbox: Any, plugins: dict[str, object] | None = None, **environ: str) -> AsyncIterator[Client]:
    """An MCP client connected in memory to a jiraplug server pointed at ``sandbox``.

    Keyword arguments are extra environment variables (``READ_ONLY_MODE="true"``, ...).
    """
    app = bootstrap(environ={**sandbox_environ(sandbox), **environ}, extra_plugins=plugins)
    server = build_server(app.settings, app.plugins)
    async with Client(server, cache=None) as client:
        yield client


def result_data(result: Any) -> Any:
    """The structured result of a successful call (fails the test on a tool error)."""
    assert not result.is_error, result.content[0].text if result.content else result
    if result.structured_content is not None:
        data = result.structured_content
        return data["result"] if set(data) == {"result"} else data
    return json.loads(result.content[0].text)


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    """Call ``tool`` and return its structured result; a tool error fails the test."""
    return result_data(await client.call_tool(tool, arguments))


async def call_error(client: Client, tool: str, **arguments: Any) -> str:
    """Call ``tool`` expecting a tool error; return its text."""
    result = await client.call_tool(tool, arguments)
    assert result.is_error, f"{tool} should have failed but returned {result.content}"
    return result.content[0].text


async def tool_names(client: Client) -> set[str]:
    return {tool.name for tool in (await client.list_tools()).tools}
