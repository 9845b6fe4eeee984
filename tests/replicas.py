"""Two (or more) jiraplug replicas, each its own ``jiraplug serve --transport http`` process, in
front of one sandbox Jira (run in this process, so a test can read its request log and set its
knobs) and sharing one real Redis (``tests/redis_server.py``). Loopback only.
"""

from __future__ import annotations

import json
import random
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import ExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

import anyio
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


async def keep_reading(base: str, deadline: float, failures: list[str], issue_key: Callable[[int], str],
                       **arguments: Any) -> None:
    """``jira_get_issue`` of ``issue_key(n)`` on the n-th call, back to back until ``deadline``; errors noted."""
    async with caller(base) as end:
        n = 0
        while anyio.current_time() < deadline:
            n += 1
            error, text = await end.call("jira_get_issue", issue_key=issue_key(n), **arguments)
            if error:
                failures.append(text)


async def through_an_outage(bases: list[str], sandbox: SandboxServer, stop: Callable[[], object],
                            start: Callable[[], object], down_for: float = 2.5) -> None:
    """Load two replicas while Redis goes away (``stop`` at 2 s) and comes back (``start`` ``down_for`` later).

    Two readers per replica, and a writer on the first replica whose every write is read back
    through the second, for 8 s: every call must succeed and no read may be stale. Then shared
    mode must resume: within a few probe intervals a read cached through the first replica is a
    hit on the second.
    """
    failures: list[str] = []
    stale: list[tuple[str, str]] = []
    async with caller(bases[0]) as a, caller(bases[1]) as b:
        deadline = anyio.current_time() + 8

        async def write_then_read() -> None:
            step = 0
            while anyio.current_time() < deadline:
                step += 1
                summary = f"outage step {step}"
                error, text = await a.call("jira_update_issue", issue_key="PLAT-1", fields={"summary": summary})
                if error:
                    failures.append(text)
                error, issue = await b.call("jira_get_issue", issue_key="PLAT-1", comment_limit=0)
                if error:
                    failures.append(issue)
                elif issue["summary"] != summary:
                    stale.append((summary, issue["summary"]))

        async def outage() -> None:
            await anyio.sleep(2)
            await anyio.to_thread.run_sync(stop)
            await anyio.sleep(down_for)
            await anyio.to_thread.run_sync(start)

        async with anyio.create_task_group() as tasks:
            for base in bases:
                for worker in range(2):
                    tasks.start_soon(keep_reading, base, deadline, failures, lambda n, w=worker: f"PLAT-{2 + (w + n) % 4}")
            tasks.start_soon(write_then_read)
            tasks.start_soon(outage)
        assert failures == [] and stale == []

        resumed = False
        for attempt in range(20):
            key = f"PLAT-{10 + attempt}"
            await a.call("jira_get_issue", issue_key=key, comment_limit=0)
            before = len(sandbox.request_log)
            await b.call("jira_get_issue", issue_key=key, comment_limit=0)
            if len(sandbox.request_log) == before:
                resumed = True
                break
            await anyio.sleep(0.5)
        assert resumed, "replica B never served what replica A cached after Redis came back"


async def stale_reads(ends: list[Caller], steps: int, rng: random.Random, issue_key: str, *,
                      same_end_share: float = 0.0) -> list[tuple[int, str, str]]:
    """Write-then-read across replicas ``steps`` times; the reads that did not see their write.

    Before each write every end reads the issue (so each holds it cached); the write goes
    through a random end, and the read back through another end (or, with probability
    ``same_end_share``, the same one), after the write returned.
    """
    stale: list[tuple[int, str, str]] = []
    for step in range(steps):
        writer = rng.randrange(len(ends))
        others = [end for index, end in enumerate(ends) if index != writer]
        reader = ends[writer] if same_end_share and rng.random() >= 1 - same_end_share else others[0]
        for end in ends:
            error, _ = await end.call("jira_get_issue", issue_key=issue_key, comment_limit=0)
            assert not error
        summary = f"summary {step}"
        error, _ = await ends[writer].call("jira_update_issue", issue_key=issue_key, fields={"summary": summary})
        assert not error
        error, issue = await reader.call("jira_get_issue", issue_key=issue_key, comment_limit=0)
        assert not error
        if issue["summary"] != summary:
            stale.append((step, summary, issue["summary"]))
    return stale
