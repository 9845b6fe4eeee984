"""``server.event_loop``: uvloop when installed (``auto``), asyncio on request, a clear error when missing."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from jiraplug.errors import StartupError
from jiraplug.sandbox import SandboxServer
from jiraplug.server.http_app import uses_uvloop
from jiraplug.settings import ServerSettings
from tests.conftest import sandbox_environ
from tests.hostile.processes import clean_env, http_server

HAS_UVLOOP = importlib.util.find_spec("uvloop") is not None


def test_auto_follows_what_is_installed_and_asyncio_is_always_possible(monkeypatch: pytest.MonkeyPatch) -> None:
    assert uses_uvloop(ServerSettings(event_loop="asyncio")) is False
    assert uses_uvloop(ServerSettings()) is HAS_UVLOOP
    monkeypatch.setattr(importlib.util, "find_spec", lambda name: None)
    assert uses_uvloop(ServerSettings(event_loop="auto")) is False
    with pytest.raises(StartupError, match=r"server.event_loop = 'uvloop' but uvloop is not installed.*jiraplug\[fast\]"):
        uses_uvloop(ServerSettings(event_loop="uvloop"))


@pytest.mark.skipif(not HAS_UVLOOP, reason="uvloop is not installed (pip install 'jiraplug[fast]')")
def test_a_server_on_uvloop_serves_and_stops_cleanly(tmp_path: Path) -> None:
    import httpx2

    with SandboxServer(flavour="cloud", seed=1, port=0) as sandbox:
        env = clean_env(**sandbox_environ(sandbox), JIRAPLUG_SERVER__EVENT_LOOP="uvloop")
        with http_server(env, tmp_path) as server:
            answer = httpx2.post(server.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"},
                                 headers={"Accept": "application/json, text/event-stream",
                                          "MCP-Protocol-Version": "2026-07-28"}, timeout=10, trust_env=False)
            assert answer.status_code < 500
            server.terminate()
            assert server.wait(20) == 0, server.describe()
