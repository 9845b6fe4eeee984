"""Streamable HTTP: a real ``jiraplug serve --transport http`` process on loopback."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.anyio

TOKEN = "http-token-5ecret"
INIT = {"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "t", "version": "1"}}}
MCP_HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA", "OTEL_"))}
    env.update(extra)
    return env


@contextmanager
def serving(tmp_path: Path, *args: str, sandbox: bool = True, **env: str) -> Iterator[str]:
    """A ``jiraplug serve --transport http`` process (with its own sandbox unless ``sandbox=False``)."""
    port = free_port()
    command = [sys.executable, "-m", "jiraplug", "serve", *(["--sandbox"] if sandbox else []), "--transport", "http",
               "--port", str(port), *args]
    log = (tmp_path / "server.log").open("w+")
    process = subprocess.Popen(command, env=clean_env(**env), cwd=tmp_path, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            assert process.poll() is None, f"server exited: {Path(log.name).read_text()}"
            try:
                if httpx2.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx2.HTTPError:
                time.sleep(0.1)
        else:
            pytest.fail(f"server not ready: {Path(log.name).read_text()}")
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


@pytest.fixture(scope="module")
def server_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with serving(tmp_path_factory.mktemp("http")) as base:
        yield base


def test_healthz(server_url: str) -> None:
    response = httpx2.get(f"{server_url}/healthz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


async def test_mcp_client_over_http_lists_and_calls_tools(server_url: str) -> None:
    async with Client(f"{server_url}/mcp", cache=None) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"jira_get_issue", "jira_search"} <= names
        result = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
    assert not result.is_error and "PLAT-1" in result.content[0].text


@pytest.mark.parametrize("headers", [{"host": "evil.example:80"}, {"origin": "http://evil.example"}])
def test_dns_rebinding_protection_rejects_foreign_host_and_origin(server_url: str, headers: dict) -> None:
    response = httpx2.post(f"{server_url}/mcp", json=INIT, headers={**MCP_HEADERS, **headers})
    assert response.status_code in (403, 421)
    ok = httpx2.post(f"{server_url}/mcp", json=INIT, headers=MCP_HEADERS)
    assert ok.status_code == 200


def test_bearer_token_guards_mcp_when_configured(tmp_path: Path) -> None:
    with serving(tmp_path, JIRAPLUG_HTTP_TOKEN=TOKEN) as base:
        assert httpx2.get(f"{base}/healthz").status_code == 200
        missing = httpx2.post(f"{base}/mcp", json=INIT, headers=MCP_HEADERS)
        wrong = httpx2.post(f"{base}/mcp", json=INIT, headers={**MCP_HEADERS, "authorization": "Bearer nope"})
        right = httpx2.post(f"{base}/mcp", json=INIT, headers={**MCP_HEADERS, "authorization": f"Bearer {TOKEN}"})
        assert missing.status_code == 401 and wrong.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        assert TOKEN not in missing.text + wrong.text
        assert right.status_code == 200
        log = (tmp_path / "server.log").read_text()
    assert TOKEN not in log


async def test_mcp_client_with_bearer_token(tmp_path: Path) -> None:
    with serving(tmp_path, JIRAPLUG_HTTP_TOKEN=TOKEN) as base:
        async with httpx2.AsyncClient(headers={"authorization": f"Bearer {TOKEN}"}) as http:
            async with Client(streamable_http_client(f"{base}/mcp", http_client=http), cache=None) as client:
                result = await client.call_tool("jira_search", {"jql": "project = MOB", "limit": 3})
    assert not result.is_error


def test_non_loopback_bind_without_token_refuses_to_start(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "jiraplug", "serve", "--transport", "http", "--host", "0.0.0.0", "--sandbox"],
        env=clean_env(), cwd=tmp_path, capture_output=True, text=True, timeout=60,
    )
    assert done.returncode == 2
    assert done.stderr.strip().count("\n") == 0
    assert "not a loopback address" in done.stderr and "JIRAPLUG_HTTP_TOKEN" in done.stderr


@pytest.fixture(scope="module")
def wildcard_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bound to every interface (as in a container), with the bearer token; requests go to 127.0.0.1.

    It lends its sandbox credential to callers, so a tool call needs no ``X-Jira-Authorization``.
    """
    with serving(tmp_path_factory.mktemp("wildcard"), "--host", "0.0.0.0", JIRAPLUG_HTTP_TOKEN=TOKEN,
                 JIRAPLUG_SERVER__ALLOWED_ORIGINS="https://console.example",
                 JIRAPLUG_SERVER__ALLOW_CONFIGURED_CREDENTIALS="true") as base:
        yield base


def _post_init(base: str, **headers: str) -> httpx2.Response:
    return httpx2.post(f"{base}/mcp", json=INIT, headers={**MCP_HEADERS, **headers})


@pytest.mark.parametrize("name", ["127.0.0.1", "localhost", "jira-mcp.internal"])
def test_wildcard_bind_accepts_any_host_with_the_token(wildcard_server: str, name: str) -> None:
    host = f"{name}:{wildcard_server.rsplit(':', 1)[1]}"
    assert _post_init(wildcard_server, host=host, authorization=f"Bearer {TOKEN}").status_code == 200
    refused = _post_init(wildcard_server, host=host)
    assert refused.status_code == 401 and TOKEN not in refused.text


def test_wildcard_bind_still_checks_origin(wildcard_server: str) -> None:
    port = wildcard_server.rsplit(":", 1)[1]
    auth = {"authorization": f"Bearer {TOKEN}"}
    foreign = _post_init(wildcard_server, host=f"jira-mcp.internal:{port}", origin="http://evil.example", **auth)
    assert foreign.status_code == 403
    assert _post_init(wildcard_server, origin="http://evil.example").status_code == 401
    same_host = _post_init(wildcard_server, host=f"jira-mcp.internal:{port}",
                           origin=f"http://jira-mcp.internal:{port}", **auth)
    configured = _post_init(wildcard_server, host=f"jira-mcp.internal:{port}", origin="https://console.example", **auth)
    assert same_host.status_code == 200 and configured.status_code == 200


async def test_mcp_client_over_a_wildcard_bind(wildcard_server: str) -> None:
    async with httpx2.AsyncClient(headers={"authorization": f"Bearer {TOKEN}"}) as http:
        async with Client(streamable_http_client(f"{wildcard_server}/mcp", http_client=http), cache=None) as client:
            result = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
    assert not result.is_error


def test_allowed_hosts_narrow_a_wildcard_bind(tmp_path: Path) -> None:
    with serving(tmp_path, "--host", "0.0.0.0", JIRAPLUG_HTTP_TOKEN=TOKEN,
                 JIRAPLUG_SERVER__ALLOWED_HOSTS="jira-mcp.internal:*") as base:
        port, auth = base.rsplit(":", 1)[1], f"Bearer {TOKEN}"
        assert _post_init(base, host=f"jira-mcp.internal:{port}", authorization=auth).status_code == 200
        assert _post_init(base, host=f"127.0.0.1:{port}", authorization=auth).status_code == 421
