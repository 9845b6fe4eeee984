"""The HTTP server as a process: it becomes ready on /healthz and stops on SIGTERM."""

from __future__ import annotations

import signal
from pathlib import Path

from ._support import http_server, http_status


def test_http_server_serves_healthz_and_exits_on_sigterm(tmp_path: Path) -> None:
    with http_server(tmp_path) as server:
        assert http_status(server.healthz) == 200, server.describe()
        rc = server.stop(grace=10.0)
        assert rc is not None, "still running 10 s after SIGTERM\n" + server.describe()
        assert rc in (0, -signal.SIGTERM), f"exit code {rc} after SIGTERM\n" + server.describe()
        assert http_status(server.healthz, timeout=1.0) is None, "port still answers after exit"
