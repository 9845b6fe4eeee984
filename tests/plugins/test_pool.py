"""The ``pool`` plugin on the live path: connection limits and reuse against the sandbox (which
counts TCP connections), and the tool-call concurrency limit with its bounded queue, through the
MCP SDK client."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client

from jiraplug import hookimpl
from jiraplug.bootstrap import bootstrap
from jiraplug.errors import ConfigError
from jiraplug.plugins import pool as pool_plugin
from jiraplug.server.registry import ToolRegistry
from jiraplug.sandbox import Knobs, SandboxServer
from jiraplug.server.build import build_server
from jiraplug.server.toolcalls import current_call
from tests.conftest import sandbox_environ
from tests.plugins.test_cache import Probe, summed

pytestmark = [
    pytest.mark.anyio,
    # These tests are about the plugin itself: moot when the whole suite runs with it switched off.
    pytest.mark.skipif("pool" in os.environ.get("JIRAPLUG_DISABLE_PLUGINS", "").split(","),
                       reason="the pool plugin is disabled in this run"),
]

QUIET = "ratelimit"


class PoolProbe(Probe):
    """Adds a tool that reads many times in one call, and one that waits for the test's signal."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = asyncio.Event()
        self.inside = 0

    @hookimpl
    def register_tools(self, registry: ToolRegistry) -> None:
        super().register_tools(registry)

        async def probe_read_many(path: str, times: int, concurrent: bool = False) -> dict[str, Any]:
            """GET ``path`` ``times`` times, one after the other (or all at once)."""
            jira = current_call().jira

            async def one(n: int) -> None:
                await jira.request("GET", path, operation="probe.read", params={"n": n})

            if concurrent:
                async with anyio.create_task_group() as tasks:
                    for n in range(times):
                        tasks.start_soon(one, n)
            else:
                for n in range(times):
                    await one(n)
            return {"done": times}

        async def probe_wait() -> dict[str, Any]:
            """Hold a tool-call slot until the test opens the gate."""
            self.inside += 1
            await self.gate.wait()
            return {"waited": True}

        registry.add(probe_read_many)
        registry.add(probe_wait)


@pytest.fixture
def sandbox() -> Any:
    with SandboxServer(flavour="cloud", seed=5, port=0) as sb:
        yield sb


@asynccontextmanager
async def serve(sb: Any, **environ: str) -> AsyncIterator[tuple[Client, PoolProbe]]:
    probe = PoolProbe()
    app = bootstrap(environ={**sandbox_environ(sb), "JIRAPLUG_DISABLE_PLUGINS": QUIET, **environ},
                    extra_plugins={"probe": probe})
    server = build_server(app.settings, app.plugins)
    async with Client(server, cache=None) as client:
        yield client, probe


async def ok(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def until(condition: Any, what: str) -> None:
    """Poll ``condition`` for up to 5 s (the server runs in this event loop)."""
    for _ in range(500):
        if condition():
            return
        await anyio.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


# ------------------------------------------------------------------------------ connections


async def test_a_thousand_sequential_reads_reuse_a_handful_of_connections(sandbox: Any) -> None:
    async with serve(sandbox, JIRAPLUG_DISABLE_PLUGINS=f"{QUIET},cache") as (client, probe):
        await ok(client, "probe_read_many", path="/rest/api/3/serverInfo", times=1000)
        snapshot = pool_plugin.state_of(probe.runtime).snapshot()
    reads = sum(1 for r in sandbox.request_log if r.path == "/rest/api/3/serverInfo")
    assert reads >= 1000
    assert sandbox.connections_opened <= 3
    assert snapshot["connections"]["admitted"] >= 1000 and snapshot["connections"]["in_flight"] == {}


async def test_max_connections_bounds_connections_toward_jira(sandbox: Any) -> None:
    sandbox.set_knobs(Knobs(latency_ms=50))
    async with serve(sandbox, JIRAPLUG_DISABLE_PLUGINS=f"{QUIET},cache", JIRAPLUG_POOL__MAX_CONNECTIONS="2") as (
            client, _):
        await ok(client, "probe_read_many", path="/rest/api/3/myself", times=12, concurrent=True)
    assert sum(1 for r in sandbox.request_log if r.path == "/rest/api/3/myself") == 12
    assert sandbox.connections_opened <= 2


async def test_the_per_host_limit_queues_requests_beyond_it(sandbox: Any, otel_memory: Any) -> None:
    sandbox.set_knobs(Knobs(latency_ms=50))
    waits_before = sum(p.count for p in otel_memory.metrics().get("jiraplug.pool.wait.duration", [])
                       if p.attributes.get("jiraplug.pool.kind") == "connection")
    async with serve(sandbox, JIRAPLUG_DISABLE_PLUGINS=f"{QUIET},cache",
                     JIRAPLUG_POOL__MAX_CONNECTIONS="50", JIRAPLUG_POOL__MAX_CONNECTIONS_PER_HOST="2") as (
            client, probe):
        await ok(client, "probe_read_many", path="/rest/api/3/myself", times=10, concurrent=True)
        snapshot = pool_plugin.state_of(probe.runtime).snapshot()["connections"]
    assert sandbox.connections_opened <= 2
    assert snapshot["waited"] >= 6 and snapshot["max_connections_per_host"] == 2
    waits = sum(p.count for p in otel_memory.metrics().get("jiraplug.pool.wait.duration", [])
                if p.attributes.get("jiraplug.pool.kind") == "connection")
    assert waits - waits_before >= 10
    assert summed(otel_memory, "jiraplug.pool.in_flight", **{"jiraplug.pool.kind": "connection"}) == 0


async def test_http2_can_be_switched_on(sandbox: Any) -> None:
    # Over plain http HTTP/2 is not negotiated (no TLS/ALPN): the client falls back to HTTP/1.1.
    async with serve(sandbox, JIRAPLUG_POOL__HTTP2="true") as (client, probe):
        await ok(client, "jira_get_issue", issue_key="PLAT-1")
        assert pool_plugin.state_of(probe.runtime).snapshot()["connections"]["http2"] is True


def test_bad_pool_settings_stop_start_up_naming_the_key(sandbox: Any) -> None:
    with pytest.raises(ConfigError, match=r"pool\.max_concurrent_tasks.*JIRAPLUG_POOL__MAX_CONCURRENT_TASKS"):
        bootstrap(environ={**sandbox_environ(sandbox), "JIRAPLUG_POOL__MAX_CONCURRENT_TASKS": "0"})
    with pytest.raises(ConfigError, match="unknown key 'max_conections'"):
        bootstrap(environ={**sandbox_environ(sandbox), "JIRAPLUG_POOL__MAX_CONECTIONS": "5"})


# ------------------------------------------------------------------------------ tool calls


async def test_tool_calls_beyond_the_queue_get_a_busy_error(sandbox: Any, otel_memory: Any) -> None:
    rejected_before = summed(otel_memory, "jiraplug.pool.rejected", reason="queue_full")
    async with serve(sandbox, JIRAPLUG_POOL__MAX_CONCURRENT_TASKS="1", JIRAPLUG_POOL__QUEUE_SIZE="1") as (
            client, probe):
        results: dict[str, Any] = {}

        async def run(name: str, tool: str, arguments: dict[str, Any]) -> None:
            results[name] = await client.call_tool(tool, arguments)

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(run, "first", "probe_wait", {})
            await until(lambda: probe.inside == 1, "the first call to hold the only slot")
            tasks.start_soon(run, "second", "jira_get_issue", {"issue_key": "PLAT-1"})
            await until(lambda: pool_plugin.state_of(probe.runtime).snapshot()["tasks"]["queued"] == 1, "the second to queue")
            busy = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-2"})
            assert "second" not in results
            probe.gate.set()
        snapshot = pool_plugin.state_of(probe.runtime).snapshot()["tasks"]
    assert busy.is_error and "busy" in busy.content[0].text and "retry" in busy.content[0].text
    assert "max_concurrent_tasks = 1" in busy.content[0].text
    assert not results["first"].is_error and not results["second"].is_error
    assert snapshot["rejected"]["queue_full"] == 1 and snapshot["waited"] >= 1
    assert snapshot["in_flight"] == 0 and snapshot["queued"] == 0
    assert summed(otel_memory, "jiraplug.pool.rejected", reason="queue_full") - rejected_before == 1
    assert summed(otel_memory, "jiraplug.pool.queue.depth", **{"jiraplug.pool.kind": "task"}) == 0


async def test_a_call_that_waits_too_long_in_the_queue_is_refused(sandbox: Any) -> None:
    async with serve(sandbox, JIRAPLUG_POOL__MAX_CONCURRENT_TASKS="1",
                     JIRAPLUG_POOL__QUEUE_TIMEOUT_SECONDS="0.05") as (client, probe):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(client.call_tool, "probe_wait", {})
            await until(lambda: probe.inside == 1, "the first call to hold the only slot")
            late = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
            probe.gate.set()
        assert (await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})).is_error is False
        snapshot = pool_plugin.state_of(probe.runtime).snapshot()["tasks"]
    assert late.is_error and "waited 0.05 s" in late.content[0].text
    assert snapshot["rejected"]["timeout"] == 1


async def test_the_server_works_with_the_pool_disabled(sandbox: Any) -> None:
    async with serve(sandbox, JIRAPLUG_DISABLE_PLUGINS=f"{QUIET},pool") as (client, probe):
        issue = await ok(client, "jira_get_issue", issue_key="PLAT-1")
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        assert probe.runtime.plugin_state(pool_plugin.__name__) is None  # no pool on this runtime
    assert issue["key"] == "PLAT-1" and pool_plugin.RESOURCE_URI not in resources


async def test_the_pool_resource_shows_live_numbers(sandbox: Any) -> None:
    async with serve(sandbox) as (client, _):
        await ok(client, "jira_get_issue", issue_key="PLAT-1")
        shown = json.loads((await client.read_resource(pool_plugin.RESOURCE_URI)).contents[0].text)
    assert shown["tasks"]["max_concurrent_tasks"] == 32 and shown["tasks"]["admitted"] >= 1
    assert shown["connections"]["max_connections"] == 100


# ------------------------------------------------------------------------ the limiter itself


async def test_a_cancelled_waiter_leaves_the_queue_and_slots_are_never_lost() -> None:
    limiter = pool_plugin.TaskLimiter(1, queue_size=2, timeout=5)
    await limiter.acquire()
    waiter = asyncio.create_task(limiter.acquire())
    other = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    assert limiter.queued == 2
    waiter.cancel()
    await asyncio.gather(waiter, return_exceptions=True)
    assert limiter.queued == 1
    limiter.release()  # goes to `other`, not to the cancelled waiter
    await asyncio.wait_for(other, 1)
    assert limiter.active == 1 and limiter.queued == 0
    # A slot handed over at the moment its waiter is cancelled is passed on.
    third = asyncio.create_task(limiter.acquire())
    fourth = asyncio.create_task(limiter.acquire())
    await asyncio.sleep(0)
    limiter.release()
    third.cancel()
    await asyncio.gather(third, return_exceptions=True)
    await asyncio.wait_for(fourth, 1)
    assert limiter.active == 1
    limiter.release()
    assert limiter.active == 0
