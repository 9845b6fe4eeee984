"""The ``ratelimit`` plugin's parts: header parsing, throttle, breaker, and the controller
driven through a real ``httpx2.AsyncClient`` whose transport plays a scripted Jira.

The scripted peer covers what the sandbox cannot produce on demand (``Retry-After: 0``,
HTTP dates, read timeouts, a connection refused before sending). Waits go through an
injected clock and sleep, so nothing here really sleeps except the token-bucket test.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import email.utils
import time
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from pydantic import ValidationError

from jiraplug.jira.middleware import EXTENSION_KEY, RequestInfo
from jiraplug.plugins.ratelimit.breaker import BreakerOpenError, BreakerState, CircuitBreaker
from jiraplug.plugins.ratelimit.controller import RateLimitController
from jiraplug.plugins.ratelimit.errors import CircuitOpen, RateLimitedTooLong, WriteOutcomeUnknown
from jiraplug.plugins.ratelimit.headers import advertised_rate, parse_reset, parse_retry_after, requested_wait
from jiraplug.plugins.ratelimit.settings import RateLimitSettings
from jiraplug.plugins.ratelimit.throttle import PausedTooLong, Throttle

pytestmark = pytest.mark.anyio

WALL = 1_767_225_600.0  # 2026-01-01T00:00:00Z, the fake wall clock's start


class FakeTime:
    """An injectable clock and sleep: sleeping records the wait and advances the clock."""

    def __init__(self, start: float | None = None, on_sleep: Callable[[float], None] | None = None) -> None:
        self.now = time.monotonic() if start is None else start
        self.origin = self.now
        self.sleeps: list[float] = []
        self.on_sleep = on_sleep

    def clock(self) -> float:
        return self.now

    def wall(self) -> float:
        return WALL + (self.now - self.origin)

    # The jiraplug.clock.Clock protocol, so a server's runtime can run on it too.
    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.wall()

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        if self.on_sleep is not None:
            self.on_sleep(seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        self.now += seconds


Outcome = httpx2.Response | Exception | Callable[[httpx2.Request], Any]


class ScriptedJira:
    """A Jira stand-in behind a real httpx2 client: answers from a script, records requests."""

    def __init__(self, *outcomes: Outcome, then: Outcome | None = None) -> None:
        self.script = list(outcomes)
        self.then = then if then is not None else httpx2.Response(200, json={"ok": True})
        self.received: list[httpx2.Request] = []
        self.client = httpx2.AsyncClient(transport=httpx2.MockTransport(self._handle),
                                         base_url="https://jira.example.com")

    async def _handle(self, request: httpx2.Request) -> httpx2.Response:
        self.received.append(request)
        outcome = self.script.pop(0) if self.script else self.then
        if callable(outcome) and not isinstance(outcome, httpx2.Response):
            outcome = await outcome(request)
        if isinstance(outcome, Exception):
            raise outcome
        return httpx2.Response(outcome.status_code, headers=outcome.headers, content=outcome.content)

    async def send(self, request: httpx2.Request) -> httpx2.Response:
        response = await self.client.send(request)
        await response.aread()
        return response


def controller(**settings: Any) -> tuple[RateLimitController, FakeTime]:
    fake = FakeTime()
    config = RateLimitSettings(**settings)
    return RateLimitController(config, clock=fake.clock, wall_clock=fake.wall, sleep=fake.sleep), fake


def breaker_of(rl: RateLimitController, server: str = "https://jira.example.com:443") -> str:
    """The state of ``server``'s breaker, as the controller's snapshot shows it."""
    return rl.snapshot()["breakers"][server]["state"]


READ = RequestInfo("issue.get", idempotent=True, read_only=True, credential="cred-a", touches=())
CREATE = RequestInfo("issue.create", idempotent=False, read_only=False, credential="cred-a", touches=("project:PLAT",))
COMMENT = RequestInfo("comment.add", idempotent=False, read_only=False, credential="cred-a", touches=("issue:PLAT-7",))


def build(jira: ScriptedJira, info: RequestInfo = READ) -> httpx2.Request:
    method, path = ("GET", "/rest/api/3/issue/PLAT-1") if info.read_only else ("POST", "/rest/api/3/issue")
    request = jira.client.build_request(method, path, json=None if info.read_only else {"fields": {}})
    request.extensions[EXTENSION_KEY] = info
    return request


def too_many(retry_after: str | None = None, **headers: str) -> httpx2.Response:
    if retry_after is not None:
        headers["Retry-After"] = retry_after
    return httpx2.Response(429, headers=headers, json={"errorMessages": ["Rate limit exceeded."]})


# --------------------------------------------------------------------------- headers


def test_retry_after_accepts_seconds_and_http_dates() -> None:
    assert parse_retry_after("7", WALL) == 7
    assert parse_retry_after(" 2.5 ", WALL) == 2.5
    date = email.utils.format_datetime(dt.datetime.fromtimestamp(WALL + 12, dt.UTC), usegmt=True)
    assert parse_retry_after(date, WALL) == pytest.approx(12)
    assert parse_retry_after("soon", WALL) is None and parse_retry_after("", WALL) is None
    assert parse_retry_after("nan", WALL) is None


def test_rate_limit_reset_accepts_jira_iso_times_epochs_and_delays() -> None:
    iso = dt.datetime.fromtimestamp(WALL + 5.25, dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    assert parse_reset(iso, WALL) == pytest.approx(5.25)
    assert parse_reset(str(int(WALL) + 30), WALL) == pytest.approx(30)
    assert parse_reset("3", WALL) == 3
    assert parse_reset("tomorrow", WALL) is None
    # Retry-After wins over X-RateLimit-Reset; the reset is the fallback.
    assert requested_wait(httpx2.Headers({"Retry-After": "4", "X-RateLimit-Reset": iso}), WALL) == 4
    assert requested_wait(httpx2.Headers({"X-RateLimit-Reset": iso}), WALL) == pytest.approx(5.25)
    assert requested_wait(httpx2.Headers({}), WALL) is None


def test_data_center_fill_rate_is_read_as_requests_per_second() -> None:
    assert advertised_rate(httpx2.Headers({"X-RateLimit-FillRate": "20", "X-RateLimit-Interval-Seconds": "2"})) == 10
    assert advertised_rate(httpx2.Headers({"X-RateLimit-Limit": "20"})) is None  # Cloud: a bucket size
    assert advertised_rate(httpx2.Headers({"X-RateLimit-FillRate": "0", "X-RateLimit-Interval-Seconds": "1"})) is None


# --------------------------------------------------------------------------- settings


def test_settings_refuse_inconsistent_or_unknown_values() -> None:
    with pytest.raises(ValidationError, match="min_retry_after_seconds"):
        RateLimitSettings(min_retry_after_seconds=90, max_retry_after_seconds=60)
    with pytest.raises(ValidationError, match="burst"):
        RateLimitSettings(burst=0)
    with pytest.raises(ValidationError, match="extra"):
        RateLimitSettings(rate_limit_rps=3)  # type: ignore[call-arg]
    assert RateLimitSettings(rate_limit_requests_per_second=2.5).global_burst == 3


# --------------------------------------------------------------------------- throttle


async def test_throttle_cuts_once_per_episode_and_recovers_linearly() -> None:
    fake = FakeTime(start=100.0)
    throttle = Throttle(baseline=40, factor=0.5, recovery_seconds=60, clock=fake.clock)
    for _ in range(30):
        throttle.sent(100.0)
    assert throttle.throttled(now=100.1, sent_at=100.0)
    assert throttle.rate(100.1) == pytest.approx(15)  # half of the 30 req/s observed
    # More 429s for requests sent before the cut say nothing new.
    assert not throttle.throttled(now=100.2, sent_at=100.05)
    assert throttle.rate(100.1 + 30) == pytest.approx(22.5)  # half way back after half the time
    assert throttle.rate(100.1 + 60) == pytest.approx(30)  # back where it was...
    assert throttle.rate(100.1 + 80) == pytest.approx(35)  # ...climbing on toward the configured 40
    assert throttle.rate(100.1 + 100) is None  # recovered: only the steady buckets apply


def test_the_cut_starts_from_the_rate_when_the_refused_request_left() -> None:
    # Jira was slow: the 429 came back 5 s after its request, when little else was leaving.
    throttle = Throttle(baseline=0, factor=0.5, recovery_seconds=60, clock=lambda: 0.0)
    for n in range(30):
        throttle.sent(10.0 + n / 30)
    throttle.sent(15.5)
    assert throttle.throttled(now=16.0, sent_at=10.9)
    assert throttle.rate(16.0) == pytest.approx(14)  # half of the 28 that left in the second before it


async def test_throttle_spaces_requests_and_a_new_pause_moves_the_queue_back() -> None:
    fake = FakeTime(start=0.0)
    throttle = Throttle(baseline=10, factor=0.5, recovery_seconds=1000, clock=fake.clock)
    for _ in range(10):
        throttle.sent(0.0)
    throttle.throttled(now=0.0, sent_at=0.0)  # 10 req/s observed -> paced at 5 req/s
    throttle.pause(2.0)
    passed: list[float] = []

    async def one() -> None:
        await throttle.wait_turn(fake.sleep, max_pause=60)
        passed.append(fake.clock())
        if len(passed) == 2:
            throttle.pause(fake.clock() + 3)  # Jira pushes back again while others queue

    await asyncio.gather(*(one() for _ in range(4)))
    assert passed[0] == pytest.approx(2.0)  # after the pause
    assert passed[1] - passed[0] == pytest.approx(1 / throttle.rate(passed[1]), rel=1e-3)  # one pace apart
    assert passed[2] == pytest.approx(passed[1] + 3)  # the new pause held the queue back...
    assert passed[3] - passed[2] == pytest.approx(0.2, rel=1e-2)  # ...and nobody burst out after it
    with pytest.raises(PausedTooLong):
        throttle.pause(fake.clock() + 500)
        await throttle.wait_turn(fake.sleep, max_pause=60)


def test_throttle_never_paces_above_the_advertised_fill_rate() -> None:
    throttle = Throttle(baseline=0, factor=0.9, recovery_seconds=10, clock=lambda: 0.0)
    for _ in range(50):
        throttle.sent(0.0)
    assert throttle.throttled(now=0.0, sent_at=0.0, advertised=8)
    assert throttle.rate(0.0) == 8 and throttle.rate(5.0) == 8
    assert throttle.rate(10.0) is None  # after the recovery time only the steady buckets apply


# --------------------------------------------------------------------------- Retry-After


async def test_retry_after_zero_never_spins() -> None:
    rl, fake = controller(max_attempts=5, min_retry_after_seconds=1.0, max_retry_seconds=600)
    past = email.utils.format_datetime(dt.datetime.fromtimestamp(WALL - 60, dt.UTC), usegmt=True)
    jira = ScriptedJira(too_many("0"), too_many(past), too_many("0"), then=too_many("0"))
    response = await rl.wrap(jira.send)(build(jira))
    assert response.status_code == 429  # retries ran out: the last answer is handed back as is
    assert len(jira.received) == 5  # bounded by max_attempts
    retry_waits = [s for s in fake.sleeps if s > 0]
    assert len(retry_waits) >= 4 and all(wait >= 1.0 for wait in retry_waits)
    stats = rl.snapshot()
    assert stats["throttled"] == 5 and stats["retries"]["by_reason"] == {"http_429": 4} and stats["gave_up"] == 1


@pytest.mark.parametrize("kind", ["seconds", "http-date", "x-ratelimit-reset"])
async def test_the_wait_jira_asks_for_is_honoured(kind: str) -> None:
    rl, fake = controller(min_retry_after_seconds=0.5)
    moment = dt.datetime.fromtimestamp(WALL + 9, dt.UTC)
    headers = {
        "seconds": {"Retry-After": "9"},
        "http-date": {"Retry-After": email.utils.format_datetime(moment, usegmt=True)},
        "x-ratelimit-reset": {"X-RateLimit-Reset": moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")},
    }[kind]
    jira = ScriptedJira(httpx2.Response(429, headers=headers))
    response = await rl.wrap(jira.send)(build(jira))
    assert response.status_code == 200 and len(jira.received) == 2
    assert sum(fake.sleeps) >= 9 - 1e-6  # at least what was asked, before the retry was sent


async def test_a_503_with_retry_after_is_waited_out_for_reads() -> None:
    rl, fake = controller()
    jira = ScriptedJira(httpx2.Response(503, headers={"Retry-After": "3"}))
    assert (await rl.wrap(jira.send)(build(jira))).status_code == 200
    assert sum(fake.sleeps) >= 3 and rl.snapshot()["throttled"] == 0  # only 429s count as throttled


async def test_a_wait_beyond_the_maximum_fails_saying_when_to_retry_and_holds_other_calls() -> None:
    rl, fake = controller(max_retry_after_seconds=60)
    jira = ScriptedJira(too_many("3600"))
    send = rl.wrap(jira.send)
    with pytest.raises(RateLimitedTooLong) as caught:
        await send(build(jira))
    text = str(caught.value)
    assert "3600 s" in text and "Retry after 01:00:00 UTC" in text and "max_retry_after_seconds" in text
    assert caught.value.status == 429
    # While Jira's wait lasts, other calls fail the same way without knocking again.
    fake.advance(10)
    with pytest.raises(RateLimitedTooLong, match="3590 s"):
        await send(build(jira))
    assert len(jira.received) == 1 and fake.sleeps == []


# --------------------------------------------------------------------------- retries


async def test_reads_retry_transient_failures_with_capped_full_jitter() -> None:
    rl, fake = controller(max_attempts=6, backoff_base_seconds=0.5, backoff_max_seconds=1.5,
                          breaker_failure_threshold=0)
    jira = ScriptedJira(
        httpx2.ReadTimeout("slow"), httpx2.Response(502), httpx2.RemoteProtocolError("closed"),
        httpx2.Response(504), httpx2.ConnectError("refused"),
    )
    response = await rl.wrap(jira.send)(build(jira))
    assert response.status_code == 200 and len(jira.received) == 6
    caps = [0.5, 1.0, 1.5, 1.5, 1.5]  # base * 2^(n-1), capped
    assert len(fake.sleeps) == 5 and all(0 <= s <= cap for s, cap in zip(fake.sleeps, caps, strict=True))
    assert rl.snapshot()["retries"]["by_reason"] == {
        "read_timeout": 1, "http_502": 1, "remote_protocol_error": 1, "http_504": 1, "connect_error": 1,
    }


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 500])
async def test_client_errors_and_500_are_never_retried(status: int) -> None:
    rl, fake = controller()
    jira = ScriptedJira(then=httpx2.Response(status, json={"errorMessages": ["no"]}))
    assert (await rl.wrap(jira.send)(build(jira))).status_code == status
    assert len(jira.received) == 1 and fake.sleeps == []


async def test_retries_stop_at_the_total_time_budget() -> None:
    rl, fake = controller(max_attempts=10, min_retry_after_seconds=0.1, max_retry_seconds=1.0)
    jira = ScriptedJira(then=too_many("0.6"))
    assert (await rl.wrap(jira.send)(build(jira))).status_code == 429
    assert len(jira.received) == 2  # a third attempt would need 1.2 s > 1.0 s


@pytest.mark.parametrize(
    ("first", "sent"),
    [
        (too_many("1"), 2),  # Jira refused it: safe to send again
        (httpx2.ConnectError("connection refused"), 2),  # never left: safe
        (httpx2.PoolTimeout("no free connection"), 2),  # never left: safe
        (httpx2.ReadTimeout("no answer"), 1),  # sent, fate unknown
        (httpx2.RemoteProtocolError("Server disconnected without sending a response."), 1),
        (httpx2.WriteError("broken pipe"), 1),
        (httpx2.Response(502), 1),
        (httpx2.Response(503, headers={"Retry-After": "1"}), 1),
        (httpx2.Response(500), 1),
    ],
)
async def test_writes_are_repeated_only_when_jira_certainly_did_not_act(first: Outcome, sent: int) -> None:
    rl, _ = controller()
    jira = ScriptedJira(first, then=httpx2.Response(201, json={"key": "PLAT-999"}))
    send = rl.wrap(jira.send)
    if sent == 2:
        assert (await send(build(jira, CREATE))).status_code == 201
    else:
        with pytest.raises(WriteOutcomeUnknown) as caught:
            await send(build(jira, CREATE))
        text = str(caught.value)
        assert "issue.create may have been applied" in text and "not sent again" in text
        assert "jira_search" in text and "project = PLAT" in text
        assert rl.snapshot()["writes_not_repeated"] == 1
    assert len(jira.received) == sent


async def test_an_ambiguous_write_to_an_issue_says_to_read_the_issue_back() -> None:
    rl, _ = controller()
    jira = ScriptedJira(httpx2.ReadTimeout("no answer"))
    with pytest.raises(WriteOutcomeUnknown, match=r"jira_get_issue.*PLAT-7|PLAT-7.*jira_get_issue"):
        await rl.wrap(jira.send)(build(jira, COMMENT))


@pytest.mark.parametrize("first", [httpx2.ReadTimeout("no answer"), httpx2.Response(502), None])
async def test_a_delete_that_finds_nothing_after_an_unanswered_attempt_says_it_may_have_worked(
    first: Outcome | None,
) -> None:
    from jiraplug.jira.errors import error_from_response

    rl, _ = controller()
    gone = httpx2.Response(404, json={"errorMessages": ["Issue does not exist or you do not have permission to see it."]})
    jira = ScriptedJira(*([first] if first is not None else []), then=gone)
    request = jira.client.build_request("DELETE", "/rest/api/3/issue/PLAT-7")
    request.extensions[EXTENSION_KEY] = RequestInfo("issue.delete", idempotent=True, read_only=False,
                                                    credential="cred-a", touches=("issue:PLAT-7",))
    response = await rl.wrap(jira.send)(request)
    message = str(error_from_response(response, "issue.delete PLAT-7"))
    assert response.status_code == 404 and "Issue does not exist" in message
    if first is None:  # a plain 404: nothing was tried before
        assert len(jira.received) == 1 and "earlier attempt" not in message
    else:
        assert len(jira.received) == 2
        assert "An earlier attempt of this delete got no answer and may have deleted it already" in message


async def test_a_read_that_finds_nothing_after_an_unanswered_attempt_is_a_plain_404() -> None:
    from jiraplug.jira.errors import error_from_response

    rl, _ = controller()
    jira = ScriptedJira(httpx2.ReadTimeout("no answer"), then=httpx2.Response(404, json={"errorMessages": ["No."]}))
    response = await rl.wrap(jira.send)(build(jira))
    assert len(jira.received) == 2 and "earlier attempt" not in str(error_from_response(response, "issue.get"))


# --------------------------------------------------------------------------- breaker


def test_breaker_opens_on_a_failure_rate_not_on_a_run_of_bad_luck() -> None:
    fake = FakeTime(start=0.0)
    changes: list[tuple[str, str]] = []
    breaker = CircuitBreaker(3, 30, fake.clock, lambda a, b: changes.append((a.value, b.value)),
                             failure_rate=0.5, window=10)

    def outcome(failed: bool) -> None:
        breaker.record(failed=failed, probe=breaker.admit(claim=True))

    for _ in range(12):  # a partly failing Jira: 1 in 3 answers fails, three in a row now and then
        outcome(False)
        outcome(True)
        outcome(False)
    for _ in range(3):
        outcome(True)
    assert breaker.state is BreakerState.CLOSED  # 15 of 39 failed: below half
    assert (breaker.failures, breaker.outcomes) == (15, 39)

    fake.advance(11)  # those outcomes leave the window
    for _ in range(2):
        outcome(True)
    assert breaker.state is BreakerState.CLOSED  # below the threshold of 3 failures
    outcome(True)
    assert breaker.state is BreakerState.OPEN and changes == [("closed", "open")]
    with pytest.raises(BreakerOpenError) as caught:
        breaker.admit(claim=True)
    assert (caught.value.failures, caught.value.outcomes) == (3, 3)
    assert CircuitBreaker(0, 30, fake.clock).admit(claim=True) is False  # threshold 0: off


def test_a_site_that_goes_down_opens_the_breaker_once_half_its_recent_answers_fail() -> None:
    fake = FakeTime(start=0.0)
    breaker = CircuitBreaker(5, 30, fake.clock, failure_rate=0.5, window=10)
    for _ in range(8):
        breaker.record(failed=False, probe=breaker.admit(claim=True))
        fake.advance(0.5)
    failures = 0
    while breaker.state is BreakerState.CLOSED:
        breaker.record(failed=True, probe=breaker.admit(claim=True))
        failures += 1
    assert failures == 8  # 8 good then 8 bad answers: half of the window


async def test_half_open_breaker_lets_exactly_one_probe_through() -> None:
    rl, fake = controller(breaker_failure_threshold=2, breaker_cooldown_seconds=30, max_attempts=1)
    release = asyncio.Event()

    async def slow_success(request: httpx2.Request) -> httpx2.Response:
        await release.wait()
        return httpx2.Response(200, json={})

    jira = ScriptedJira(httpx2.Response(502), httpx2.Response(502), slow_success)
    send = rl.wrap(jira.send)
    for _ in range(2):
        assert (await send(build(jira))).status_code == 502
    with pytest.raises(CircuitOpen, match=r"failing \(2 of the last 2 requests failed.*retry after"):
        await send(build(jira))
    assert len(jira.received) == 2
    fake.advance(31)
    probe = asyncio.create_task(send(build(jira)))
    await asyncio.sleep(0.01)
    assert len(jira.received) == 3 and breaker_of(rl) == BreakerState.HALF_OPEN.value
    with pytest.raises(CircuitOpen):  # the probe is still out: others keep failing fast
        await send(build(jira))
    release.set()
    assert (await probe).status_code == 200
    assert breaker_of(rl) == BreakerState.CLOSED.value
    assert (await send(build(jira))).status_code == 200
    assert rl.snapshot()["failed_fast"] == 2


async def test_a_cancelled_probe_gives_its_slot_back() -> None:
    rl, fake = controller(breaker_failure_threshold=1, max_attempts=1)

    async def hang(request: httpx2.Request) -> httpx2.Response:
        await asyncio.sleep(3600)
        raise AssertionError("unreachable")

    jira = ScriptedJira(httpx2.Response(503), hang)
    send = rl.wrap(jira.send)
    await send(build(jira))
    fake.advance(31)
    probe = asyncio.create_task(send(build(jira)))
    await asyncio.sleep(0.01)
    probe.cancel()
    with pytest.raises(asyncio.CancelledError):
        await probe
    assert (await send(build(jira))).status_code == 200  # a new probe was allowed


# --------------------------------------------------------------------------- buckets


async def test_per_credential_buckets_keep_users_apart() -> None:
    rl, _ = controller(rate_limit_requests_per_second=0, per_credential_requests_per_second=20,
                       per_credential_burst=1)
    jira = ScriptedJira()
    send = rl.wrap(jira.send)
    other = RequestInfo("issue.get", idempotent=True, read_only=True, credential="cred-b")
    await send(build(jira))
    await send(build(jira, other))  # another credential: its own full bucket
    assert rl.snapshot()["waits"]["bucket"]["count"] == 0
    await send(build(jira))  # same credential, bucket of one already spent: waits its turn
    assert rl.snapshot()["waits"]["bucket"]["count"] == 1
    assert len(jira.received) == 3
