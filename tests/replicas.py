"""Two (or more) jiraplug replicas, each its own ``jiraplug serve --transport http`` process, in
front of one sandbox Jira (run in this process, so a test can read its request log and set its
knobs) and sharing one real Redis (``tests/redis_server.py``). Loopback only.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from jiraplug.sandbox.server import SandboxServer
from jiraplug.testing import sandbox_environ
from tests.test_http import serving


def shared_environ(redis_url: str, *, cache: bool = True, ratelimit: bool = True, **extra: str) -> dict[str, str]:
    """Settings that put the cache and/or the rate limiter of a replica in ``redis_url``."""
    env: dict[str, str] = {}
    if cache:
        env.update(JIRAPLUG_CACHE__BACKEND="redis", JIRAPLUG_CACHE__REDIS_URL=redis_url)
    if ratelimit:
        env.update(JIRAPLUG_RATELIMIT__BACKEND="redis", JIRAPLUG_RATELIMIT__REDIS_URL=redis_url)
    env.update(extra)
    return env


@contextmanager
def replicas(tmp_path: Path, sandbox: SandboxServer, count: int = 2, **env: str) -> Iterator[list[str]]:
    """``count`` server processes pointed at ``sandbox``; yields their base URLs."""
    with ExitStack() as stack:
        bases = []
        for index in range(count):
            folder = tmp_path / f"replica-{index}"
            folder.mkdir(exist_ok=True)
            bases.append(stack.enter_context(serving(folder, sandbox=False, **sandbox_environ(sandbox), **env)))
        yield bases


class Caller:
    """One MCP client session over HTTP to one replica (``headers``: e.g. the caller's Jira credential)."""

    def __init__(self, client: Client) -> None:
        self.client = client

    async def call(self, tool: str, **arguments: Any) -> tuple[bool, Any]:
        """``(is_error, data)``: the structured result, or the text of an error."""
        result = await self.client.call_tool(tool, arguments)
        text = result.content[0].text if result.content else ""
        if result.is_error:
            return True, text
        if result.structured_content is not None:
            return False, result.structured_content.get("result", result.structured_content)
        try:
            return False, json.loads(text)
        except ValueError:
            return False, text


@asynccontextmanager
async def caller(base: str, headers: dict[str, str] | None = None) -> AsyncIterator[Caller]:
    """An MCP client connected to the replica at ``base``."""
    async with httpx2.AsyncClient(headers=headers or {}, timeout=60) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), cache=None) as client:
            yield Caller(client)
