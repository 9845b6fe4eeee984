"""``jiraplug serve --transport http --workers N`` (issue 16, part 3): real processes on loopback.

The supervisor starts N workers on one port (``SO_REUSEPORT``). Proven here: fresh
connections reach both workers (their pids differ in ``/healthz``); MCP clients of both
protocol generations get every call answered whichever worker a request lands on (sessions
would break without stateless HTTP); start-up warns that each worker keeps its own cache and
rate budget and names the settings that share them; SIGTERM drains like a single server (the
call in flight completes, the port closes, the workers exit, status 0).
"""

from __future__ import annotations

import json
import os
import time
import urllib.request
from pathlib import Path

import anyio
import httpx2
import pytest
from mcp import Client

from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.knobs import Knobs
from jiraplug.server import workers
from jiraplug.server.workers import Supervisor, unshared_state_warning, with_instance_id
from tests.conftest import sandbox_environ
from tests.hostile.processes import clean_env, http_server, run_cli
from tests.test_shutdown import EXIT_TIMEOUT_S, _refuses_connections, _wait_until

pytestmark = pytest.mark.anyio

CONNECTIONS = 24  # fresh connections: all on one of two workers by chance has odds 2 x 2**-24


def healthz_pid(port: int) -> int:
    """The pid of the worker that answered ``/healthz`` on a new connection."""
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as response:
        return int(json.loads(response.read())["pid"])


def worker_pids(port: int, wanted: int = 2, timeout: float = 60.0) -> set[int]:
    """Pids seen on fresh connections, polling until ``wanted`` workers answer (they start one by one)."""
    seen: set[int] = set()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen |= {healthz_pid(port) for _ in range(CONNECTIONS)}
        if len(seen) >= wanted:
            break
        time.sleep(0.2)
    return seen


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture
def sandbox():  # type: ignore[no-untyped-def]
    with SandboxServer(flavour="cloud", seed=1, port=0) as sb:
        yield sb


async def test_two_workers_answer_on_one_port_and_every_client_call_succeeds(sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with http_server(clean_env(**sandbox_environ(sandbox)), tmp_path, "--workers", "2") as server:
        pids = worker_pids(server.port)
        assert len(pids) == 2 and server.proc.pid not in pids, pids
        # Each client is new connections: requests of one 2025 session land on either worker.
        for mode in ["legacy", "auto"] * 4:
            async with Client(server.url, cache=None, mode=mode) as client:
                for key in ("PLAT-1", "MOB-1", "PLAT-2"):
                    result = await client.call_tool("jira_get_issue", {"issue_key": key})
                    assert not result.is_error, (mode, result.content)
                    assert result.structured_content["key"] == key
        server.terminate()
        assert server.wait(EXIT_TIMEOUT_S) == 0, server.describe()
        _, stderr = server.output()
    text = stderr.decode()
    assert "with 2 worker processes" in text
    assert "each with its own cache" in text and "its own rate budget" in text
    for name in ("JIRAPLUG_CACHE__BACKEND=redis", "JIRAPLUG_CACHE__REDIS_URL", "JIRAPLUG_RATELIMIT__BACKEND=redis",
                 "JIRAPLUG_RATELIMIT__REDIS_URL"):
        assert name in text
    assert "stateless HTTP" in text
    assert "Traceback" not in text and sandbox.default_user.api_token not in text
    assert not any(alive(pid) for pid in pids)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_sigterm_drains_every_worker_and_the_supervisor_exits_zero(mode: str, sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with http_server(clean_env(**sandbox_environ(sandbox)), tmp_path, "--workers", "2") as server:
        pids = worker_pids(server.port)
        sandbox.set_knobs(Knobs(latency_ms=3000))
        opened = sandbox.connections_opened
        outcome: dict[str, object] = {}
        try:
            async with Client(server.url, cache=None, mode=mode) as client:
                await client.list_tools()  # else the client asks for it after the result, when the port is closed

                async def slow_call() -> None:
                    try:
                        outcome["result"] = await client.call_tool("jira_get_issue", {"issue_key": "MOB-1"})
                    except BaseException as exc:
                        outcome["error"] = repr(exc)
                        raise

                async with anyio.create_task_group() as tasks:
                    tasks.start_soon(slow_call)
                    await _wait_until(lambda: sandbox.connections_opened > opened)  # the call waits on Jira
                    server.terminate()
                    refused = await anyio.to_thread.run_sync(_refuses_connections, server.port)
                    assert refused, "a worker still accepts connections after SIGTERM\n" + server.describe()
                    assert "result" not in outcome, "the call finished before SIGTERM: the test proves nothing"
        except* httpx2.ConnectError:
            pass  # the client's goodbye finds the port closed
        rc = await anyio.to_thread.run_sync(server.wait, EXIT_TIMEOUT_S)
        assert rc == 0, server.describe()
        _, stderr = server.output()
    assert "result" in outcome, (outcome, stderr.decode()[-3000:])
    result = outcome["result"]
    assert not result.is_error and result.structured_content["key"] == "MOB-1"  # type: ignore[attr-defined]
    assert b"Traceback" not in stderr and b"did not stop" not in stderr
    assert not any(alive(pid) for pid in pids)


def test_a_worker_that_dies_is_replaced(sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    with http_server(clean_env(**sandbox_environ(sandbox)), tmp_path, "--workers", "2") as server:
        pids = worker_pids(server.port)
        time.sleep(5)  # past the start-up window: a later death is bad luck, not a broken start
        victim = min(pids)
        os.kill(victim, 9)
        deadline = time.monotonic() + 60
        now: set[int] = set()
        while time.monotonic() < deadline and (len(now) < 2 or victim in now):
            try:
                now = {healthz_pid(server.port) for _ in range(CONNECTIONS)}
            except OSError:  # a connection queued on the killed worker's socket is reset
                now = set()
            time.sleep(0.2)
        assert len(now) == 2 and victim not in now, (pids, now)
        server.terminate()
        assert server.wait(EXIT_TIMEOUT_S) == 0, server.describe()
        _, stderr = server.output()
    assert f"worker 0 (pid {victim})".encode() in stderr or f"worker 1 (pid {victim})".encode() in stderr


def test_the_supervisor_sleeps_until_a_worker_exits(monkeypatch: pytest.MonkeyPatch) -> None:
    """Idle, the supervisor does not poll; a worker's exit (SIGCHLD) wakes it to start another at once.

    With a 30 s look interval, only the wake-up explains a replacement within 10 s; a loop that
    polled (it did, every 0.1 s) would have looked about 15 times in the 1.5 s idle.
    """
    import sys
    import threading

    monkeypatch.setattr(workers, "LOOK_SECONDS", 30.0)
    supervisor = Supervisor(command=[sys.executable, "-c", "import time; time.sleep(60)"], count=1,
                            env=dict(os.environ), log=lambda text: None)
    seen: dict[str, float] = {}

    def drive() -> None:
        try:
            deadline = time.monotonic() + 20
            while not supervisor.workers and time.monotonic() < deadline:
                time.sleep(0.01)
            time.sleep(1.5)  # idle
            seen["looks while idle"] = supervisor.looks
            first = supervisor.workers[0].process
            first.kill()
            killed = time.monotonic()
            while supervisor.workers[0].process is first and time.monotonic() < deadline:
                time.sleep(0.01)
            seen["replaced after"] = time.monotonic() - killed
        finally:  # whatever happened above, end the loop: a stop, then a wake-up
            supervisor.signals = 1
            for worker in supervisor.workers:
                worker.process.kill()

    driver = threading.Thread(target=drive)
    driver.start()
    try:
        assert supervisor.run() == 0
    finally:
        driver.join(30)
        for worker in supervisor.workers:
            if worker.process.poll() is None:
                worker.process.kill()
    assert seen["looks while idle"] == 0, seen
    assert seen["replaced after"] < 10, seen


def test_workers_need_http_and_a_free_port(sandbox, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    env = clean_env(**sandbox_environ(sandbox))
    done = run_cli(["serve", "--workers", "2"], env=env, cwd=tmp_path)
    assert done.returncode == 2 and "--workers 2 needs --transport http" in done.stderr
    done = run_cli(["serve", "--transport", "http", "--workers", "0"], env=env, cwd=tmp_path)
    assert done.returncode == 2 and "--workers: expected a whole number from 1 to 64, got '0'" in done.stderr
    with http_server(env, tmp_path) as single:  # a one-process server (no SO_REUSEPORT) holds the port
        done = run_cli(["serve", "--transport", "http", "--port", str(single.port), "--workers", "2"],
                       env=env, cwd=tmp_path)
        assert done.returncode == 2 and f"cannot listen on 127.0.0.1:{single.port}" in done.stderr, done.stderr
        assert healthz_pid(single.port) == single.proc.pid


def test_the_warning_is_only_for_in_process_backends() -> None:
    from jiraplug.bootstrap import bootstrap

    settings = bootstrap(environ={"JIRA_URL": "http://127.0.0.1:9"}).settings
    assert unshared_state_warning(settings, 1) is None
    assert "[cache] backend" in (unshared_state_warning(settings, 2) or "")
    settings = bootstrap(environ={"JIRA_URL": "http://127.0.0.1:9",
                                  "JIRAPLUG_DISABLE_PLUGINS": "cache,ratelimit"}).settings
    assert unshared_state_warning(settings, 4) is None


def test_each_worker_reports_telemetry_as_its_own_instance() -> None:
    assert with_instance_id("", 1).endswith("/worker-1") and with_instance_id("", 1).startswith("service.instance.id=")
    assert with_instance_id("deployment.environment=prod,service.instance.id=pod-a", 0) == (
        "deployment.environment=prod,service.instance.id=pod-a/worker-0")


async def test_two_workers_share_the_cache_through_redis(sandbox, redis_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A comment added through one worker is seen by reads on both: 0 stale reads across workers."""
    env = clean_env(**sandbox_environ(sandbox), JIRAPLUG_CACHE__BACKEND="redis",
                    JIRAPLUG_CACHE__REDIS_URL=redis_server.url, JIRAPLUG_RATELIMIT__BACKEND="redis",
                    JIRAPLUG_RATELIMIT__REDIS_URL=redis_server.url)
    with http_server(env, tmp_path, "--workers", "2") as server:
        _, stderr = server.output()
        assert b"each with its own cache" not in stderr
        for _ in range(6):  # warm the cache through connections that reach either worker
            async with Client(server.url, cache=None) as client:
                await client.call_tool("jira_get_issue", {"issue_key": "PLAT-3"})
        async with Client(server.url, cache=None) as client:
            added = await client.call_tool("jira_add_comment", {"issue_key": "PLAT-3", "body": "seen-by-all-workers"})
            assert not added.is_error, added.content
        for _ in range(12):
            async with Client(server.url, cache=None) as client:
                read = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-3"})
                assert "seen-by-all-workers" in json.dumps(read.structured_content), "a stale read"
        server.terminate()
        assert server.wait(EXIT_TIMEOUT_S) == 0, server.describe()
