"""The request middleware: buckets, Jira's pushback, safe retries and the breaker.

One :class:`RateLimitController` serves every Jira client of one running server. Per request it runs a tenacity
retry loop whose every attempt

1. fails fast if the breaker of that Jira site is open,
2. waits its turn: the credential's pause/adaptive pace (:mod:`.throttle`), then the
   global and per-credential token buckets (aiolimiter),
3. sends, and classifies the outcome (:mod:`.policy`).

Retries use exponential backoff with full jitter (tenacity's ``wait_random_exponential``),
or the wait Jira asked for after a 429/503, capped by ``max_attempts`` and
``max_retry_seconds``. A write is sent again only when Jira certainly did not act on it.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, NoReturn

import httpx2
from cachetools import LRUCache
from tenacity import AsyncRetrying, RetryCallState, wait_random_exponential

from jiraplug.jira.middleware import UNANSWERED_ATTEMPT_KEY, RequestInfo, Send, request_info
from jiraplug.plugins.ratelimit import policy
from jiraplug.plugins.ratelimit.breaker import BreakerOpenError, BreakerState, CircuitBreaker
from jiraplug.plugins.ratelimit.errors import CircuitOpen, RateLimitedTooLong, WriteOutcomeUnknown
from jiraplug.plugins.ratelimit.headers import advertised_rate, requested_wait
from jiraplug.plugins.ratelimit.metrics import Instruments
from jiraplug.plugins.ratelimit.settings import RateLimitSettings
from jiraplug.plugins.ratelimit.shared import Admission, Refusal, SharedLimits, Turn
from jiraplug.plugins.ratelimit.throttle import PausedTooLong, Throttle, token_bucket

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter

log = logging.getLogger("jiraplug.ratelimit")

# Bounds on per-credential state in a multi-user deployment (least recently used go first).
MAX_CREDENTIALS = 4096

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[Any]]


@dataclass
class _Call:
    """State of one request across its attempts."""

    request: httpx2.Request
    info: RequestInfo
    server: str
    breaker: CircuitBreaker
    throttle: Throttle
    started: float
    reason: str = ""
    pushed_back: bool = False  # the last answer was a 429, or a 503 with Retry-After
    asked_wait: float | None = None  # the (clamped) wait Jira asked for with it
    unanswered: bool = False  # an attempt reached Jira without a usable answer: it may have been applied
    shared_at: float | None = None  # this attempt's send time in the shared budget (Redis's clock, ms)
    shared_breaker: bool = False  # this attempt was admitted by the shared breaker, not the local one


class RateLimitController:
    """Rate limits, retries and circuit breaking for every request of one Jira client.

    ``clock`` (monotonic seconds), ``wall_clock`` (epoch seconds, for HTTP dates) and
    ``sleep`` are the runtime's (``runtime.clock``; see :func:`~jiraplug.plugins.ratelimit.state_of`);
    the token buckets (aiolimiter) run on the event loop's own clock.
    """

    def __init__(self, config: RateLimitSettings, *, clock: Clock = time.monotonic,
                 wall_clock: Clock = time.time, sleep: Sleep = asyncio.sleep, meter: Meter | None = None,
                 shared: SharedLimits | None = None) -> None:
        self.config = config
        self.shared = shared
        # While Redis is unreachable: buckets at this replica's share of each rate, per replica count.
        self._fallback: dict[int, tuple[Any, LRUCache[str, Any]]] = {}
        self._background: set[asyncio.Future[Any]] = set()
        self.clock = clock
        self.wall_clock = wall_clock
        self.sleep = sleep
        self.instruments = Instruments(meter)
        self._global = token_bucket(config.rate_limit_requests_per_second, config.global_burst)
        self._buckets: LRUCache[str, Any] = LRUCache(MAX_CREDENTIALS)
        self._throttles: LRUCache[str, Throttle] = LRUCache(MAX_CREDENTIALS)
        self._breakers: dict[str, CircuitBreaker] = {}
        self._backoff = wait_random_exponential(multiplier=config.backoff_base_seconds, max=config.backoff_max_seconds)
        rates = [r for r in (config.rate_limit_requests_per_second, config.per_credential_requests_per_second) if r]
        self._baseline = min(rates) if rates else 0.0

    # ------------------------------------------------------------------ middleware

    def wrap(self, send: Send) -> Send:
        """The ``jira_request_middleware``: ``wrap(send) -> send``."""

        async def rate_limited(request: httpx2.Request) -> httpx2.Response:
            return await self.send(send, request)

        return rate_limited

    async def send(self, send: Send, request: httpx2.Request) -> httpx2.Response:
        """Send ``request`` through ``send`` with limits, retries and the breaker."""
        info = request_info(request)
        server = policy.server_key(request.url)
        call = _Call(request, info, server, self._breaker(server), self._throttle(info.credential), self.clock())
        self.instruments.stats.requests += 1

        async def sleep(seconds: float) -> None:
            started = self.clock()
            await self.sleep(seconds)
            self.instruments.waited(self.clock() - started, "retry_after" if call.pushed_back else "backoff")

        retrying = AsyncRetrying(
            sleep=sleep,
            retry=lambda state: self._should_retry(call, state),
            wait=lambda state: self._wait(call, state),
            stop=lambda state: self._should_stop(call, state),
            before_sleep=lambda state: self._before_sleep(call, state),
            retry_error_callback=self._give_up,
        )
        return await retrying(self._attempt, send, call)

    async def _attempt(self, send: Send, call: _Call) -> httpx2.Response:
        call.pushed_back, call.asked_wait, call.shared_at = False, None, None
        await self._admit(call, claim=False)  # fail fast before queueing
        await self._wait_turn(call)
        probe = await self._admit(call, claim=True)
        sent_at = self.clock()
        call.throttle.sent(sent_at)
        self.instruments.stats.attempts += 1
        try:
            response = await send(call.request)
        except policy.TRANSIENT_ERRORS as exc:
            await self._record(call, failed=True, probe=probe)
            call.reason = policy.reason_for_exception(exc)
            call.unanswered |= not isinstance(exc, policy.NOT_SENT_ERRORS)
            if not call.info.idempotent and not isinstance(exc, policy.NOT_SENT_ERRORS):
                self.instruments.stats.writes_not_repeated += 1
                raise WriteOutcomeUnknown(call.info, policy.describe_exception(exc)) from None
            raise
        except BaseException:
            self._release(call, probe)
            raise
        status = response.status_code
        await self._record(call, failed=status >= 500, probe=probe)
        call.reason = f"http_{status}"
        if status >= 500 and not call.info.idempotent:
            self.instruments.stats.writes_not_repeated += 1
            raise WriteOutcomeUnknown(call.info, f"Jira answered HTTP {status} (a server error) to it")
        if policy.is_pushback(response):
            await self._pushed_back(call, response, sent_at)
        elif status >= 500:
            call.unanswered = True
        if call.unanswered and not call.info.read_only:  # a read that got no answer changed nothing
            response.extensions[UNANSWERED_ATTEMPT_KEY] = True
        return response

    # ------------------------------------------------------------------ waiting

    async def _wait_turn(self, call: _Call) -> None:
        """Wait for the token buckets, then for the credential's pause and pace.

        The pause/pace gate comes last, right before sending, so that it also holds back
        requests that were already queued in a bucket when Jira pushed back. With a shared
        backend the buckets, pause and adaptive pace of every replica are one script's answer
        (:mod:`.shared`); without Redis, this replica's share of the buckets applies.
        """
        buckets: tuple[Any, Any] = (self._global, self._bucket(call.info.credential))
        if self.shared is not None:
            turn = await self.shared.turn(call.info.credential)
            if turn is not None:
                await self._wait_shared(call, turn)
                buckets = (None, None)
            else:
                buckets = self._fallback_buckets(call.info.credential)
        for bucket in buckets:
            if bucket is None:
                continue
            if bucket.has_capacity():
                await bucket.acquire()
                continue
            started = time.perf_counter()  # aiolimiter waits on the loop's clock, not ours
            await bucket.acquire()
            self.instruments.waited(time.perf_counter() - started, "bucket")
        try:
            waited = await call.throttle.wait_turn(self.sleep, self.config.max_retry_after_seconds)
        except PausedTooLong as exc:
            self.instruments.stats.refused_long_waits += 1
            raise RateLimitedTooLong(429, call.info.operation, exc.seconds, self.wall_clock() + exc.seconds,
                                     self.config.max_retry_after_seconds) from None
        self.instruments.waited(waited, "throttle")

    async def _wait_shared(self, call: _Call, turn: Turn) -> None:
        """Wait for the turn the shared budget gave this attempt."""
        call.shared_at = turn.at_ms
        if turn.paused_for > 0:
            call.throttle.pause(self.clock() + turn.paused_for)  # another replica saw Jira push back
            if turn.paused_for > self.config.max_retry_after_seconds:
                self.instruments.stats.refused_long_waits += 1
                raise RateLimitedTooLong(429, call.info.operation, turn.paused_for,
                                         self.wall_clock() + turn.paused_for, self.config.max_retry_after_seconds)
        if turn.wait > 0:
            started = self.clock()
            await self.sleep(turn.wait)
            self.instruments.waited(self.clock() - started, "bucket")

    def _fallback_buckets(self, credential: str) -> tuple[Any, Any]:
        """This replica's share of the global and per-credential buckets (Redis unreachable)."""
        assert self.shared is not None
        replicas = self.shared.replicas
        found = self._fallback.get(replicas)
        if found is None:
            global_rate = self.shared.local_share(self.config.rate_limit_requests_per_second)
            burst = max(1, math.ceil(self.config.global_burst / replicas))
            found = self._fallback[replicas] = (token_bucket(global_rate, burst), LRUCache(MAX_CREDENTIALS))
        rate = self.shared.local_share(self.config.per_credential_requests_per_second)
        if not rate:
            return found[0], None
        bucket = found[1].get(credential)
        if bucket is None:
            bucket = found[1][credential] = token_bucket(
                rate, max(1, math.ceil(self.config.credential_burst / replicas)))
        return found[0], bucket

    async def _pushed_back(self, call: _Call, response: httpx2.Response, sent_at: float) -> None:
        """Jira answered 429 (or 503 with Retry-After): pause the credential, slow down."""
        now, wall = self.clock(), self.wall_clock()
        status = response.status_code
        credential = call.info.credential
        if status == 429:
            self.instruments.throttled(status)
            shared_cut = None
            if self.shared is not None and call.shared_at is not None:
                shared_cut = await self.shared.cut(credential, call.shared_at, advertised_rate(response.headers))
                if shared_cut:
                    log.info("Jira answered 429: the replicas' shared pace for this credential is cut")
            if shared_cut is None and call.throttle.throttled(now, sent_at, advertised_rate(response.headers)):
                log.info("Jira answered 429: pace for this credential cut to %.2f requests/s",
                         call.throttle.rate(now) or 0.0)
        asked = requested_wait(response.headers, wall)
        limit = self.config.max_retry_after_seconds
        if asked is not None and asked > limit:
            call.throttle.pause(now + asked)  # the other calls do not knock either
            if self.shared is not None:
                await self.shared.pause(credential, asked)  # nor do the other replicas'
            self.instruments.stats.refused_long_waits += 1
            raise RateLimitedTooLong(status, call.info.operation, asked, wall + asked, limit)
        call.pushed_back = True
        # Clamp to the minimum: a Retry-After of 0 (or a date in the past) must not spin.
        call.asked_wait = max(self.config.min_retry_after_seconds, asked) if asked is not None else None
        pause = call.asked_wait or self.config.min_retry_after_seconds
        call.throttle.pause(now + pause)
        if self.shared is not None:
            await self.shared.pause(credential, pause)

    # ------------------------------------------------------------------ tenacity policy

    def _should_retry(self, call: _Call, state: RetryCallState) -> bool:
        outcome = state.outcome
        assert outcome is not None
        if outcome.failed:
            # Ambiguous write failures were already turned into WriteOutcomeUnknown.
            return isinstance(outcome.exception(), policy.TRANSIENT_ERRORS)
        return outcome.result().status_code in policy.RETRY_STATUSES

    def _wait(self, call: _Call, state: RetryCallState) -> float:
        if call.asked_wait is not None:
            wait = call.asked_wait
        else:
            wait = self._backoff(state)  # full jitter: uniform(0, min(cap, base * 2^(n-1)))
            if call.pushed_back:
                wait = max(wait, self.config.min_retry_after_seconds)
        return max(wait, call.throttle.pause_until - self.clock())

    def _should_stop(self, call: _Call, state: RetryCallState) -> bool:
        if state.attempt_number >= self.config.max_attempts:
            return True
        spent = self.clock() - call.started
        return spent + (state.upcoming_sleep or 0.0) > self.config.max_retry_seconds

    def _before_sleep(self, call: _Call, state: RetryCallState) -> None:
        self.instruments.retried(state.attempt_number + 1, call.reason, state.upcoming_sleep, call.info.operation)

    def _give_up(self, state: RetryCallState) -> Any:
        """Retries ran out: hand back the last answer (or raise the last error) as is."""
        self.instruments.stats.gave_up += 1
        assert state.outcome is not None
        return state.outcome.result()

    # ------------------------------------------------------------------ breaker

    async def _admit(self, call: _Call, *, claim: bool) -> bool:
        """Fail fast if the site's breaker is open; whether this attempt is the half-open probe.

        The shared breaker decides while Redis answers; otherwise this replica's own.
        """
        decision = await self.shared.admit(call.server, claim=claim) if self.shared is not None else None
        call.shared_breaker = decision is not None
        if isinstance(decision, Refusal):
            self._open_error(call, decision.retry_in, decision.failures, decision.outcomes)
        if isinstance(decision, Admission):
            self._shared_transition(call.server, decision.transition)
            return decision.probe
        try:
            return call.breaker.admit(claim=claim)
        except BreakerOpenError as exc:
            self._open_error(call, exc.retry_in, exc.failures, exc.outcomes)
            raise  # unreachable: _open_error raises

    def _open_error(self, call: _Call, retry_in: float, failures: int, outcomes: int) -> NoReturn:
        self.instruments.failed_fast(call.server, call.info.operation)
        raise CircuitOpen(policy.display_host(call.request.url), failures, outcomes, retry_in,
                          self.wall_clock() + retry_in, call.info.operation) from None

    async def _record(self, call: _Call, *, failed: bool, probe: bool) -> None:
        if call.shared_breaker and self.shared is not None:
            transition = await self.shared.record(call.server, failed=failed, probe=probe)
            if transition is not None or self.shared.link.available:
                self._shared_transition(call.server, transition)
                return
            probe = False  # Redis failed meanwhile: count it in this replica's breaker
        call.breaker.record(failed=failed, probe=probe)

    def _release(self, call: _Call, probe: bool) -> None:
        if call.shared_breaker and self.shared is not None:
            if probe:  # cancelled: hand the shared probe slot back without waiting (its lease also runs out)
                task = asyncio.ensure_future(self.shared.release(call.server))
                self._background.add(task)
                task.add_done_callback(self._background.discard)
            return
        call.breaker.release(probe=probe)

    def _shared_transition(self, server: str, transition: tuple[BreakerState, BreakerState] | None) -> None:
        if transition is not None:
            previous, state = transition
            self.instruments.breaker_changed(server, state.value, state.level)
            level = logging.WARNING if state is BreakerState.OPEN else logging.INFO
            log.log(level, "circuit breaker for %s (shared by the replicas): %s -> %s", server, previous.value,
                    state.value)

    def _breaker(self, server: str) -> CircuitBreaker:
        breaker = self._breakers.get(server)
        if breaker is None:
            def changed(previous: BreakerState, state: BreakerState) -> None:
                self.instruments.breaker_changed(server, state.value, state.level)
                level = logging.WARNING if state is BreakerState.OPEN else logging.INFO
                log.log(level, "circuit breaker for %s: %s -> %s", server, previous.value, state.value)

            breaker = CircuitBreaker(self.config.breaker_failure_threshold, self.config.breaker_cooldown_seconds,
                                     lambda: self.clock(), changed,
                                     failure_rate=self.config.breaker_failure_rate_percent / 100,
                                     window=self.config.breaker_window_seconds)
            self._breakers[server] = breaker
        return breaker

    # ------------------------------------------------------------------ per credential

    def _throttle(self, credential: str) -> Throttle:
        throttle = self._throttles.get(credential)
        if throttle is None:
            throttle = Throttle(self._baseline, self.config.adaptive_factor, self.config.adaptive_recovery_seconds,
                                lambda: self.clock())
            self._throttles[credential] = throttle
        return throttle

    def _bucket(self, credential: str) -> Any:
        if not self.config.per_credential_requests_per_second:
            return None
        bucket = self._buckets.get(credential)
        if bucket is None:
            bucket = token_bucket(self.config.per_credential_requests_per_second, self.config.credential_burst)
            self._buckets[credential] = bucket
        return bucket

    # ------------------------------------------------------------------ introspection

    def snapshot(self) -> dict[str, Any]:
        """Counters, breaker states and adaptive rates, as JSON-ready data."""
        now = self.clock()
        out = self.instruments.stats.as_dict()
        out["breakers"] = {
            server: {"state": b.state.value, "consecutive_failures": b.failures,
                     "retry_in_seconds": round(b.retry_in(), 3)}
            for server, b in self._breakers.items()
        }
        throttles = {}
        for credential, throttle in list(self._throttles.items()):
            rate, paused = throttle.rate(now), max(0.0, throttle.pause_until - now)
            if rate is not None or paused > 0:
                throttles[credential] = {"adaptive_rate": None if rate is None else round(rate, 3),
                                         "paused_for_seconds": round(paused, 3)}
        out["adaptive"] = throttles
        out["backend"] = self.shared.snapshot() if self.shared is not None else {"kind": "memory"}
        out["limits"] = {
            "rate_limit_requests_per_second": self.config.rate_limit_requests_per_second,
            "burst": self.config.global_burst,
            "per_credential_requests_per_second": self.config.per_credential_requests_per_second,
            "max_attempts": self.config.max_attempts,
        }
        return out
