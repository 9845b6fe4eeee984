"""Run ``jiraplug`` as real processes for tests: bounded in time, loopback only, output captured.

Each server runs in its own process group (killed by that group's id if it outlives the
test); stdout and stderr go to files so every byte can be scanned afterwards.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

READY_TIMEOUT_S = 60.0
_STRIPPED = ("JIRA", "OTEL_", "JIRAPLUG_")
_PROXIES = {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"}


def jiraplug_command() -> list[str]:
    """The console script next to this interpreter (else ``python -m jiraplug``)."""
    script = Path(sys.executable).with_name("jiraplug")
    return [str(script)] if script.exists() else [sys.executable, "-m", "jiraplug"]


def clean_env(**extra: str) -> dict[str, str]:
    """This environment without Jira, OpenTelemetry, jiraplug or proxy settings, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(_STRIPPED) and k not in _PROXIES}
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra)
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def run_cli(args: list[str], *, env: dict[str, str], cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """``jiraplug ARGS`` to completion, output captured."""
    return subprocess.run([*jiraplug_command(), *args], env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


@dataclass
class ServerProcess:
    """A running ``jiraplug serve --transport http``."""

    proc: subprocess.Popen[bytes]
    port: int
    stdout_path: Path
    stderr_path: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    def output(self) -> tuple[bytes, bytes]:
        return self.stdout_path.read_bytes(), self.stderr_path.read_bytes()

    def terminate(self) -> None:
        self.proc.send_signal(signal.SIGTERM)

    def wait(self, timeout: float) -> int | None:
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)

    def describe(self) -> str:
        out, err = self.output()
        return f"exit {self.proc.poll()}\n--- stderr ---\n{err.decode(errors='replace')[-4000:]}"


def _healthy(port: int) -> bool:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


@contextlib.contextmanager
def http_server(env: dict[str, str], cwd: Path, *extra_args: str) -> Iterator[ServerProcess]:
    """Start ``jiraplug serve --transport http`` on a free port; wait for ``/healthz``; kill if left running."""
    port = free_port()
    stdout_path, stderr_path = cwd / f"server-{port}.stdout", cwd / f"server-{port}.stderr"
    with open(stdout_path, "wb") as out, open(stderr_path, "wb") as err:
        proc = subprocess.Popen(
            [*jiraplug_command(), "serve", "--transport", "http", "--port", str(port), *extra_args],
            env=env, cwd=cwd, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True,
        )
    server = ServerProcess(proc, port, stdout_path, stderr_path)
    try:
        deadline = time.monotonic() + READY_TIMEOUT_S
        while not _healthy(port):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise AssertionError(f"the HTTP server did not become ready\n{server.describe()}")
            time.sleep(0.05)
        yield server
    finally:
        if proc.poll() is None:
            server.kill()
