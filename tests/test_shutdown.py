"""Graceful shutdown (issue 9 item 8): SIGTERM to a real ``jiraplug serve`` (HTTP, and stdio).

A tool call is made slow by the sandbox's latency knob. SIGTERM arrives while Jira is still
answering it: the call completes successfully, the listening socket is closed at once (a
new connection is refused), the process exits 0, and the spans and metrics of the call
reach a real OTLP receiver although the exporters' own schedules are far in the future,
so only the flush on shutdown can have sent them.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
import uvicorn
from mcp import Client

from jiraplug.sandbox import SandboxServer
from jiraplug.server.drain import StopAwareServer
from jiraplug.sandbox.knobs import Knobs
from tests.conftest import sandbox_environ
from tests.hostile.processes import clean_env, http_server, jiraplug_command

pytestmark = pytest.mark.anyio

LATENCY_MS = 3000  # how long Jira takes to answer the in-flight call
EXIT_TIMEOUT_S = 20.0  # uvicorn's graceful timeout is 10 s; the process must be gone well before this
NEVER_MS = "600000"  # exporter schedules that cannot fire during the test


def _refuses_connections(port: int, timeout: float = 5.0) -> bool:
    """Whether ``port`` starts refusing TCP connections within ``timeout`` (polling, bounded)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                pass
        except ConnectionRefusedError:
            return True
        except OSError:
            pass
        time.sleep(0.05)
    return False


async def _wait_until(predicate, timeout: float = 10.0) -> None:  # type: ignore[no-untyped-def]
    with anyio.fail_after(timeout):
        while not predicate():
            await anyio.sleep(0.01)


@pytest.mark.parametrize("mode", ["legacy", "auto"])  # 2025 sessions with SSE answers; 2026-07-28 per request
async def test_sigterm_lets_the_in_flight_call_finish_refuses_new_ones_and_flushes(
    mode: str, otlp_receiver, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    with SandboxServer(flavour="cloud", seed=1, port=0) as sandbox:
        env = clean_env(**sandbox_environ(sandbox), **{**otlp_receiver.env(), "OTEL_BSP_SCHEDULE_DELAY": NEVER_MS,
                        "OTEL_METRIC_EXPORT_INTERVAL": NEVER_MS}, OTEL_SERVICE_NAME="jiraplug-shutdown")
        with http_server(env, tmp_path) as server:
            sandbox.set_knobs(Knobs(latency_ms=LATENCY_MS))
            opened = sandbox.connections_opened
            outcome: dict[str, object] = {}
            try:
                async with Client(server.url, cache=None, mode=mode) as client:
                    await client.list_tools()  # as clients do; the result is checked against outputSchema

                    async def slow_call() -> None:
                        outcome["result"] = await client.call_tool("jira_get_issue", {"issue_key": "MOB-1"})

                    async with anyio.create_task_group() as tasks:
                        tasks.start_soon(slow_call)
                        # The server's Jira client connected: the call is inside the server, waiting on Jira.
                        await _wait_until(lambda: sandbox.connections_opened > opened)
                        server.terminate()
                        refused = await anyio.to_thread.run_sync(_refuses_connections, server.port)
                        assert refused, "the server still accepts connections after SIGTERM\n" + server.describe()
                        assert "result" not in outcome, "the call finished before SIGTERM: the test proves nothing"
            except* httpx2.ConnectError:
                pass  # the client's goodbye after the call finds the server no longer accepting connections
            rc = await anyio.to_thread.run_sync(server.wait, EXIT_TIMEOUT_S)
            assert rc == 0, server.describe()
            _, stderr = server.output()

    assert "result" in outcome, "the in-flight call did not complete"
    result = outcome["result"]
    assert not result.is_error, result.content  # type: ignore[attr-defined]
    assert result.structured_content["key"] == "MOB-1"  # type: ignore[attr-defined]
    assert b"Traceback" not in stderr, stderr.decode(errors="replace")
    assert [r for r in sandbox.request_log if r.path.endswith("/issue/MOB-1")][0].status == 200

    span = otlp_receiver.wait_for_span("tools/call jira_get_issue", timeout=5)
    assert span.status_code != "ERROR"
    jira_spans = [s for s in otlp_receiver.children_of(span) if s.kind == "CLIENT"]
    assert jira_spans and jira_spans[0].attributes["http.response.status_code"] == 200
    assert otlp_receiver.wait_for_metric("mcp.server.operation.duration", timeout=5).data_points


def test_sigterm_before_any_call_exits_zero_quickly(tmp_path: Path) -> None:
    """An idle server stops at once on SIGTERM, with exit status 0 (not killed by the signal)."""
    with SandboxServer(flavour="dc", seed=1, port=0) as sandbox:
        with http_server(clean_env(**sandbox_environ(sandbox)), tmp_path) as server:
            server.terminate()
            assert server.wait(EXIT_TIMEOUT_S) == 0, server.describe()
            assert _refuses_connections(server.port, timeout=1)


def test_sigterm_stops_a_stdio_server_whose_client_keeps_stdin_open(otlp_receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """stdio: SIGTERM ends the process with 0 although stdin stays open, after flushing the call's spans."""
    with SandboxServer(flavour="cloud", seed=1, port=0) as sandbox:
        env = clean_env(**sandbox_environ(sandbox), **{**otlp_receiver.env(), "OTEL_BSP_SCHEDULE_DELAY": NEVER_MS,
                        "OTEL_METRIC_EXPORT_INTERVAL": NEVER_MS}, OTEL_SERVICE_NAME="jiraplug-stdio-stop")
        proc = subprocess.Popen([*jiraplug_command(), "serve"], env=env, cwd=tmp_path, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            answers = _exchange(proc, [
                {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
                    "protocolVersion": "2025-06-18", "capabilities": {}, "clientInfo": {"name": "t", "version": "1"}}},
                {"jsonrpc": "2.0", "method": "notifications/initialized"},
                {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
                 "params": {"name": "jira_get_issue", "arguments": {"issue_key": "MOB-1"}}},
            ])
            assert answers[2]["result"]["isError"] is False, answers[2]
            proc.send_signal(signal.SIGTERM)  # stdin is still open: the client did not hang up
            assert proc.wait(EXIT_TIMEOUT_S) == 0
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
    span = otlp_receiver.wait_for_span("tools/call jira_get_issue", timeout=5)
    assert span.resource["service.name"] == "jiraplug-stdio-stop"


def _exchange(proc: subprocess.Popen[bytes], messages: list[dict[str, Any]]) -> dict[int, dict[str, Any]]:
    """Send JSON-RPC lines; read answers until every request id is answered (bounded by a timer)."""
    assert proc.stdin is not None and proc.stdout is not None
    for message in messages:
        proc.stdin.write(json.dumps(message).encode() + b"\n")
    proc.stdin.flush()
    wanted = {m["id"] for m in messages if "id" in m}
    answers: dict[int, dict[str, Any]] = {}
    timer = threading.Timer(30, lambda: os.killpg(proc.pid, signal.SIGKILL))  # a hung server fails, not hangs
    timer.start()
    try:
        while wanted - set(answers):
            line = proc.stdout.readline()
            assert line, "the server closed stdout"
            data = json.loads(line)
            if data.get("id") in wanted:
                answers[data["id"]] = data
    finally:
        timer.cancel()
    return answers


class _CountingServer(StopAwareServer):
    """Counts the main loop's ticks; ticks rarely, so only the stop itself can end the loop in time."""

    tick_seconds = 30.0

    def __init__(self, config: uvicorn.Config) -> None:
        super().__init__(config)
        self.ticks = 0

    async def on_tick(self, counter: int) -> bool:
        self.ticks += 1
        return await super().on_tick(counter)


async def _lifespan_only(scope, receive, send) -> None:  # type: ignore[no-untyped-def]
    if scope["type"] == "lifespan":
        while (await receive())["type"] != "lifespan.shutdown":
            await send({"type": "lifespan.startup.complete"})
        await send({"type": "lifespan.shutdown.complete"})


async def test_a_stop_taken_back_leaves_the_server_sleeping() -> None:
    """``should_exit`` set and then unset: the loop wakes once and sleeps again (it used to spin)."""
    import socket as sockets

    listener = sockets.create_server(("127.0.0.1", 0))
    server = _CountingServer(uvicorn.Config(_lifespan_only, log_level="warning"))
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(server.serve, [listener])
            await _wait_until(lambda: server.started)
            server.should_exit = True
            server.should_exit = False  # before the loop has seen the first
            await anyio.sleep(0.5)
            assert server.ticks <= 2, f"the loop spun: {server.ticks} ticks"
            server.should_exit = True
    assert server.ticks <= 3


async def test_an_idle_server_sleeps_until_it_is_stopped() -> None:
    """The server's main loop waits for its stop (a signal handler, another thread) instead of polling.

    uvicorn's own loop wakes every 0.1 s to look at ``should_exit``; each wake-up of an idle
    process costs CPU. With a 30 s tick, a loop that ticked, or that noticed the stop only on
    its next tick, would not have stopped within the 10 s allowed here.
    """
    import socket as sockets

    listener = sockets.create_server(("127.0.0.1", 0))
    server = _CountingServer(uvicorn.Config(_lifespan_only, log_level="warning"))
    with anyio.fail_after(10):
        async with anyio.create_task_group() as tasks:  # ends when serve() has returned
            tasks.start_soon(server.serve, [listener])
            await _wait_until(lambda: server.started)
            await anyio.sleep(1.5)  # idle: uvicorn's loop would have ticked 15 times by now
            assert server.ticks == 1, "the loop woke up although nothing asked it to"
            # From another thread, as a signal handler or a test would.
            threading.Thread(target=setattr, args=(server, "should_exit", True)).start()
    assert server.ticks == 2, "the stop was noticed by a tick, not by the wake-up"
