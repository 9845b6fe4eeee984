"""Token buckets toward Jira, and the adaptive pace after 429s.

The steady limits are aiolimiter buckets (one global, one per credential). aiolimiter
has no notion of "Jira pushed back", so :class:`Throttle` adds, per credential:

- a *pause*: after a 429 (or a 503 with ``Retry-After``) nothing is sent for that
  credential until the time Jira named, so concurrent calls wait together instead of
  each collecting its own 429;
- an *adaptive rate* (AIMD): the rate at which requests were leaving when the refused one
  left is cut by ``adaptive_factor``, then climbs linearly, regaining that rate after
  ``adaptive_recovery_seconds`` and going on at the same slope up to the configured rate
  (or, with no configured rate, until it is back where it was), never above a refill
  rate Jira announced. While it is reduced, requests are spaced by ``1 / rate`` (no
  burst). One cut per congestion episode: a 429 for a request sent before the last cut
  says nothing new about the current rate.

Requests pass the gate one at a time, in arrival order (a FIFO lock), and each turn is
computed when the previous one is over, so a pause that arrives while requests wait
moves the whole queue back without anyone losing their place or bursting at its end.
Times are from an injectable monotonic clock, so tests drive it without sleeping.
"""

from __future__ import annotations

import asyncio
import math
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from aiolimiter import AsyncLimiter

# Never pace slower than this after a 429 (Retry-After pauses handle harder limits).
MIN_ADAPTIVE_RATE = 1.0
# Window over which the sending rate is observed, and how long send times are kept: a 429
# may come back long after its request left when Jira is slow.
OBSERVE_WINDOW_SECONDS = 1.0
KEEP_SENT_SECONDS = 30.0


class PausedTooLong(Exception):
    """Raised by :meth:`Throttle.wait_turn` when the pause outlasts the caller's limit (internal)."""

    def __init__(self, seconds: float) -> None:
        super().__init__(f"paused for {seconds:.1f} s")
        self.seconds = seconds


def token_bucket(rate: float, burst: int) -> AsyncLimiter | None:
    """An aiolimiter bucket refilling ``rate`` per second and holding ``burst`` (None if rate is 0)."""
    if rate <= 0:
        return None
    return AsyncLimiter(max_rate=burst, time_period=burst / rate)


class Throttle:
    """Pause and adaptive pacing for one credential (see module docstring)."""

    def __init__(self, baseline: float, factor: float, recovery_seconds: float, clock: Callable[[], float]) -> None:
        self.baseline = baseline  # configured steady rate; 0 means no client-side cap
        self.factor = factor
        self.recovery_seconds = recovery_seconds
        self._clock = clock
        self.pause_until = -math.inf
        self._reduced_rate: float | None = None  # rate right after the last cut
        self._slope = 0.0  # requests/s gained per second since the cut
        self._ceiling = math.inf  # where the reduced rate ends and only the buckets apply
        self._cut_at = -math.inf
        self._last_turn = -math.inf
        self._gate = asyncio.Lock()
        self._sent: deque[float] = deque()

    # ------------------------------------------------------------------ rate

    def rate(self, now: float | None = None) -> float | None:
        """The adaptive rate in force (requests/s), or None when not reduced."""
        if self._reduced_rate is None:
            return None
        now = self._clock() if now is None else now
        elapsed = max(0.0, now - self._cut_at)
        rate = self._reduced_rate + self._slope * elapsed
        if rate >= self._ceiling and elapsed >= self.recovery_seconds:
            self._reduced_rate = None  # recovered: only the steady buckets apply
            return None
        return min(rate, self._ceiling)

    def observed_rate(self, at: float) -> float:
        """Requests sent in the second up to ``at`` (at least 1)."""
        return max(1.0, float(sum(1 for t in self._sent if at - OBSERVE_WINDOW_SECONDS < t <= at)))

    def _forget(self, now: float) -> None:
        horizon = now - KEEP_SENT_SECONDS
        while self._sent and self._sent[0] < horizon:
            self._sent.popleft()

    # ------------------------------------------------------------------ sending

    def _turn(self, now: float) -> float:
        """When the next request may leave: after the pause and 1/rate after the last one."""
        start = max(now, self.pause_until)
        rate = self.rate(now)
        if rate is not None:
            start = max(start, self._last_turn + 1 / rate)
        return start

    async def wait_turn(self, sleep: Callable[[float], Awaitable[Any]], max_pause: float) -> float:
        """Wait until this credential may send; return the seconds waited (by ``clock``).

        Raises :class:`PausedTooLong` if Jira's pause outlasts ``max_pause``.
        """
        now = self._clock()
        if not self._gate.locked() and self._turn(now) <= now:
            self._last_turn = now  # fast path: nobody queued, nothing to wait for
            return 0.0
        started = now
        async with self._gate:
            now = self._clock()
            turn = self._turn(now)
            while turn > now:
                if self.pause_until - now > max_pause:
                    raise PausedTooLong(self.pause_until - now)
                await sleep(turn - now)
                now = self._clock()
                later = self._turn(now)
                if later <= turn:
                    break  # nothing pushed our turn back while we slept
                turn = later
            self._last_turn = now
        return now - started

    def sent(self, now: float) -> None:
        """Note that a request left at ``now`` (feeds the observed rate)."""
        self._sent.append(now)
        self._forget(now)

    # ------------------------------------------------------------------ pushback

    def pause(self, until: float) -> None:
        """Send nothing before ``until``."""
        self.pause_until = max(self.pause_until, until)

    def throttled(self, now: float, sent_at: float, advertised: float | None = None) -> bool:
        """A 429 came back for a request sent at ``sent_at``; cut the rate once per episode.

        ``advertised`` is the refill rate Jira announced, if any: the pace never exceeds it.
        Returns whether the rate was cut.
        """
        if sent_at <= self._cut_at:
            return False  # sent before the last cut: already accounted for
        if self.factor >= 1 and advertised is None:
            return False  # adaptation switched off
        before = min(self.observed_rate(sent_at), self.rate(now) or math.inf, self.baseline or math.inf)
        reduced = max(min(MIN_ADAPTIVE_RATE, self.baseline or MIN_ADAPTIVE_RATE), before * self.factor)
        ceiling = self.baseline or before
        if advertised is not None:
            reduced, ceiling = min(reduced, advertised), min(ceiling, advertised)
        self._reduced_rate, self._cut_at = reduced, now
        self._slope = max(before - reduced, MIN_ADAPTIVE_RATE) / self.recovery_seconds
        self._ceiling = max(ceiling, reduced)
        return True
