"""Replicas behind any load balancer (issue 16, part 3): which clients need sticky sessions.

Two real ``jiraplug serve --transport http`` processes; the "load balancer" is the client's
own HTTP transport sending each request to the next replica in turn (round robin per
request, the worst case for sessions). Proven:

* with ``server.stateless_http`` any replica answers any request of a 2025-11-25 client;
* a 2026-07-28 client needs no session at all: default (stateful) replicas serve it the same;
* a 2025-11-25 client against stateful replicas fails without affinity (its session lives in
  one replica), which is what docs/operations.md's sticky-session set-up is for.
"""

from __future__ import annotations

import contextlib
import itertools
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from jiraplug.sandbox import SandboxServer
from tests.conftest import sandbox_environ
from tests.hostile.processes import ServerProcess, clean_env, http_server

pytestmark = pytest.mark.anyio

KEYS = ("PLAT-1", "MOB-1", "PLAT-2", "MOB-2", "PLAT-3")


class RoundRobin(httpx2.AsyncBaseTransport):
    """Sends each request to the next replica's port; counts what each received."""

    def __init__(self, ports: list[int]) -> None:
        self._next = itertools.cycle(ports)
        self._inner = httpx2.AsyncHTTPTransport()
        self.received: Counter[int] = Counter()

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        port = next(self._next)
        self.received[port] += 1
        request.url = request.url.copy_with(port=port)
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


@contextlib.contextmanager
def replicas(tmp_path: Path, **settings: str) -> Iterator[list[ServerProcess]]:
    with SandboxServer(flavour="cloud", seed=1, port=0) as sandbox:
        env = clean_env(**sandbox_environ(sandbox), **settings)
        with http_server(env, tmp_path) as one, http_server(env, tmp_path) as two:
            yield [one, two]


async def call_through(balancer: RoundRobin, url: str, mode: str) -> list[str]:
    """Read every issue of ``KEYS`` in one client session; the keys answered."""
    async with httpx2.AsyncClient(transport=balancer, timeout=30) as http:
        async with Client(streamable_http_client(url, http_client=http), cache=None, mode=mode) as client:
            answered = []
            for key in KEYS:
                result = await client.call_tool("jira_get_issue", {"issue_key": key})
                assert not result.is_error, result.content
                answered.append(result.structured_content["key"])
            return answered


async def test_stateless_replicas_answer_any_request_of_a_2025_client(tmp_path: Path) -> None:
    with replicas(tmp_path, JIRAPLUG_SERVER__STATELESS_HTTP="true") as servers:
        balancer = RoundRobin([s.port for s in servers])
        assert await call_through(balancer, servers[0].url, "legacy") == list(KEYS)
    assert sum(balancer.received.values()) >= len(KEYS) + 2 and min(balancer.received.values()) >= 3, balancer.received


async def test_a_2026_client_needs_no_session_even_on_default_replicas(tmp_path: Path) -> None:
    with replicas(tmp_path) as servers:
        balancer = RoundRobin([s.port for s in servers])
        assert await call_through(balancer, servers[0].url, "auto") == list(KEYS)
    assert min(balancer.received.values()) >= 2, balancer.received


async def test_a_2025_session_breaks_on_stateful_replicas_without_affinity(tmp_path: Path) -> None:
    with replicas(tmp_path) as servers:
        balancer = RoundRobin([s.port for s in servers])
        with pytest.raises(BaseException) as failure:  # noqa: PT011 - the SDK raises a group or an MCPError
            await call_through(balancer, servers[0].url, "legacy")
    assert "Session not found" in repr(failure.value), repr(failure.value)
