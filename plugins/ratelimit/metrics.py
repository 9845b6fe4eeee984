"""What the ``ratelimit`` plugin counts: OpenTelemetry instruments plus in-process counters.

The instruments feed exporters (``jiraplug.ratelimit.*``); :class:`RateLimitStats` keeps the
same numbers in process for the controller's ``snapshot()`` (the ``jiraplug://ratelimit``
resource).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from jiraplug import telemetry
from jiraplug.stages import record_stage

if TYPE_CHECKING:
    from opentelemetry.metrics import Meter

RATELIMIT_WAIT = "ratelimit.wait"
"""Profiling stage of a wait caused by rate limiting (attribute ``reason``; see :mod:`jiraplug.stages`)."""

WAIT_DURATION = "jiraplug.ratelimit.wait.duration"
THROTTLED = "jiraplug.ratelimit.throttled"
RETRIES = "jiraplug.ratelimit.retries"
BREAKER_STATE = "jiraplug.ratelimit.breaker.state"
BREAKER_TRANSITIONS = "jiraplug.ratelimit.breaker.transitions"
FAILED_FAST = "jiraplug.ratelimit.failed_fast"

# Why a request waited: the token bucket, a pause or slower pace after a 429 (throttle),
# the wait before retrying a throttled answer (retry_after), or backoff before another retry.
WAIT_REASONS = ("bucket", "throttle", "retry_after", "backoff")


@dataclass
class _WaitTotals:
    count: int = 0
    seconds: float = 0.0


@dataclass
class RateLimitStats:
    """Counters since the plugin's Jira client was built."""

    requests: int = 0  # requests that entered the middleware
    attempts: int = 0  # requests actually sent to Jira (retries included)
    throttled: int = 0  # 429 answers received
    retries: Counter[str] = field(default_factory=Counter)  # by reason
    waits: dict[str, _WaitTotals] = field(default_factory=lambda: {r: _WaitTotals() for r in WAIT_REASONS})
    failed_fast: int = 0  # calls refused by an open breaker
    gave_up: int = 0  # requests whose retries ran out (attempts or time)
    writes_not_repeated: int = 0  # ambiguous write failures reported instead of retried
    refused_long_waits: int = 0  # 429s asking for more than max_retry_after_seconds

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "attempts": self.attempts,
            "throttled": self.throttled,
            "retries": {"total": sum(self.retries.values()), "by_reason": dict(sorted(self.retries.items()))},
            "waits": {name: {"count": w.count, "seconds": round(w.seconds, 6)} for name, w in self.waits.items()},
            "throttled_waits": self.waits["throttle"].count + self.waits["retry_after"].count,
            "failed_fast": self.failed_fast,
            "gave_up": self.gave_up,
            "writes_not_repeated": self.writes_not_repeated,
            "refused_long_waits": self.refused_long_waits,
        }


@dataclass(frozen=True)
class _Otel:
    """The OpenTelemetry instruments of the plugin on one meter."""

    wait: Any
    throttled: Any
    retries: Any
    failed_fast: Any
    breaker_state: Any
    breaker_transitions: Any


@telemetry.once_per_meter
def otel_instruments(meter: Meter) -> _Otel:
    """The ``jiraplug.ratelimit.*`` instruments of ``meter``, created once per meter."""
    return _Otel(
        wait=meter.create_histogram(
            WAIT_DURATION, unit="s", description="Time requests toward Jira waited because of rate limiting or retries"
        ),
        throttled=meter.create_counter(
            THROTTLED, unit="{response}", description="429 (rate limited) answers received from Jira"
        ),
        retries=meter.create_counter(RETRIES, unit="{retry}", description="Requests toward Jira sent again, by reason"),
        failed_fast=meter.create_counter(
            FAILED_FAST, unit="{request}", description="Requests refused without contacting Jira by an open breaker"
        ),
        breaker_state=meter.create_gauge(
            BREAKER_STATE, unit="1", description="Circuit breaker state per Jira site: 0 closed, 1 half-open, 2 open"
        ),
        breaker_transitions=meter.create_counter(
            BREAKER_TRANSITIONS, unit="{transition}", description="Circuit breaker state changes, by new state"
        ),
    )


class Instruments:
    """The plugin's OpenTelemetry instruments, plus the matching in-process counters of one controller."""

    def __init__(self, meter: Meter | None = None) -> None:
        otel = otel_instruments(meter or telemetry.get_telemetry().meter)
        self.stats = RateLimitStats()
        self._wait, self._throttled, self._retries = otel.wait, otel.throttled, otel.retries
        self._failed_fast, self._breaker_state = otel.failed_fast, otel.breaker_state
        self._breaker_transitions = otel.breaker_transitions

    def waited(self, seconds: float, reason: str) -> None:
        """Record one wait (histogram, stage checkpoint, stats)."""
        if seconds <= 0:
            return
        totals = self.stats.waits[reason]
        totals.count += 1
        totals.seconds += seconds
        self._wait.record(seconds, {"reason": reason})
        record_stage(RATELIMIT_WAIT, seconds, reason=reason)

    def throttled(self, status: int) -> None:
        self.stats.throttled += 1
        self._throttled.add(1, {"http.response.status_code": status})

    def retried(self, attempt: int, reason: str, wait: float, operation: str) -> None:
        """Count a retry and put a ``retry`` event on the current span."""
        self.stats.retries[reason] += 1
        self._retries.add(1, {"reason": reason})
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("retry", {
                "retry.attempt": attempt,
                "retry.reason": reason,
                "retry.wait_seconds": round(wait, 6),
                "jiraplug.operation": operation,
            })

    def failed_fast(self, server: str, operation: str) -> None:
        self.stats.failed_fast += 1
        self._failed_fast.add(1, {"server.address": server})
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("circuit_open", {"server.address": server, "jiraplug.operation": operation})

    def breaker_changed(self, server: str, state: str, level: int) -> None:
        self._breaker_state.set(level, {"server.address": server})
        self._breaker_transitions.add(1, {"server.address": server, "state": state})
