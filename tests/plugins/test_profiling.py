"""The profiling plugin in process: stage events and histograms, the timing report, memory, profiles.

Servers are driven by the MCP SDK client in memory against the sandbox over loopback HTTP.
A small test plugin provides a tool that goes through the stages a real tool does (Jira
round trip, parse, render) plus one custom checkpoint, and a middleware that reports a
wait measured elsewhere (``record_stage``), the way the pool and rate-limit plugins do.
"""

from __future__ import annotations

import json
import logging
import tracemalloc
from typing import Any

import anyio
import pytest
from mcp import Client

from jiraplug import hookimpl
from jiraplug.bootstrap import bootstrap
from jiraplug.sandbox import SandboxServer
from jiraplug.server.build import build_server
from jiraplug.stages import RENDER, record_stage, stage
from jiraplug.tool_errors import UserFacingError
from jiraplug.server.toolcalls import current_call
from tests.conftest import sandbox_environ

pytestmark = pytest.mark.anyio


class StagedTool:
    """A test plugin: a tool with a custom checkpoint, and a middleware reporting a measured wait."""

    @hookimpl
    def register_tools(self, registry):  # type: ignore[no-untyped-def]
        async def staged_issue(issue_key: str, fail: bool = False) -> str:
            """Read an issue's summary, with a custom checkpoint."""
            with stage("probe.step", detail="custom"):
                issue = await current_call().jira.get_issue(issue_key, fields=["summary"])
            if fail:
                raise UserFacingError("asked to fail")
            with stage(RENDER):
                return str(issue["fields"]["summary"]).upper()

        def sync_probe(word: str) -> str:
            """A synchronous tool (runs on a worker thread)."""
            return word[::-1]

        registry.add(staged_issue)
        registry.add(sync_probe)

    @hookimpl
    def tool_call_middleware(self, runtime):  # type: ignore[no-untyped-def]
        def wrap(call_next):  # type: ignore[no-untyped-def]
            async def waited(call):  # type: ignore[no-untyped-def]
                record_stage("probe.wait", 0.004, queue="test")
                return await call_next(call)

            return waited

        return wrap


def make_server(sandbox: SandboxServer, **environ: str):  # type: ignore[no-untyped-def]
    app = bootstrap(environ={**sandbox_environ(sandbox), **environ}, extra_plugins={"staged": StagedTool()})
    return build_server(app.settings, app.plugins), app


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)


async def read_json(client: Client, uri: str) -> Any:
    return json.loads((await client.read_resource(uri)).contents[0].text)


def stage_points(otel_memory: Any) -> dict[tuple[str, str], int]:
    """(stage, tool) -> count of the stage histogram (cumulative for the session)."""
    return {
        (p.attributes["stage"], p.attributes["gen_ai.tool.name"]): p.count
        for p in otel_memory.metrics().get("jiraplug.profiling.stage.duration", [])
    }


async def test_stages_become_span_events_and_histogram_points(cloud_sandbox: Any, otel_memory: Any) -> None:
    server, _ = make_server(cloud_sandbox, JIRAPLUG_DISABLE_PLUGINS="cache")
    before = stage_points(otel_memory)
    async with Client(server, cache=None) as client:
        result = await client.call_tool("staged_issue", {"issue_key": "PLAT-3"})
        assert not result.is_error, result.content
        assert (await client.call_tool("sync_probe", {"word": "abc"})).content[0].text == "cba"
    spans = {s.name: s for s in otel_memory.spans() if s.name.startswith("tools/call")}
    events = [e for e in spans["tools/call staged_issue"].events if e.name == "jiraplug.stage"]
    by_stage = {e.attributes["jiraplug.stage.name"]: e.attributes for e in events}
    mine = ["probe.wait", "validation", "jira.request", "parse", "probe.step", "render"]
    # In call order (other plugins, e.g. pool, may add their own stages in between).
    assert [name for name in by_stage if name in mine] == mine
    assert by_stage["probe.wait"]["jiraplug.stage.duration"] == 0.004
    assert by_stage["probe.wait"]["jiraplug.stage.queue"] == "test"
    assert by_stage["jira.request"]["jiraplug.stage.operation"] == "issue.get"
    assert by_stage["probe.step"]["jiraplug.stage.detail"] == "custom"
    # The custom stage encloses the Jira round trip, so it cannot be shorter.
    assert by_stage["probe.step"]["jiraplug.stage.duration"] >= by_stage["jira.request"]["jiraplug.stage.duration"]
    sync_events = [e.attributes["jiraplug.stage.name"] for e in spans["tools/call sync_probe"].events]
    assert [n for n in sync_events if n in mine] == ["probe.wait", "validation"]  # body start seen from a worker thread

    after = stage_points(otel_memory)
    for key in [(name, "staged_issue") for name in mine] + [("validation", "sync_probe")]:
        assert after.get(key, 0) == before.get(key, 0) + 1, key


async def test_timing_report_counts_errors_percentiles_and_cache_hits(cloud_sandbox: Any) -> None:
    server, _ = make_server(cloud_sandbox)
    async with Client(server, cache=None) as client:
        for _ in range(3):
            assert not (await client.call_tool("staged_issue", {"issue_key": "PLAT-5"})).is_error
        assert (await client.call_tool("staged_issue", {"issue_key": "PLAT-5", "fail": True})).is_error
        assert (await client.call_tool("staged_issue", {"issue_key": 12})).is_error  # fails validation
        report = await read_json(client, "jiraplug://stats")
    tool = report["tools"]["staged_issue"]
    assert tool["count"] == 5 and tool["errors"] == 2 and tool["error_rate"] == 0.4
    latency = tool["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"]
    assert report["stages"]["jira.request"]["count"] >= 1
    assert report["memory"]["rss_bytes"] > 0 and report["memory"]["peak_bytes"] >= report["memory"]["rss_bytes"]
    # The cache plugin is on: four reads of one issue, the first a miss.
    assert report["cache"]["hits"] >= 3 and report["cache"]["misses"] >= 1
    assert 0 < report["cache"]["hit_rate"] < 1


async def test_report_without_the_cache_plugin_has_no_cache_figures(cloud_sandbox: Any) -> None:
    server, _ = make_server(cloud_sandbox, JIRAPLUG_DISABLE_PLUGINS="cache")
    async with Client(server, cache=None) as client:
        assert not (await client.call_tool("staged_issue", {"issue_key": "PLAT-5"})).is_error
        report = await read_json(client, "jiraplug://stats")
    assert report["cache"] is None and report["tools"]["staged_issue"]["cache_hit_rate"] is None


async def test_memory_gauges_report_while_the_server_runs(cloud_sandbox: Any, otel_memory: Any) -> None:
    server, _ = make_server(cloud_sandbox)
    async with Client(server, cache=None) as client:
        await client.call_tool("sync_probe", {"word": "x"})
        running = otel_memory.metrics()
    stopped = otel_memory.metrics()
    rss = running["jiraplug.profiling.memory.rss"][-1].value
    peak = running["jiraplug.profiling.memory.peak"][-1].value
    assert 10 * 2**20 < rss <= peak
    assert "jiraplug.profiling.memory.rss" not in stopped  # nobody profiled is running: no observation


async def test_tracemalloc_is_opt_in_and_lists_top_allocations(cloud_sandbox: Any) -> None:
    assert not tracemalloc.is_tracing()
    server, _ = make_server(cloud_sandbox, JIRAPLUG_PROFILING__TRACEMALLOC="true",
                            JIRAPLUG_PROFILING__TOP_ALLOCATIONS="5")
    async with Client(server, cache=None) as client:
        assert tracemalloc.is_tracing()
        await client.call_tool("staged_issue", {"issue_key": "PLAT-1"})
        report = await read_json(client, "jiraplug://stats")
    assert not tracemalloc.is_tracing()  # stopped with the server that started it
    top = report["memory"]["top_allocations"]
    assert 1 <= len(top) <= 5 and all(row["size_bytes"] > 0 and ":" in row["where"] for row in top)
    assert report["memory"]["tracemalloc"]["current_bytes"] > 0


async def test_timing_report_is_logged_every_interval(cloud_sandbox: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="jiraplug.profiling.report")
    server, _ = make_server(cloud_sandbox, JIRAPLUG_PROFILING__LOG_INTERVAL_SECONDS="0.05")
    async with Client(server, cache=None) as client:
        await client.call_tool("sync_probe", {"word": "x"})
        with anyio.fail_after(10):
            while "sync_probe" not in caplog.text:
                await anyio.sleep(0.02)
    assert "timing report" in caplog.text and "p95 ms" in caplog.text


async def test_profile_tool_is_admin_only_and_samples_the_live_server(cloud_sandbox: Any) -> None:
    server, _ = make_server(cloud_sandbox)
    async with Client(server, cache=None) as client:
        assert "jiraplug_profile" not in {t.name for t in (await client.list_tools()).tools}

    server, _ = make_server(cloud_sandbox, JIRAPLUG_PROFILING__ADMIN_TOOLS="true",
                            JIRAPLUG_PROFILING__MAX_PROFILE_SECONDS="2", JIRAPLUG_DISABLE_PLUGINS="cache")
    async with Client(server, cache=None) as client:
        too_long = await client.call_tool("jiraplug_profile", {"seconds": 5})
        assert too_long.is_error and "max_profile_seconds" in too_long.content[0].text
        results: dict[str, Any] = {}

        async def profile(fmt: str) -> None:
            results[fmt] = await client.call_tool("jiraplug_profile", {"seconds": 0.6, "format": fmt})

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(profile, "speedscope")
            await anyio.sleep(0.05)
            tasks.start_soon(profile, "html")  # a second profile while one runs is refused
            for n in range(15):
                await client.call_tool("staged_issue", {"issue_key": f"PLAT-{n + 1}"})
    assert results["html"].is_error and "already running" in results["html"].content[0].text
    speedscope = json.loads(results["speedscope"].content[0].text)
    assert speedscope["$schema"].startswith("https://www.speedscope.app/")
    frames = {frame["name"] for frame in speedscope["shared"]["frames"]}
    assert {"staged_issue", "get_issue", "request"} <= frames


async def test_disabled_profiling_runs_nothing(cloud_sandbox: Any, otel_memory: Any) -> None:
    server, app = make_server(cloud_sandbox, JIRAPLUG_DISABLE_PLUGINS="profiling",
                              JIRAPLUG_PROFILING__ADMIN_TOOLS="true")
    before = stage_points(otel_memory)
    async with Client(server, cache=None) as client:
        assert not (await client.call_tool("staged_issue", {"issue_key": "PLAT-2"})).is_error
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        tools = {t.name for t in (await client.list_tools()).tools}
        running = otel_memory.metrics()
    assert app.plugins.info("profiling").loaded is False
    assert "jiraplug://stats" not in resources and "jiraplug_profile" not in tools
    span = next(s for s in otel_memory.spans() if s.name == "tools/call staged_issue")
    assert [e for e in span.events if e.name == "jiraplug.stage"] == []
    assert stage_points(otel_memory) == before
    assert "jiraplug.profiling.memory.rss" not in running


async def test_bad_profiling_settings_fail_at_start_naming_the_key() -> None:
    from jiraplug.errors import ConfigError

    with pytest.raises(ConfigError, match="profiling.log_interval_seconds"):
        bootstrap(environ={"JIRAPLUG_PROFILING__LOG_INTERVAL_SECONDS": "-5"})
    with pytest.raises(ConfigError, match="profiling.tracemaloc.*did you mean 'tracemalloc'"):
        bootstrap(environ={"JIRAPLUG_PROFILING__TRACEMALOC": "true"})
