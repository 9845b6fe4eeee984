"""``jiraplug sandbox`` command line: help, bad flags, and a real foreground run."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time

import httpx2
import pytest
from jiraplug.sandbox.cli import main
from sandbox_helpers import basic


def test_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: jiraplug sandbox")
    for flag in ("--flavour", "--host", "--port", "--seed", "--latency-ms", "--jitter-ms", "--error-rate",
                 "--rate-limit", "--admin"):
        assert flag in out


@pytest.mark.parametrize("argv", [
    ["--bogus"],
    ["--flavour", "server"],
    ["--error-rate", "1.5"],
    ["--latency-ms", "-3"],
    ["--port", "70000"],
    ["--seed", "abc"],
    ["--rate-limit", "fast"],
])
def test_bad_flags_exit_non_zero_with_one_line(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("jiraplug sandbox: error:")


def test_busy_port_is_one_clear_line(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        port = blocker.getsockname()[1]
        assert main(["--port", str(port)]) == 1
    lines = capsys.readouterr().err.strip().splitlines()
    assert len(lines) == 1 and f"127.0.0.1:{port}" in lines[0]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_foreground_run_until_sigterm(flavour: str) -> None:
    code = "import sys; from jiraplug.sandbox.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.Popen(
        [sys.executable, "-c", code, "--port", "0", "--flavour", flavour, "--seed", "4", "--latency-ms", "1"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"})
    try:
        lines: list[str] = []
        deadline = time.monotonic() + 20
        assert proc.stdout is not None
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        banner = "".join(lines)
        url = re.search(r"listening on (http://127\.0\.0\.1:\d+)", banner).group(1)  # type: ignore[union-attr]
        if flavour == "cloud":
            email = re.search(r"email:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
            token = re.search(r"API token:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
            assert f"JIRA_API_TOKEN={token}" in banner and f"JIRA_USERNAME={email}" in banner
            response = httpx2.get(f"{url}/rest/api/3/myself", headers=basic(email, token), timeout=5)
        else:
            pat = re.search(r"PAT:\s+(\S+)", banner).group(1)  # type: ignore[union-attr]
            assert f"JIRA_PERSONAL_TOKEN={pat}" in banner
            response = httpx2.get(f"{url}/rest/api/2/myself", headers={"Authorization": f"Bearer {pat}"},
                                  timeout=5)
        assert response.status_code == 200
        assert f"JIRA_URL={url}" in banner
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stdout:
            proc.stdout.close()
        if proc.stderr:
            proc.stderr.close()
