"""The processes of a run: a sandbox Jira and ``jiraplug serve --transport http`` on loopback.

Every process is owned by a :class:`peerbench.procs.ProcessGroup` (its own session, SIGTERM
then SIGKILL on exit, error or signal), so a run never leaves anything listening.
"""

from __future__ import annotations

import os
import resource
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from peerbench import procs

LOOPBACK = procs.LOOPBACK


def raise_fd_limit(wanted: int) -> int:
    """Raise the soft RLIMIT_NOFILE towards ``wanted`` (capped by the hard limit); the new soft limit.

    500 sessions hold well over 1,000 sockets between them (client ends, server ends, and the
    server's connections to Jira); children inherit the limit.
    """
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        soft = target
    return soft


def base_env(home: Path) -> dict[str, str]:
    """A clean environment: no JIRA_* / OTEL_* / proxies inherited from the caller."""
    return {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home), "LANG": "C.UTF-8",
            "NO_PROXY": "127.0.0.1,localhost", "PYTHONUNBUFFERED": "1"}


@dataclass
class SandboxProcess:
    """A ``jiraplug sandbox --admin`` process."""

    process: procs.Managed
    url: str


def start_sandbox(group: procs.ProcessGroup, logs: Path, *, flavour: str = "cloud", seed: int = 1,
                  latency_ms: float = 0.0, jitter_ms: float = 0.0) -> SandboxProcess:
    """Start the emulator on a free loopback port and wait for its banner."""
    argv = [sys.executable, "-m", "jiraplug", "sandbox", "--flavour", flavour, "--port", "0", "--seed", str(seed),
            "--latency-ms", str(latency_ms), "--jitter-ms", str(jitter_ms), "--admin"]
    process = group.start("sandbox", argv, base_env(logs), logs / "sandbox.log", cwd=str(logs), watch_stdout=True)
    url = process.wait_for_line(r"listening on (http://\S+)", timeout=60)[1]
    return SandboxProcess(process, url)


@dataclass
class ServerProcess:
    """A ``jiraplug serve --transport http`` process and its MCP endpoint."""

    process: procs.Managed
    base: str

    @property
    def mcp_url(self) -> str:
        return f"{self.base}/mcp"

    @property
    def pid(self) -> int:
        return self.process.pid


def server_env(home: Path, jira_url: str, settings: Mapping[str, str], *, deployment: str = "cloud") -> dict[str, str]:
    """The server's environment: the Jira site, no configured credential, plus ``settings``.

    With no credential of its own, every call must bring one in ``X-Jira-Authorization``:
    the shared-service set-up this run exercises.
    """
    return {**base_env(home), "JIRA_URL": jira_url, "JIRA_DEPLOYMENT": deployment, **settings}


def start_server(group: procs.ProcessGroup, logs: Path, env: Mapping[str, str], *, port: int | None = None,
                 timeout: float = 60.0, extra_args: Sequence[str] = (),
                 runner: Sequence[str] | None = None) -> ServerProcess:
    """Start ``jiraplug serve --transport http`` on loopback and wait until ``/healthz`` answers.

    ``extra_args`` go after ``serve`` (e.g. ``--workers 2``); ``runner`` replaces
    ``python -m jiraplug`` (e.g. the same under a profiler).
    """
    import httpx2

    port = port or procs.free_port()
    argv = [*(runner or [sys.executable, "-m", "jiraplug"]), "serve", "--transport", "http", "--host", LOOPBACK,
            "--port", str(port), *extra_args]
    process = group.start("server", argv, env, logs / "server.log", cwd=str(logs))
    base = f"http://{LOOPBACK}:{port}"
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"jiraplug serve exited during start-up; {process.tail()}")
        try:
            if httpx2.get(f"{base}/healthz", timeout=1, trust_env=False).status_code == 200:
                return ServerProcess(process, base)
        except httpx2.HTTPError:
            pass
        time.sleep(0.1)
    raise RuntimeError(f"jiraplug serve did not answer /healthz within {timeout:.0f} s; {process.tail()}")


def load_average() -> tuple[float, float, float]:
    """The 1/5/15-minute load average (other work on the machine skews the figures)."""
    return os.getloadavg()
