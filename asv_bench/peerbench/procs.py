"""Processes of a comparison run: the sandbox, the servers, and what we measure about them.

Every process is started in its own session (process group) and registered with a
:class:`ProcessGroup`, which terminates them all (SIGTERM, then SIGKILL) on exit, on error
and on SIGTERM/SIGINT of the script, so nothing is left listening. Everything binds
127.0.0.1.
"""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, Any

LOOPBACK = "127.0.0.1"


def free_port() -> int:
    """A loopback TCP port that was free a moment ago (servers that take only a port number)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


class Managed:
    """One child process with its output captured to a log file (and optionally scanned)."""

    def __init__(self, name: str, argv: Sequence[str], env: Mapping[str, str], log_path: Path,
                 cwd: str | None = None, watch_stdout: bool = False) -> None:
        self.name = name
        self.log_path = log_path
        self.lines: queue.Queue[str] = queue.Queue()
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = log_path.open("w")
        self.started = time.perf_counter()
        self.popen = subprocess.Popen(
            list(argv), env=dict(env), cwd=cwd, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if watch_stdout else self._log, stderr=self._log,
            start_new_session=True, text=True,
        )
        self._pump_thread: threading.Thread | None = None
        if watch_stdout:
            self._pump_thread = threading.Thread(target=self._pump, args=(self.popen.stdout,), daemon=True)
            self._pump_thread.start()

    @property
    def pid(self) -> int:
        return self.popen.pid

    def _pump(self, stream: IO[str]) -> None:
        for line in stream:
            self._log.write(line)
            self._log.flush()
            self.lines.put(line.rstrip("\n"))

    def wait_for_line(self, pattern: str, timeout: float) -> re.Match[str]:
        """The first stdout line matching ``pattern`` (raises with the log's tail if none comes)."""
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen.poll() is not None and self.lines.empty():
                break
            try:
                line = self.lines.get(timeout=0.1)
            except queue.Empty:
                continue
            match = regex.search(line)
            if match:
                return match
        raise RuntimeError(f"{self.name} did not print /{pattern}/ within {timeout:.0f} s; {self.tail()}")

    def tail(self, lines: int = 8) -> str:
        """The last lines of the process's log, for error messages."""
        self._log.flush()
        try:
            text = self.log_path.read_text(errors="replace").strip().splitlines()[-lines:]
        except OSError:
            text = []
        status = self.popen.poll()
        state = "running" if status is None else f"exited with status {status}"
        return f"{self.name} {state}; log {self.log_path}:\n    " + "\n    ".join(text)

    def stop(self, grace: float = 5.0) -> None:
        """SIGTERM the process group, then SIGKILL after ``grace`` seconds."""
        if self.popen.poll() is None:
            for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, 5.0)):
                try:
                    os.killpg(self.popen.pid, sig)
                except ProcessLookupError:
                    break
                try:
                    self.popen.wait(wait)
                    break
                except subprocess.TimeoutExpired:
                    continue
        if self._pump_thread is not None:
            self._pump_thread.join(2)  # it ends at EOF; let it write the last lines first
        self._log.close()


class ProcessGroup:
    """Owns every child process of the run; ``close()`` (or leaving the ``with``) stops them all."""

    def __init__(self) -> None:
        self._children: list[Managed] = []
        self._previous: dict[int, Any] = {}

    def __enter__(self) -> ProcessGroup:
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGTERM, signal.SIGHUP):
                self._previous[sig] = signal.signal(sig, self._on_signal)
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
        for sig, handler in self._previous.items():
            signal.signal(sig, handler)

    def _on_signal(self, signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    def start(self, *args: Any, **kwargs: Any) -> Managed:
        child = Managed(*args, **kwargs)
        self._children.append(child)
        return child

    def stop(self, child: Managed) -> None:
        child.stop()
        if child in self._children:
            self._children.remove(child)

    def close(self) -> None:
        while self._children:
            self._children.pop().stop()


# ------------------------------------------------------------------------------ sandbox


@dataclass
class Sandbox:
    """A ``jiraplug sandbox`` process (Data Center flavour) and how to reach it."""

    process: Managed
    url: str
    token: str

    def log(self) -> list[dict[str, Any]]:
        """The sandbox's request log (``GET /__sandbox__/log``; the sandbox runs with ``--admin``)."""
        import httpx2

        response = httpx2.get(f"{self.url}/__sandbox__/log", timeout=30, trust_env=False)
        response.raise_for_status()
        return [r for r in response.json() if not r["path"].startswith("/__sandbox__")]

    def issue_keys(self, limit: int = 1000) -> list[str]:
        """Every issue key the default user can see (one search, before the measured runs)."""
        import httpx2

        response = httpx2.get(
            f"{self.url}/rest/api/2/search", params={"jql": "ORDER BY key ASC", "maxResults": limit, "fields": "summary"},
            headers={"Authorization": f"Bearer {self.token}"}, timeout=30, trust_env=False,
        )
        response.raise_for_status()
        return [issue["key"] for issue in response.json()["issues"]]


def start_sandbox(group: ProcessGroup, logs: Path, *, seed: int, latency_ms: float, jitter_ms: float,
                  python: str = sys.executable) -> Sandbox:
    """Start ``jiraplug sandbox --flavour dc --admin`` on a free port; wait for its banner."""
    argv = [python, "-m", "jiraplug", "sandbox", "--flavour", "dc", "--port", "0", "--seed", str(seed),
            "--latency-ms", str(latency_ms), "--jitter-ms", str(jitter_ms), "--admin"]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": str(logs), "NO_PROXY": "127.0.0.1,localhost"}
    process = group.start("sandbox", argv, env, logs / "sandbox.log", cwd=str(logs), watch_stdout=True)
    url = process.wait_for_line(r"listening on (http://\S+)", timeout=30)[1]
    token = process.wait_for_line(r"PAT:\s+(\S+)", timeout=5)[1]
    return Sandbox(process, url, token)


# ------------------------------------------------------------------------------ servers


@dataclass
class ServerSpec:
    """How to start one MCP server over streamable HTTP against the sandbox."""

    name: str
    argv: Callable[[int], list[str]]  # port -> command line
    env: Callable[[Sandbox, Path], dict[str, str]]  # sandbox, scratch HOME -> environment
    path: str = "/mcp"
    notes: list[str] = field(default_factory=list)


class RssSampler:
    """Samples the resident set size of a process tree in a background thread."""

    def __init__(self, pid: int, interval: float = 0.1) -> None:
        import psutil

        self._process = psutil.Process(pid)
        self._interval = interval
        self.peak = 0
        self.last = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def sample(self) -> int:
        import psutil

        total = 0
        try:
            for proc in [self._process, *self._process.children(recursive=True)]:
                try:
                    total += proc.memory_info().rss
                except psutil.NoSuchProcess:
                    continue
        except psutil.NoSuchProcess:
            return self.last
        self.last = total
        self.peak = max(self.peak, total)
        return total

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self.sample()

    def stop(self) -> int:
        """Stop sampling; the peak seen (bytes)."""
        self.sample()
        self._stop.set()
        self._thread.join(2)
        return self.peak


def ensure_peer_venv(venv: Path, spec: str, log: Callable[[str], None]) -> Path:
    """A virtual environment with ``spec`` installed (created once, reused while the spec matches).

    Returns the path of its ``bin`` directory.
    """
    marker = venv / ".jiraplug-peer"
    bin_dir = venv / "bin"
    if marker.is_file() and marker.read_text().strip() == spec and (bin_dir / "python").exists():
        return bin_dir
    log(f"installing {spec} into {venv} (once; reused by later runs)")
    venv.parent.mkdir(parents=True, exist_ok=True)
    base = getattr(sys, "_base_executable", sys.executable)
    subprocess.run([base, "-m", "venv", "--clear", str(venv)], check=True)
    install_log = venv.parent / f"{venv.name}-install.log"
    with install_log.open("w") as out:
        result = subprocess.run([str(bin_dir / "python"), "-m", "pip", "install", "--disable-pip-version-check",
                                 spec], stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        raise RuntimeError(f"pip install {spec} failed (exit {result.returncode}); see {install_log}")
    marker.write_text(spec + "\n")
    return bin_dir
