"""The ``ratelimit`` plugin end to end: an MCP client, the assembled server, the sandbox over
loopback HTTP with its fault knobs.

``cache`` and ``pool`` are switched off here so that every tool call reaches Jira and no
call is queued or refused by another plugin: these tests count upstream requests.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from mcp import Client

from jiraplug import hookimpl
from jiraplug.bootstrap import bootstrap
from jiraplug.clock import SYSTEM_CLOCK, Clock
from jiraplug.errors import ConfigError
from jiraplug.jira.middleware import request_info
from jiraplug.plugins import ratelimit
from jiraplug.sandbox import Knobs, SandboxServer
from jiraplug.server.build import build_server
from tests.conftest import sandbox_environ
from tests.plugins.test_ratelimit_units import FakeTime

pytestmark = pytest.mark.anyio

OFF = "cache,pool"


def make_server(sandbox: SandboxServer, plugins: dict[str, object] | None = None,  # type: ignore[no-untyped-def]
                environ: dict[str, str] | None = None, clock: Clock = SYSTEM_CLOCK, **settings: Any):
    """A server on ``sandbox`` running on ``clock``; ``settings`` are ``[ratelimit]`` keys."""
    environ = {**sandbox_environ(sandbox), "JIRAPLUG_DISABLE_PLUGINS": OFF, **(environ or {})}
    environ.update({f"JIRAPLUG_RATELIMIT__{key.upper()}": str(value) for key, value in settings.items()})
    app = bootstrap(environ=environ, extra_plugins=plugins)
    return build_server(app.settings, app.plugins, clock=clock), app


async def stats_of(client: Client) -> dict[str, Any]:
    """The plugin's figures, as MCP clients read them."""
    return json.loads((await client.read_resource(ratelimit.RESOURCE_URI)).contents[0].text)


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh sandbox per test (knobs change, data is written)."""
    with SandboxServer(flavour="cloud", seed=1, port=0) as server:
        yield server


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray ./jiraplug.toml


class Arrivals:
    """ASGI wrapper around the sandbox app: when each request arrived, and its status.

    The sandbox's own request log has no timestamps, and it records a request when the
    answer is complete, which under load is long after the request arrived; the upstream
    rate is about arrivals, so they are taken here, on the sandbox's side of the socket.
    """

    def __init__(self, app: Any) -> None:
        self.app = app
        self.records: list[tuple[float, int]] = []
        self._lock = threading.Lock()

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        arrived, status = time.monotonic(), 0

        async def watch(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            with self._lock:
                self.records.append((arrived, status))


def busiest_second(times: list[float]) -> int:
    """The most requests in any one-second window [t, t + 1) starting at a request."""
    times = sorted(times)
    best, end = 0, 0
    for start, t in enumerate(times):
        while end < len(times) and times[end] < t + 1.0:
            end += 1
        best = max(best, end - start)
    return best


# --------------------------------------------------------------------------- the token bucket


async def test_a_burst_of_200_reads_against_20_per_second_all_succeed_within_the_limit() -> None:
    sandbox = SandboxServer(flavour="cloud", seed=1, port=0, knobs=Knobs(rate_limit_rps=20))
    arrivals = sandbox.app = Arrivals(sandbox.app)
    # The client is configured above Jira's real limit, so Jira pushes back and the plugin adapts.
    server, app = make_server(sandbox.start(), rate_limit_requests_per_second=30, max_attempts=6,
                              max_retry_seconds=30)
    keys = [f"{project}-{n}" for project in ("PLAT", "MOB", "OPS") for n in range(1, 41)][:100] * 2
    failures: list[str] = []
    try:
        async with Client(server, cache=None) as client:
            async def read(key: str) -> None:
                result = await client.call_tool("jira_get_issue", {"issue_key": key, "comment_limit": 0})
                if result.is_error:
                    failures.append(result.content[0].text)

            with anyio.fail_after(40):
                async with anyio.create_task_group() as group:
                    for key in keys:
                        group.start_soon(read, key)
            stats = json.loads((await client.read_resource(ratelimit.RESOURCE_URI)).contents[0].text)
    finally:
        sandbox.stop()

    assert failures == []
    statuses = [status for _, status in arrivals.records]
    assert sorted(statuses) == sorted(record.status for record in sandbox.request_log)
    assert statuses.count(200) == 200  # every call answered exactly once
    assert 429 in statuses, "Jira never pushed back: the test would prove nothing"
    first_429 = min(t for t, status in arrivals.records if status == 429)
    after = sorted(t for t, _ in arrivals.records if t >= first_429)
    # Requests already on their way when Jira first said 429 still arrive in the next moments;
    # what the client sends once it knows must wait at least the Retry-After (1 s here).
    # The sandbox's own bucket is the judge: no 429 after that first episode...
    assert max(t for t, status in arrivals.records if status == 429) < first_429 + 1.0
    # ...no second with more than its 20 requests from then on...
    assert busiest_second([t for t in after if t >= first_429 + 1.0]) <= 20
    # ...and 20 requests per second or less on average from the first 429 to the end.
    assert len(after) / (after[-1] - first_429) <= 20
    assert stats["throttled"] == statuses.count(429) and stats["retries"]["by_reason"]["http_429"] >= 1
    assert stats["adaptive"], "the pace was not cut after the 429s"


# --------------------------------------------------------------------------- Retry-After


async def test_retry_after_is_honoured_and_visible_in_spans_metrics_and_the_resource(sandbox, otel_memory) -> None:  # type: ignore[no-untyped-def]
    def time_passes(seconds: float) -> None:
        # The sandbox's bucket runs on real time; lifting its limit stands in for the wait.
        sandbox.set_knobs(Knobs())

    fake = FakeTime(on_sleep=time_passes)
    server, _ = make_server(sandbox, clock=fake)
    async with Client(server, cache=None) as client:
        # 1 request per 2 s, bucket of 1: the second read gets 429 with Retry-After: 2.
        sandbox.set_knobs(Knobs(rate_limit_rps=0.5, rate_limit_burst=1))
        first = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0})
        second = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-2", "comment_limit": 0})
        stats = json.loads((await client.read_resource(ratelimit.RESOURCE_URI)).contents[0].text)

    assert not first.is_error and not second.is_error, second.content[0].text
    assert [record.status for record in sandbox.request_log] == [200, 429, 200]
    assert fake.sleeps and max(fake.sleeps) >= 2.0  # at least the Retry-After the sandbox sent
    assert stats["throttled"] == 1 and stats["retries"]["by_reason"] == {"http_429": 1}
    assert stats["waits"]["retry_after"]["count"] == 1 and stats["waits"]["retry_after"]["seconds"] >= 2.0

    span = next(s for s in otel_memory.spans() if s.name == "tools/call jira_get_issue" and
                any(e.name == "retry" for e in s.events))
    event = next(e for e in span.events if e.name == "retry")
    assert event.attributes["retry.reason"] == "http_429" and event.attributes["retry.attempt"] == 2
    assert event.attributes["retry.wait_seconds"] >= 2.0
    metrics = otel_memory.metrics()
    assert sum(p.value for p in metrics["jiraplug.ratelimit.throttled"]) >= 1
    assert any(p.attributes.get("reason") == "http_429" for p in metrics["jiraplug.ratelimit.retries"])
    waits = [p for p in metrics["jiraplug.ratelimit.wait.duration"] if p.attributes.get("reason") == "retry_after"]
    assert waits and waits[0].sum >= 2.0


# --------------------------------------------------------------------------- safe retries


async def test_client_errors_are_never_retried(sandbox) -> None:  # type: ignore[no-untyped-def]
    server, _ = make_server(sandbox)
    async with Client(server, cache=None) as client:
        missing = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-99999", "comment_limit": 0})
    assert missing.is_error and "404" in missing.content[0].text
    bad_server, _ = make_server(sandbox, environ={"JIRA_API_TOKEN": "wrong"})
    async with Client(bad_server, cache=None) as client:
        refused = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0})
    assert refused.is_error and "401" in refused.content[0].text
    assert [r.status for r in sandbox.request_log] == [404, 401]


async def test_dropped_connections_on_reads_are_retried(sandbox) -> None:  # type: ignore[no-untyped-def]
    server, _ = make_server(sandbox, max_attempts=8, breaker_failure_threshold=0, clock=FakeTime())
    async with Client(server, cache=None) as client:
        sandbox.set_knobs(Knobs(drop_rate=0.4))
        results = [await client.call_tool("jira_get_issue", {"issue_key": f"OPS-{n}"}) for n in range(1, 16)]
        stats = await stats_of(client)
    assert [r.content[0].text for r in results if r.is_error] == []
    dropped = [r for r in sandbox.request_log if r.status == 0]
    assert dropped, "no connection was dropped: the test would prove nothing"
    assert stats["retries"]["by_reason"].get("remote_protocol_error", 0) + \
        stats["retries"]["by_reason"].get("read_error", 0) == len(dropped)


async def test_100_creates_under_5xx_and_dropped_connections_never_create_twice(sandbox) -> None:  # type: ignore[no-untyped-def]
    # Breaker and adaptive pace off: this test is about which writes are sent again.
    server, _ = make_server(sandbox, breaker_failure_threshold=0, adaptive_factor=1,
                              max_attempts=8, rate_limit_requests_per_second=200)
    before = len(sandbox.state.issues)
    summaries = [f"ratelimit write test {n:03d}" for n in range(100)]
    outcomes: dict[str, Any] = {}

    async def create_all(client: Client) -> None:
        # 5xx, dropped connections and 429s together, 10 calls at a time.
        sandbox.set_knobs(Knobs(error_rate=0.15, drop_rate=0.1, rate_limit_rps=30))
        limit = anyio.CapacityLimiter(10)

        async def create(summary: str) -> None:
            async with limit:
                outcomes[summary] = await client.call_tool("jira_create_issue", {"project_key": "PLAT", "summary": summary})

        with anyio.fail_after(40):
            async with anyio.create_task_group() as group:
                for summary in summaries:
                    group.start_soon(create, summary)

    async with Client(server, cache=None) as client:
        probe = await client.call_tool("jira_create_issue", {"project_key": "PLAT", "summary": "ratelimit probe"})
        if not probe.is_error:
            await create_all(client)
        stats = await stats_of(client)
    if probe.is_error:
        pytest.skip(f"the sandbox cannot create issues yet: {probe.content[0].text}")

    succeeded = [s for s, result in outcomes.items() if not result.is_error]
    failed = {s: result.content[0].text for s, result in outcomes.items() if result.is_error}
    created = [issue.summary for issue in sandbox.state.issues[before:] if issue.summary.startswith("ratelimit write")]
    assert len(created) == len(succeeded)  # exactly as many issues as reported successes
    assert sorted(created) == sorted(succeeded) and len(set(created)) == len(created)  # none twice
    assert failed, "no write failed: the faults were not exercised"
    assert all("may have been applied" in text and "jira_search" in text for text in failed.values()), failed
    posts = [r for r in sandbox.request_log if r.method == "POST" and r.path.endswith("/issue")]
    # Only 429s were sent again: every other POST was answered once or reported.
    assert len(posts) == 1 + len(outcomes) + stats["retries"]["by_reason"].get("http_429", 0)
    assert stats["writes_not_repeated"] == len(failed)


# --------------------------------------------------------------------------- breaker


async def test_breaker_opens_fails_fast_and_recovers(sandbox, otel_memory) -> None:  # type: ignore[no-untyped-def]
    fake = FakeTime()
    server, _ = make_server(sandbox, breaker_failure_threshold=3,
                            breaker_cooldown_seconds=30, max_attempts=1, clock=fake)
    async with Client(server, cache=None) as client:
        sandbox.set_knobs(Knobs(error_rate=1.0))
        failing = [await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0}) for _ in range(3)]
        assert all(r.is_error for r in failing)
        assert len(sandbox.request_log) == 3

        fast = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0})
        assert fast.is_error and "is failing (3 of the last 3 requests failed" in fast.content[0].text
        assert "retry after" in fast.content[0].text and "(in 30 s)" in fast.content[0].text
        assert len(sandbox.request_log) == 3  # failed fast: Jira was not contacted

        fake.advance(31)  # cooldown over, Jira still failing: the probe fails and re-opens it
        assert (await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0})).is_error
        assert len(sandbox.request_log) == 4
        assert (await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0})).is_error
        assert len(sandbox.request_log) == 4

        sandbox.set_knobs(Knobs())  # Jira recovers
        fake.advance(31)
        recovered = [await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0}) for _ in range(2)]
        assert [r.is_error for r in recovered] == [False, False]
        stats = json.loads((await client.read_resource(ratelimit.RESOURCE_URI)).contents[0].text)

    server_key = next(iter(stats["breakers"]))
    assert stats["breakers"][server_key]["state"] == "closed" and stats["failed_fast"] == 2
    transitions = [p.attributes["state"] for p in otel_memory.metrics()["jiraplug.ratelimit.breaker.transitions"]
                   if p.attributes.get("server.address") == server_key]
    assert set(transitions) == {"open", "half_open", "closed"}


# --------------------------------------------------------------------------- placement and config


class AnswersPlat1:
    """An outer middleware that answers one request itself, as a cache hit would."""

    @hookimpl
    def jira_request_middleware(self, runtime):  # type: ignore[no-untyped-def]
        import httpx2

        def wrap(send):  # type: ignore[no-untyped-def]
            async def maybe_answer(request):  # type: ignore[no-untyped-def]
                if request_info(request).operation == "issue.get" and request.url.path.endswith("/PLAT-1"):
                    return httpx2.Response(200, json={"key": "PLAT-1", "fields": {"summary": "cached"}},
                                           request=request)
                return await send(request)

            return maybe_answer

        return wrap


async def test_answers_from_outer_middleware_spend_no_budget(sandbox) -> None:  # type: ignore[no-untyped-def]
    server, _ = make_server(sandbox, plugins={"answers": AnswersPlat1()})
    async with Client(server, cache=None) as client:
        for _ in range(3):
            await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0})
        await client.call_tool("jira_get_issue", {"issue_key": "PLAT-2", "comment_limit": 0})
        stats = await stats_of(client)
    assert stats["requests"] == 1 and stats["attempts"] == 1  # ratelimit sits inside: only PLAT-2 reached it
    assert len(sandbox.request_log) == 1


def test_bad_settings_stop_start_up_naming_the_key(cloud_sandbox) -> None:  # type: ignore[no-untyped-def]
    environ = {**sandbox_environ(cloud_sandbox), "JIRAPLUG_RATELIMIT__MAX_ATTEMPTS": "0"}
    with pytest.raises(ConfigError, match="ratelimit.max_attempts"):
        bootstrap(environ=environ)
    environ = {**sandbox_environ(cloud_sandbox), "JIRAPLUG_RATELIMIT__RATE_LIMIT_RPS": "5"}
    with pytest.raises(ConfigError, match="rate_limit_rps"):
        bootstrap(environ=environ)


async def test_cache_hits_spend_no_budget(sandbox) -> None:  # type: ignore[no-untyped-def]
    server, _ = make_server(sandbox, environ={"JIRAPLUG_DISABLE_PLUGINS": "pool"})
    async with Client(server, cache=None) as client:
        for _ in range(3):
            assert not (await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0})).is_error
        stats = await stats_of(client)
    assert len(sandbox.request_log) == stats["attempts"] == stats["requests"] == 1
