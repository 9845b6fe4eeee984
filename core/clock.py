"""The clock plugins measure time with: one per server run, ``runtime.clock``.

Every built-in plugin reads time through the :class:`Clock` of its runtime (TTLs, windows,
retry waits, breaker cooldowns, alert timestamps), never through ``time`` directly, so a
test injects one clock in one place: ``build_server(settings, plugins, clock=...)`` (or
``jiraplug.testing.run_jiraplug(..., clock=...)``). :class:`ManualClock` is such a clock.
Waits on the event loop itself (``asyncio.timeout``, aiolimiter's buckets) keep the loop's
clock.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol, runtime_checkable


@runtime_checkable
class Clock(Protocol):
    """Monotonic seconds, epoch seconds, and an async sleep."""

    def monotonic(self) -> float:
        """Seconds on a clock that never goes back (durations, TTLs, windows)."""
        ...

    def time(self) -> float:
        """Seconds since the epoch (timestamps shown to people, HTTP dates)."""
        ...

    async def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` (retry waits and backoff)."""
        ...


class SystemClock:
    """The real clock: :func:`time.monotonic`, :func:`time.time`, :func:`asyncio.sleep`."""

    def monotonic(self) -> float:
        return time.monotonic()

    def time(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(seconds)


SYSTEM_CLOCK = SystemClock()


class ManualClock:
    """A clock for tests: it moves only when :meth:`advance` is called or something sleeps.

    ``sleep`` records the wait, moves the clock by it and returns at once (after yielding to
    the event loop), so retry waits and backoff cost no real time. The wall clock moves with
    the monotonic one.
    """

    def __init__(self, start: float = 1000.0, wall_start: float = 1_700_000_000.0) -> None:
        self.now = start
        self._wall_offset = wall_start - start
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    def time(self) -> float:
        return self.now + self._wall_offset

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += max(0.0, seconds)
        await asyncio.sleep(0)

    def advance(self, seconds: float) -> None:
        """Move the clock forward by ``seconds``."""
        self.now += seconds
