"""The profiling plugin across processes: real OTLP export, and the CLI against an HTTP server.

* A stdio server process exports stage events, the stage histogram and the memory gauges
  to a real OTLP/HTTP receiver on loopback, under the documented names.
* ``jiraplug stats`` and ``jiraplug profile`` (the command line's ``main``) read a running
  ``jiraplug serve --transport http`` process through the MCP client, with its bearer token;
  the profile is an HTML flame graph naming jiraplug functions.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from jiraplug.sandbox import SandboxServer
from tests.conftest import sandbox_environ
from tests.test_http import clean_env, serving

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif("profiling" in os.environ.get("JIRAPLUG_DISABLE_PLUGINS", "").split(","),
                       reason="the profiling plugin is disabled in this environment"),
]

TOKEN = "prof-http-t0ken"
SEARCH = {"jql": "project = PLAT ORDER BY key ASC", "limit": 3, "fields": "summary"}


async def test_stage_events_histogram_and_memory_gauges_reach_an_otlp_receiver(otlp_receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with SandboxServer(flavour="cloud", seed=5, port=0) as sandbox:
        env = clean_env(**sandbox_environ(sandbox), **otlp_receiver.env(), OTEL_SERVICE_NAME="jiraplug-prof")
        params = StdioServerParameters(command=sys.executable, args=["-m", "jiraplug", "serve"], env=env,
                                       cwd=str(tmp_path))
        async with Client(params, cache=None) as client:
            result = await client.call_tool("jira_search", SEARCH)
            assert not result.is_error, result.content
            # The gauges report while the server runs: wait for a periodic export (500 ms).
            rss = await anyio.to_thread.run_sync(otlp_receiver.wait_for_metric, "jiraplug.profiling.memory.rss")
        secret = sandbox.default_user.api_token

    assert rss.unit == "By" and rss.type == "gauge" and rss.data_points[0].value > 10 * 2**20
    peak = otlp_receiver.wait_for_metric("jiraplug.profiling.memory.peak")
    assert peak.unit == "By" and peak.data_points[0].value >= rss.data_points[0].value

    span = otlp_receiver.wait_for_span("tools/call jira_search")
    events = [e for e in span.events if e.name == "jiraplug.stage"]
    names = [e.attributes["jiraplug.stage.name"] for e in events]
    assert names[names.index("validation"):].count("jira.request") >= 1, names
    assert "validation" in names and "jira.request" in names
    request = next(e for e in events if e.attributes["jiraplug.stage.name"] == "jira.request")
    assert request.attributes["jiraplug.stage.operation"] == "search.jql"
    assert 0 < request.attributes["jiraplug.stage.duration"] < 30

    histogram = otlp_receiver.wait_for_metric("jiraplug.profiling.stage.duration")
    assert histogram.unit == "s" and histogram.type == "histogram"
    points = {(p.attributes["stage"], p.attributes["gen_ai.tool.name"]): p.count for p in histogram.data_points}
    assert points[("jira.request", "jira_search")] >= 1 and points[("validation", "jira_search")] == 1
    assert secret not in otlp_receiver.attribute_text()


@contextmanager
def http_server(tmp_path: Path, **env: str) -> Iterator[str]:
    """A ``jiraplug serve --sandbox`` over HTTP; yields its MCP endpoint."""
    with serving(tmp_path, **env) as base:
        yield f"{base}/mcp"


def run_cli(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    """``jiraplug ARGS`` in this process (the command line's own code path, minus a start-up)."""
    from jiraplug.cli import main

    status = main(list(args))
    out, err = capsys.readouterr()
    return status, out, err


async def test_stats_and_profile_commands_read_a_running_http_server(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIRAPLUG_HTTP_TOKEN", raising=False)
    output = tmp_path / "live.html"
    with http_server(tmp_path, JIRAPLUG_HTTP_TOKEN=TOKEN, JIRAPLUG_PROFILING__ADMIN_TOOLS="true") as url:
        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {TOKEN}"}) as http:
            async with Client(streamable_http_client(url, http_client=http), cache=None) as client:
                for _ in range(3):
                    assert not (await client.call_tool("jira_search", SEARCH)).is_error

                status, stats, err = await anyio.to_thread.run_sync(
                    run_cli, capsys, "stats", "--url", url, "--token", TOKEN)
                assert status == 0, err
                row = next(line for line in stats.splitlines() if line.startswith("jira_search"))
                assert row.split()[1] == "3" and "p95 ms" in stats

                status, _, refused = await anyio.to_thread.run_sync(run_cli, capsys, "stats", "--url", url)
                assert status == 2 and refused.count("\n") == 1
                assert "401" in refused and "--token" in refused and "Traceback" not in refused

                # The profile command samples the server while it is kept busy.
                done: list[tuple[int, str, str]] = []

                async def profile() -> None:
                    done.append(await anyio.to_thread.run_sync(
                        run_cli, capsys, "profile", "--url", url, "--token", TOKEN, "--seconds", "1.5",
                        "--output", str(output)))

                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(profile)
                    with anyio.fail_after(60):
                        while not done:
                            await client.call_tool("jira_search", SEARCH)
                            await anyio.sleep(0.01)
                assert done[0][0] == 0, done[0][2]
                assert "wrote a html profile of 1.5 s" in done[0][2]
        log = (tmp_path / "server.log").read_text()

    html = output.read_text(encoding="utf-8")
    assert html.startswith("<!DOCTYPE html>") and len(html) > 10_000
    # Frames of the live server: the tool, the Jira client, jiraplug's own tool-call middleware.
    assert "jira_search" in html and "/core/jira/client.py" in html and "core/server/toolcalls.py" in html
    assert TOKEN not in html and TOKEN not in stats + refused and TOKEN not in log


def test_profile_command_explains_what_is_missing(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JIRAPLUG_HTTP_TOKEN", raising=False)
    status, _, err = run_cli(capsys, "profile", "--url", "http://127.0.0.1:9/mcp", "--output", "x.txt")
    assert status == 2 and "expected a file ending in .html or .speedscope.json" in err
    with http_server(tmp_path) as url:
        status, _, err = run_cli(capsys, "profile", "--url", url, "--seconds", "1", "--output", "p.html")
        assert status == 2 and "admin_tools = true" in err
        status, _, err = run_cli(capsys, "stats", "--url", url.removesuffix("/mcp") + "/nope")
        assert status == 2 and "is --url the MCP endpoint" in err
    assert not (tmp_path / "p.html").exists()
