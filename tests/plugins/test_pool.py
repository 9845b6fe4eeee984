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
from jiraplug.clock import ManualClock
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
async def serve(sb: Any, clock: ManualClock | None = None, **environ: str) -> AsyncIterator[tuple[Client, PoolProbe]]:
    probe = PoolProbe()
    app = bootstrap(environ={**sandbox_environ(sb), "JIRAPLUG_DISABLE_PLUGINS": QUIET, **environ},
                    extra_plugins={"probe": probe})
    server = build_server(app.settings, app.plugins, **({"clock": clock} if clock else {}))
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


# -------------------------------------------------------------- admission by expected wait


def held_for(limiter: pool_plugin.TaskLimiter, seconds: float, calls: int = 1) -> None:
    """Record ``calls`` finished calls that each held a slot for ``seconds``."""
    for _ in range(calls):
        limiter.service.record(seconds)


async def queue_up(limiter: pool_plugin.TaskLimiter, calls: int) -> tuple[list[asyncio.Task[float]], list[str]]:
    """Start ``calls`` acquisitions; the queued ones stay pending, refusals are returned by reason."""
    tasks = [asyncio.create_task(limiter.acquire()) for _ in range(calls)]
    await asyncio.sleep(0)
    refused = [t.exception().reason for t in tasks if t.done() and t.exception() is not None]  # type: ignore[union-attr]
    return [t for t in tasks if not t.done()], refused


async def cancel_all(tasks: list[asyncio.Task[float]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


async def test_the_defaults_queue_every_call_of_500_back_to_back_sessions() -> None:
    """The 500-session load run: 32 running, 468 waiting at ~313 calls/s (a slot turns over in ~3 ms)."""
    defaults = pool_plugin.PoolSettings()
    limiter = pool_plugin.TaskLimiter(defaults.max_concurrent_tasks, defaults.queue_size,
                                      defaults.queue_timeout_seconds)
    for _ in range(defaults.max_concurrent_tasks):
        await limiter.acquire()
    held_for(limiter, defaults.max_concurrent_tasks / 313, calls=50)
    waiting, refused = await queue_up(limiter, 500 - defaults.max_concurrent_tasks)
    try:
        assert refused == [] and limiter.queued == 468
        assert limiter.expected_wait() < 2  # 469 slots to turn over, ~1.5 s
    finally:
        await cancel_all(waiting)


async def test_a_call_is_queued_while_its_expected_wait_is_within_the_queue_timeout() -> None:
    clock = ManualClock()
    limiter = pool_plugin.TaskLimiter(2, queue_size=100, timeout=3, clock=clock.monotonic)
    await limiter.acquire()
    await limiter.acquire()
    held_for(limiter, 1.0)  # two slots, each turning over once a second: one frees every 0.5 s
    waiting, refused = await queue_up(limiter, 7)
    try:
        # The nth waiter expects n * 0.5 s: six fit in 3 s, the seventh (3.5 s) is refused at once.
        assert len(waiting) == 6 and refused == ["expected_wait"]
        assert limiter.stats.rejected == {"queue_full": 0, "expected_wait": 1, "timeout": 0}
        with pytest.raises(pool_plugin.PoolBusy, match=r"6 are waiting, about 4 s of work \(more than "
                           r"pool\.queue_timeout_seconds = 3\)"):
            await limiter.acquire()
        clock.advance(0.25)
        limiter.release(held=0.2)  # faster calls: the estimate drops (0.1 weight), the head gets the slot
        assert limiter.queued == 5 and await asyncio.wait_for(waiting[0], 1) == 0.25
        assert limiter.service.mean == pytest.approx(0.92)
        # 5 ahead, 0.46 s per slot: 2.76 s fits again.
        more, refused = await queue_up(limiter, 1)
        assert len(more) == 1 and refused == []
        waiting += more
    finally:
        await cancel_all(waiting)
    assert limiter.queued == 0


async def test_queue_size_stays_a_hard_bound_whatever_the_estimate() -> None:
    limiter = pool_plugin.TaskLimiter(1, queue_size=3, timeout=30)
    await limiter.acquire()
    held_for(limiter, 0.001)  # a thousand calls a second: 30 s would hold 30,000
    waiting, refused = await queue_up(limiter, 5)
    try:
        assert len(waiting) == 3 and refused == ["queue_full", "queue_full"]
    finally:
        await cancel_all(waiting)


async def test_without_a_finished_call_there_is_no_estimate_and_the_queue_takes_calls() -> None:
    limiter = pool_plugin.TaskLimiter(1, queue_size=10, timeout=0.5)
    await limiter.acquire()
    waiting, refused = await queue_up(limiter, 10)
    try:
        assert len(waiting) == 10 and refused == [] and limiter.expected_wait() == 0
    finally:
        await cancel_all(waiting)


async def test_a_timed_out_waiter_makes_later_arrivals_behind_as_many_be_refused_at_once() -> None:
    limiter = pool_plugin.TaskLimiter(1, queue_size=10, timeout=0.05)
    await limiter.acquire()  # held and never released: Jira hangs
    held_for(limiter, 0.001)
    waiting, _ = await queue_up(limiter, 2)
    results = await asyncio.gather(*waiting, return_exceptions=True)
    assert [r.reason for r in results] == ["timeout", "timeout"]  # type: ignore[union-attr]
    # Two slots did not turn over in 0.05 s: anyone with a call ahead now expects more than that.
    assert limiter.service.mean == pytest.approx(0.05)
    first, refused = await queue_up(limiter, 2)
    try:
        assert len(first) == 1 and refused == ["expected_wait"]
    finally:
        await cancel_all(first)


async def test_the_pool_measures_how_long_calls_hold_a_slot_on_the_runtime_clock(sandbox: Any) -> None:
    """Through the MCP client: a call that held its slot 2 s (manual clock) sets the estimate; with one
    slot and a 3 s queue timeout the first waiter (2 s) queues, the second (4 s) is refused at once."""
    clock = ManualClock()
    async with serve(sandbox, clock, JIRAPLUG_POOL__MAX_CONCURRENT_TASKS="1",
                     JIRAPLUG_POOL__QUEUE_TIMEOUT_SECONDS="3") as (client, probe):
        tasks_state = pool_plugin.state_of
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(client.call_tool, "probe_wait", {})
            await until(lambda: probe.inside == 1, "the first call to hold the only slot")
            clock.advance(2.0)
            probe.gate.set()
        assert tasks_state(probe.runtime).tasks.service.mean == pytest.approx(2.0, abs=0.01)
        probe.gate = asyncio.Event()
        results: dict[str, Any] = {}

        async def run(name: str) -> None:
            results[name] = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(client.call_tool, "probe_wait", {})
            await until(lambda: probe.inside == 2, "a call to hold the only slot")
            tasks.start_soon(run, "queued")
            await until(lambda: tasks_state(probe.runtime).tasks.queued == 1, "the next call to queue")
            refused = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-2"})
            probe.gate.set()
        snapshot = tasks_state(probe.runtime).snapshot()["tasks"]
    assert refused.is_error and "about 4 s of work" in refused.content[0].text
    assert "pool.queue_timeout_seconds = 3" in refused.content[0].text
    assert not results["queued"].is_error
    assert snapshot["rejected"]["expected_wait"] == 1 and snapshot["queue_size"] == 1024
