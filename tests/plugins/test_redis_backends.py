"""The Redis backends of the cache and ratelimit plugins, piece by piece, against a real Redis:
settings and secrets, a password-protected Redis, the shared breaker and pause, the outage
warning, the alert rule. (Replicas over HTTP: tests/test_replicas_redis.py.)"""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import anyio
import pytest

from jiraplug.errors import ConfigError
from jiraplug.plugins.ratelimit.settings import RateLimitSettings
from jiraplug.plugins.ratelimit.shared import Admission, Refusal, SharedLimits
from jiraplug.redis_link import RedisLink
from jiraplug.settings import load_settings
from jiraplug.testing import ManualClock, run_jiraplug
from tests.redis_server import RedisServer
from tests.test_cli import run

pytestmark = pytest.mark.anyio
PASSWORD = "redis-pass-do-not-print"


def _settings_error(**environ: str) -> str:
    from jiraplug.bootstrap import bootstrap

    with pytest.raises(ConfigError) as caught:
        bootstrap(environ={"JIRA_URL": "https://x.atlassian.net", **environ})
    return str(caught.value)


def test_backend_redis_needs_a_redis_url_and_never_echoes_a_bad_one() -> None:
    assert "needs redis_url" in _settings_error(JIRAPLUG_CACHE__BACKEND="redis")
    message = _settings_error(JIRAPLUG_RATELIMIT__BACKEND="redis",
                              JIRAPLUG_RATELIMIT__REDIS_URL=f"http://user:{PASSWORD}@host")
    assert "not a redis url" in message.lower() and PASSWORD not in message


def test_a_check_across_keys_and_a_misparsed_url_never_print_the_password(tmp_path: Path) -> None:
    """A failed check across keys (unreadable password file, a cluster's database) used to print the
    whole table, redis_url included; a password with an unencoded "/" split into port and path."""
    url = f"redis://:{PASSWORD}@cache.internal:6379/3"
    for environ in ({"JIRAPLUG_CACHE__REDIS_PASSWORD_FILE": str(tmp_path / "missing")},
                    {"JIRAPLUG_CACHE__REDIS_CLUSTER": "true"}):
        message = _settings_error(JIRAPLUG_CACHE__BACKEND="redis", JIRAPLUG_CACHE__REDIS_URL=url, **environ)
        assert PASSWORD not in message and ("cannot read" in message or "needs database 0" in message), message
    for split in ("redis://default:Zx9/Qw+Secret@host:6379/0", "redis://u:9173/Qw+Secret@host/0"):
        message = _settings_error(JIRAPLUG_CACHE__BACKEND="redis", JIRAPLUG_CACHE__REDIS_URL=split)
        assert "percent-encode" in message and "Secret" not in message and "Zx9" not in message, message


def test_without_the_redis_package_start_up_names_the_install_command(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "redis", None)
    monkeypatch.setitem(sys.modules, "redis.asyncio", None)
    message = _settings_error(JIRAPLUG_CACHE__BACKEND="redis", JIRAPLUG_CACHE__REDIS_URL="redis://127.0.0.1:1/0")
    assert "pip install 'jiraplug[redis]'" in message
    load_settings(environ={"JIRA_URL": "https://x.atlassian.net"})  # the memory backend needs no package


def test_config_redacts_the_redis_url_and_password(tmp_path: Path) -> None:
    (tmp_path / "secret").write_text(PASSWORD + "\n")
    done = run("config", "--json", cwd=tmp_path, JIRA_URL="https://x.atlassian.net",
               JIRAPLUG_CACHE__BACKEND="redis", JIRAPLUG_CACHE__REDIS_URL=f"rediss://:{PASSWORD}@cache.internal:6380/0",
               JIRAPLUG_RATELIMIT__BACKEND="redis", JIRAPLUG_RATELIMIT__REDIS_URL="redis://cache.internal:6379/1",
               JIRAPLUG_RATELIMIT__REDIS_PASSWORD_FILE=str(tmp_path / "secret"))
    assert done.returncode == 0, done.stderr
    assert PASSWORD not in done.stdout + done.stderr
    shown = json.loads(done.stdout)
    assert shown["cache"]["redis_url"] == "<redacted>" and shown["ratelimit"]["redis_password"] == "<redacted>"


async def test_a_password_protected_redis_with_the_password_from_a_file(tmp_path: Path,
                                                                         caplog: pytest.LogCaptureFixture) -> None:
    (tmp_path / "secret").write_text(PASSWORD)
    with RedisServer(password=PASSWORD) as server:
        url = f"redis://127.0.0.1:{server.port}/0"
        environ = {"JIRAPLUG_CACHE__BACKEND": "redis", "JIRAPLUG_CACHE__REDIS_URL": url,
                   "JIRAPLUG_CACHE__REDIS_PASSWORD_FILE": str(tmp_path / "secret")}
        async with run_jiraplug(builtins=["issues", "cache"], environ=environ) as jp:
            await jp.data("jira_get_issue", issue_key="PLAT-1")
            jira_requests = len(jp.sandbox.request_log)
            await jp.data("jira_get_issue", issue_key="PLAT-1")
            assert len(jp.sandbox.request_log) == jira_requests  # served from Redis
            figures = await jp.read("jiraplug://cache")
            assert figures["backend"]["kind"] == "redis" and figures["backend"]["available"]
            server.stop()
            with caplog.at_level(logging.INFO, logger="jiraplug"):
                await jp.data("jira_get_issue", issue_key="PLAT-1")  # a miss, not a failure
                await jp.data("jira_get_issue", issue_key="PLAT-1")
            assert len(jp.sandbox.request_log) > jira_requests
            warnings = [r for r in caplog.records if "is unavailable" in r.getMessage()]
            assert len(warnings) == 1 and PASSWORD not in caplog.text
            figures = await jp.read("jiraplug://cache")
            assert figures["backend"]["available"] is False and figures["backend"]["outages"] == 1
            assert PASSWORD not in json.dumps(figures)


def _shared(url: str, **config: float) -> SharedLimits:
    settings = RateLimitSettings(backend="redis", redis_url=url, **config)  # type: ignore[arg-type]
    return SharedLimits(RedisLink(url, timeout=1.0), settings, "test:")


async def test_the_breaker_is_shared_one_probe_across_replicas(redis_server: RedisServer) -> None:
    one = _shared(redis_server.url, breaker_failure_threshold=3, breaker_cooldown_seconds=0.2)
    two = _shared(redis_server.url, breaker_failure_threshold=3, breaker_cooldown_seconds=0.2)
    site = "https://jira.example.com:443"
    for _ in range(2):
        assert isinstance(await one.admit(site, claim=True), Admission)
        await one.record(site, failed=True, probe=False)
    transition = await two.record(site, failed=True, probe=False)  # the third failure, seen by replica two
    assert transition is not None and transition[1].value == "open"
    refused = await one.admit(site, claim=False)
    assert isinstance(refused, Refusal) and refused.failures == 3


    await anyio.sleep(0.25)  # the cooldown passes: exactly one probe across both replicas
    probe = await one.admit(site, claim=True)
    assert isinstance(probe, Admission) and probe.probe
    assert isinstance(await two.admit(site, claim=True), Refusal)
    assert (await one.record(site, failed=False, probe=True))[1].value == "closed"  # type: ignore[index]
    assert isinstance(await two.admit(site, claim=True), Admission)
    await one.link.aclose()
    await two.link.aclose()


async def test_a_pause_and_the_budget_are_shared(redis_server: RedisServer) -> None:
    one = _shared(redis_server.url, rate_limit_requests_per_second=10, burst=2)
    two = _shared(redis_server.url, rate_limit_requests_per_second=10, burst=2)
    turns = [await one.turn("cred"), await two.turn("cred"), await one.turn("cred"), await two.turn("cred")]
    waits = [turn.wait for turn in turns if turn is not None]
    assert waits[0] == waits[1] == 0 and 0.05 < waits[2] <= 0.1 and 0.15 < waits[3] <= 0.2
    assert turns[-1] is not None and turns[-1].replicas == 2
    assert await one.pause("cred", 5)
    paused = await two.turn("cred")
    assert paused is not None and 4 < paused.paused_for <= 5 and paused.wait >= paused.paused_for
    assert (await two.turn("other")) is not None and (await two.turn("other")).paused_for <= 0  # type: ignore[union-attr]
    await one.link.aclose()
    await two.link.aclose()


async def test_without_redis_the_budget_falls_back_to_this_replicas_share(redis_server: RedisServer) -> None:
    one = _shared(redis_server.url, rate_limit_requests_per_second=10)
    two = _shared(redis_server.url, rate_limit_requests_per_second=10)
    await one.turn("cred")
    await two.turn("cred")
    assert (await one.turn("cred")) is not None and one.replicas == 2
    redis_server.stop()
    assert await one.turn("cred") is None and not one.link.available
    assert one.local_share(10) == 5
    redis_server.start()


    await anyio.sleep(1.1)  # the next probe
    assert await one.turn("cred") is not None and one.link.available
    await one.link.aclose()
    await two.link.aclose()


async def test_an_answer_sent_before_the_outage_does_not_end_it(redis_server: RedisServer,
                                                                 caplog: pytest.LogCaptureFixture) -> None:
    """A command in flight when another fails may still be answered; only the probe ends the outage,
    so concurrent callers see one warning per outage (a replica once logged two, 2 ms apart)."""
    clock = ManualClock()
    link = RedisLink(redis_server.url, timeout=1.0, clock=clock.monotonic)
    release = anyio.Event()

    async def slow_ping(client: object) -> bool:
        answer = await client.ping()  # type: ignore[attr-defined]
        await release.wait()
        return bool(answer)

    async def broken(client: object) -> None:
        raise ConnectionError("Connection closed by server.")

    caplog.set_level(logging.WARNING, logger="jiraplug.redis")
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(link.run, "slow", slow_ping)
        await anyio.sleep(0.05)
        with pytest.raises(Exception, match="Connection closed"):
            await link.run("broken", broken)
        release.set()  # the slow command is answered after the failure
    assert not link.available and link.outages == 1
    with pytest.raises(Exception, match="unavailable"):
        await link.run("broken", broken)  # fails at once: no new outage, no second warning
    assert sum("is unavailable" in r.getMessage() for r in caplog.records) == 1 and link.outages == 1
    clock.advance(1.1)  # the probe answers and ends the outage
    assert await link.run("ping", lambda client: client.ping()) and link.available  # type: ignore[attr-defined]
    await link.aclose()


def test_the_redis_unavailable_rule_fires_after_for_seconds() -> None:
    from jiraplug.plugins.alerting.monitor import Monitor
    from jiraplug.plugins.alerting.rules import build_rules
    from jiraplug.plugins.alerting.settings import AlertingSettings
    from jiraplug.plugins.alerting.window import SlidingWindow

    clock = ManualClock()
    settings = AlertingSettings(for_seconds=10, max_response_time_ms="off", min_success_rate_percent="off",
                                max_error_rate_percent="off", max_memory_usage_bytes="off")
    monitor = Monitor(build_rules(settings), settings, clock.monotonic, lambda: 1.7e9)
    figures = SlidingWindow(60, clock.monotonic).figures()
    assert monitor.evaluate(figures, 0, 0.0) == []
    assert monitor.evaluate(figures, 0, 1.0) == []  # pending
    clock.advance(10)
    fired = monitor.evaluate(figures, 0, 11.0)
    assert [(a.name, a.state) for a in fired] == [("redis_unavailable", "firing")]
    assert [(a.name, a.state) for a in monitor.evaluate(figures, 0, 0.0)] == [("redis_unavailable", "resolved")]


async def test_a_redis_operation_cancelled_with_its_tool_call_still_ends_its_span(redis_server: RedisServer) -> None:
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    link = RedisLink(redis_server.url, timeout=5, tracer=provider.get_tracer("test"))

    async def blocked(client: object) -> None:
        await anyio.sleep(10)

    with anyio.move_on_after(0.1):  # the tool call is cancelled while Redis has not answered
        await link.run("cache.lookup", blocked)
    await link.run("cache.store", lambda client: client.ping())
    await link.aclose()
    ended = {span.name: span for span in exporter.get_finished_spans()}
    assert ended["redis cache.lookup"].attributes["error.type"] == "cancelled"
    assert "error.type" not in ended["redis cache.store"].attributes
    assert link.available  # a cancelled call says nothing about Redis
