"""Limits a team deployment needs, against real ``jiraplug serve --transport http`` processes.

A server with no Jira credential of its own (callers bring theirs), short connection
timeouts and small session caps, so each limit shows within seconds: slow clients are cut
off, one caller cannot take every session slot, ended sessions leave the registry, the
operator's admin tools work without Jira, and a caller's rejected credential is named as
theirs.
"""

from __future__ import annotations

import base64
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest

from jiraplug.sandbox import SandboxServer
from tests.hostile.processes import ServerProcess, clean_env, http_server
from tests.test_http import INIT, MCP_HEADERS
from tests.test_multiuser import basic, call_as, read_resources_as

pytestmark = pytest.mark.anyio

OPERATOR = {"x-jiraplug-operator": "operator-token-for-limits"}
TIMEOUT_S = 1  # header, body and keep-alive timeouts of the server under test
PER_CALLER, TOTAL, IDLE_S = 2, 4, 3
CUT_OFF_WITHIN_S = 8.0  # a bound for the test, well above the 1 s timeouts


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with SandboxServer(flavour="cloud", seed=5, port=0) as sandbox:
        env = clean_env(
            JIRA_URL=sandbox.url,  # no credential, deployment detected: callers bring their own
            JIRAPLUG_OPERATOR_TOKEN=OPERATOR["x-jiraplug-operator"],
            JIRAPLUG_PROFILING__ADMIN_TOOLS="true",
            JIRAPLUG_SERVER__HEADER_TIMEOUT_SECONDS=str(TIMEOUT_S),
            JIRAPLUG_SERVER__BODY_TIMEOUT_SECONDS=str(TIMEOUT_S),
            JIRAPLUG_SERVER__KEEP_ALIVE_TIMEOUT_SECONDS=str(TIMEOUT_S),
            JIRAPLUG_SERVER__MAX_SESSIONS_PER_CALLER=str(PER_CALLER),
            JIRAPLUG_SERVER__MAX_SESSIONS=str(TOTAL),
            JIRAPLUG_SERVER__SESSION_IDLE_TIMEOUT_SECONDS=str(IDLE_S),
        )
        with http_server(env, tmp_path_factory.mktemp("limits")) as process:
            yield process


def base_of(server: ServerProcess) -> str:
    return f"http://127.0.0.1:{server.port}"


# ------------------------------------------------------------------ slow clients


def held_until_closed(port: int, opening: bytes, drip: bytes, within: float = CUT_OFF_WITHIN_S) -> tuple[bool, bytes]:
    """Send ``opening``, then ``drip`` every 0.2 s; whether the server closed the connection, and what it sent."""
    received = b""
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(0.2)
        sock.sendall(opening)
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            try:
                if drip:
                    sock.sendall(drip)
                data = sock.recv(4096)
            except TimeoutError:
                continue
            except OSError:  # reset or broken pipe: closed
                return True, received
            if not data:
                return True, received
            received += data
    return False, received


def test_headers_sent_slowly_are_cut_off(server: ServerProcess) -> None:
    host = f"Host: 127.0.0.1:{server.port}\r\n".encode()
    closed, answer = held_until_closed(server.port, b"POST /mcp HTTP/1.1\r\n" + host, b"X-Slow: 1\r\n")
    assert closed, f"a client trickling headers kept its connection for {CUT_OFF_WITHIN_S} s"
    assert answer == b""


def test_a_body_sent_slowly_gets_408_and_is_cut_off(server: ServerProcess) -> None:
    head = (f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\nContent-Type: application/json\r\n"
            "Accept: application/json, text/event-stream\r\nContent-Length: 1000\r\n\r\n{").encode()
    closed, answer = held_until_closed(server.port, head, b" ")
    assert closed, f"a client trickling its body kept its connection for {CUT_OFF_WITHIN_S} s"
    assert answer.startswith(b"HTTP/1.1 408 ") and b"did not arrive within" in answer, answer[:300]


def test_an_idle_keep_alive_connection_is_closed(server: ServerProcess) -> None:
    request = f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{server.port}\r\n\r\n".encode()
    # The configured 1 s, not uvicorn's default 5 s (the bound leaves room for a loaded machine).
    closed, answer = held_until_closed(server.port, request, b"", within=TIMEOUT_S + 2.5)
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert closed, f"an idle keep-alive connection outlived server.keep_alive_timeout_seconds = {TIMEOUT_S}"


# ------------------------------------------------------------------ sessions


def open_session(base: str, who: str) -> httpx2.Response:
    """A 2025-era ``initialize`` POST, as ``who`` (the answer carries the new session's id)."""
    return httpx2.post(f"{base}/mcp", json=INIT, headers={**MCP_HEADERS, "x-jira-authorization": basic(who)},
                       timeout=10)


def close_session(base: str, who: str, session_id: str) -> int:
    return httpx2.delete(f"{base}/mcp", headers={**MCP_HEADERS, "x-jira-authorization": basic(who),
                                                 "mcp-session-id": session_id,
                                                 "mcp-protocol-version": "2025-06-18"}, timeout=10).status_code


async def open_sessions(base: str) -> dict:
    (figures,) = await read_resources_as(base, OPERATOR, "jiraplug://sessions")
    assert isinstance(figures, dict), figures
    return figures


async def wait_for_open_sessions(base: str, count: int, within: float) -> dict:
    with anyio.fail_after(within):
        while (figures := await open_sessions(base))["open"] != count:
            await anyio.sleep(0.2)
    return figures


async def test_sessions_are_capped_per_caller_and_in_total_and_leave_the_registry(server: ServerProcess) -> None:
    base = base_of(server)
    await wait_for_open_sessions(base, 0, IDLE_S + 5)  # nothing left from another test
    alice = [open_session(base, "alice") for _ in range(PER_CALLER)]
    assert all(r.status_code == 200 and r.headers.get("mcp-session-id") for r in alice)
    refused = open_session(base, "alice")
    assert refused.status_code == 429
    assert "max_sessions_per_caller" in refused.json()["error"]["message"]
    # Another caller is not held up by alice's sessions...
    bob = [open_session(base, "bob") for _ in range(PER_CALLER)]
    assert all(r.status_code == 200 for r in bob)
    # ...until the server's total is reached.
    full = open_session(base, "carol")
    assert full.status_code == 429 and "server.max_sessions" in full.json()["error"]["message"]
    figures = await open_sessions(base)
    assert figures["open"] == TOTAL and figures["callers"] == 2

    # alice ends one session: she may open another.
    assert close_session(base, "alice", alice[0].headers["mcp-session-id"]) == 200
    again = open_session(base, "alice")
    assert again.status_code == 200
    for who, response in (("alice", alice[1]), ("alice", again), ("bob", bob[0])):
        assert close_session(base, who, response.headers["mcp-session-id"]) == 200
    assert (await open_sessions(base))["open"] == 1  # bob's last one, left idle
    # The idle one expires: the registry is empty again.
    figures = await wait_for_open_sessions(base, 0, IDLE_S + 5)
    assert figures["session_idle_timeout_seconds"] == IDLE_S


async def test_the_session_count_is_for_the_operator(server: ServerProcess) -> None:
    (refused,) = await read_resources_as(base_of(server), {"x-jira-authorization": basic("erin")},
                                         "jiraplug://sessions")
    assert isinstance(refused, str) and "is for its operator" in refused


# ------------------------------------------------------------------ admin tools, credentials


async def listed_tools(base: str, headers: dict[str, str]) -> set[str]:
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), cache=None) as client:
            return {tool.name for tool in (await client.list_tools()).tools}


async def test_admin_tools_are_listed_to_the_operator_only_and_need_no_jira(server: ServerProcess) -> None:
    base = base_of(server)
    user_tools = await listed_tools(base, {"x-jira-authorization": basic("erin")})
    assert "jira_get_issue" in user_tools and "jiraplug_profile" not in user_tools
    assert "jiraplug_profile" in await listed_tools(base, OPERATOR)
    error, text = await call_as(base, {"x-jira-authorization": basic("erin")}, "jiraplug_profile",
                                {"seconds": 0.2, "format": "speedscope"})
    assert error and "is for this server's operator" in text
    # This server has no Jira credential and its deployment is not configured: no Jira call may be needed.
    error, text = await call_as(base, OPERATOR, "jiraplug_profile", {"seconds": 0.2, "format": "speedscope"})
    assert not error, text
    assert "speedscope" in text


async def test_a_rejected_caller_credential_is_named_as_the_callers(server: ServerProcess) -> None:
    wrong = "Basic " + base64.b64encode(b"alice@example.com:not-her-token").decode()
    error, text = await call_as(base_of(server), {"x-jira-authorization": wrong}, "jira_get_issue",
                                {"issue_key": "PLAT-1"})
    assert error and "401" in text, text
    assert "X-Jira-Authorization" in text and "caller's" in text, text
    assert "JIRA_API_TOKEN" not in text and "JIRA_PERSONAL_TOKEN" not in text and "not-her-token" not in text


def test_server_output_has_no_credentials(server: ServerProcess, tmp_path: Path) -> None:
    out, err = server.output()
    assert b"not-her-token" not in out + err and b"operator-token-for-limits" not in out + err


# ------------------------------------------------------------------ keep-alive longer than the header deadline

LONG_KEEP_ALIVE_S = 4  # > TIMEOUT_S + the idle gap below


@pytest.fixture(scope="module")
def long_keep_alive_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ServerProcess]:
    with SandboxServer(flavour="cloud", seed=5, port=0) as sandbox:
        env = clean_env(
            JIRA_URL=sandbox.url,
            JIRAPLUG_SERVER__HEADER_TIMEOUT_SECONDS=str(TIMEOUT_S),
            JIRAPLUG_SERVER__KEEP_ALIVE_TIMEOUT_SECONDS=str(LONG_KEEP_ALIVE_S),
        )
        with http_server(env, tmp_path_factory.mktemp("keepalive")) as process:
            yield process


def _healthz(port: int) -> bytes:
    return f"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n\r\n".encode()


def _one_answer(sock: socket.socket) -> bytes:
    """Read one small response (``/healthz``): up to the end of its JSON body."""
    answer = b""
    while not answer.endswith(b"}"):
        data = sock.recv(4096)
        if not data:
            break
        answer += data
    return answer


def test_an_idle_connection_lives_as_long_as_the_keep_alive_says(long_keep_alive_server: ServerProcess) -> None:
    """The header deadline (1 s) starts with the next request's first byte, not with the last answer.

    Counted from the answer, it closed every idle connection after 1 s whatever the keep-alive
    said, and a client reusing its connection a little later lost its request.
    """
    port = long_keep_alive_server.port
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(5)
        sock.sendall(_healthz(port))
        assert _one_answer(sock).startswith(b"HTTP/1.1 200 ")
        time.sleep(TIMEOUT_S + 1)  # idle past the header deadline, within the keep-alive
        sock.sendall(_healthz(port))
        assert _one_answer(sock).startswith(b"HTTP/1.1 200 "), "the idle connection was closed before its keep-alive"


@pytest.mark.parametrize("pipelined", [False, True], ids=["after-the-answer", "pipelined"])
def test_the_next_requests_unfinished_headers_are_cut_off(long_keep_alive_server: ServerProcess,
                                                         pipelined: bool) -> None:
    """Part of the next request's headers, then silence: closed by the header deadline (1 s).

    The keep-alive (4 s) does not apply once bytes of a request have come, so only the header
    deadline can close the connection before the bound. Pipelined, the bytes came with the
    previous request, before its answer: the deadline must start although no byte follows it.
    """
    port = long_keep_alive_server.port
    partial = b"GET /healthz HTTP/1.1\r\nX-Slow: 1\r\n"
    with socket.create_connection(("127.0.0.1", port)) as sock:
        sock.settimeout(5)
        sock.sendall(_healthz(port) + (partial if pipelined else b""))
        assert _one_answer(sock).startswith(b"HTTP/1.1 200 ")
        if not pipelined:
            sock.sendall(partial)
        sock.settimeout(TIMEOUT_S + 1.5)  # below the 4 s keep-alive
        try:
            closed = sock.recv(4096) == b""
        except TimeoutError:
            closed = False
        except OSError:  # reset
            closed = True
    assert closed, "a client that stopped halfway through its next request's headers kept the connection"
