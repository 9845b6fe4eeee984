"""The two limiters of the pool plugin: tool-call slots with a bounded queue, and per-host request slots."""

from __future__ import annotations

import asyncio
import collections
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx2

from jiraplug.plugins.pool.metrics import KIND, PoolInstruments

if TYPE_CHECKING:
    from jiraplug.jira.middleware import Send


class PoolBusy(Exception):
    """A tool call could not get a slot (queue full, or waited too long)."""

    def __init__(self, message: str, reason: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass
class WaitStats:
    """Counts and durations of waits (for the stats snapshot)."""

    admitted: int = 0
    waited: int = 0
    total_wait_seconds: float = 0.0
    max_wait_seconds: float = 0.0
    rejected: dict[str, int] = field(default_factory=lambda: {"queue_full": 0, "expected_wait": 0, "timeout": 0})

    def record(self, seconds: float) -> None:
        self.admitted += 1
        if seconds > 0:
            self.waited += 1
            self.total_wait_seconds += seconds
            self.max_wait_seconds = max(self.max_wait_seconds, seconds)


class ServiceTime:
    """How long a tool call holds its slot: a moving average of the calls that finished.

    Under load the slots turn over every ``mean / limit`` seconds, so a call with ``n`` calls
    ahead of it in the queue waits about ``(n + 1) * mean / limit`` (Little's law; when the
    calls are CPU-bound the hold times grow with the load, and the estimate with them).
    """

    WEIGHT = 0.1  # of the newest sample: about the last 20 calls count

    def __init__(self) -> None:
        self.mean: float | None = None  # no call finished yet: nothing to estimate with

    def record(self, seconds: float) -> None:
        self.mean = seconds if self.mean is None else self.mean + self.WEIGHT * (seconds - self.mean)

    def raise_to(self, seconds: float) -> None:
        """A waiter timed out: slots turned over slower than estimated; never estimate below ``seconds``."""
        self.mean = seconds if self.mean is None else max(self.mean, seconds)

    def expected_wait(self, ahead: int, limit: int) -> float:
        """Seconds a call with ``ahead`` calls queued before it is likely to wait (0 without an estimate)."""
        return 0.0 if self.mean is None else (ahead + 1) * self.mean / limit


class TaskLimiter:
    """At most ``limit`` holders; waiters served first come, first served, admitted by expected wait.

    A call that finds every slot taken joins the queue while its expected wait (see
    :class:`ServiceTime`) stays within ``timeout``; one that would wait longer is refused at
    once (:class:`PoolBusy`, reason ``expected_wait``), as is one that finds ``queue_size``
    calls waiting (``queue_full``: the hard bound on the queue's memory). A queued call that
    still waits ``timeout`` is refused then (``timeout``). :meth:`acquire` returns how long it
    waited; the holder calls :meth:`release` with how long it held the slot. A cancelled
    waiter leaves the queue; a slot handed to a waiter that is cancelled at that moment is
    passed on, never lost.
    """

    def __init__(self, limit: int, queue_size: int, timeout: float, *, on_queue: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        self.limit = limit
        self.queue_size = queue_size
        self.timeout = timeout
        self.active = 0
        self.service = ServiceTime()
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._on_queue = on_queue or (lambda delta: None)
        self._clock = clock  # measures waits; the timeout runs on the event loop's clock
        self.stats = WaitStats()

    @property
    def queued(self) -> int:
        """Callers waiting for a slot."""
        return len(self._waiters)

    def expected_wait(self) -> float:
        """Seconds the next call to arrive is likely to wait (0 while a slot is free)."""
        if self.active < self.limit and not self._waiters:
            return 0.0
        return self.service.expected_wait(len(self._waiters), self.limit)

    async def acquire(self) -> float:
        if self.active < self.limit and not self._waiters:
            self.active += 1
            self.stats.record(0.0)
            return 0.0
        ahead = len(self._waiters)
        if ahead >= self.queue_size:
            self.stats.rejected["queue_full"] += 1
            raise PoolBusy(
                f"jiraplug is busy: {self.active} tool calls are running and {ahead} are waiting "
                f"(pool.max_concurrent_tasks = {self.limit}, pool.queue_size = {self.queue_size}); "
                "retry in a moment",
                "queue_full",
            )
        expected = self.service.expected_wait(ahead, self.limit)
        if expected > self.timeout:
            self.stats.rejected["expected_wait"] += 1
            raise PoolBusy(
                f"jiraplug is busy: {self.active} tool calls are running and {ahead} are waiting, about "
                f"{expected:.0f} s of work (more than pool.queue_timeout_seconds = {self.timeout:g}); "
                "retry in a moment",
                "expected_wait",
            )
        waiter: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiters.append(waiter)
        self._on_queue(1)
        started = self._clock()
        try:
            async with asyncio.timeout(self.timeout):
                await waiter
        except TimeoutError:
            if waiter.done() and not waiter.cancelled():
                pass  # the slot arrived just as the time ran out: keep it
            else:
                self._forget(waiter)
                self.stats.rejected["timeout"] += 1
                # ``ahead + 1`` slots did not turn over in ``timeout``: arrivals behind as many are refused at once.
                self.service.raise_to(self.timeout * self.limit / (ahead + 1))
                raise PoolBusy(
                    f"jiraplug is busy: waited {self.timeout:g} s for one of {self.limit} tool-call slots "
                    "(pool.queue_timeout_seconds); retry in a moment",
                    "timeout",
                ) from None
        except BaseException:
            if waiter.done() and not waiter.cancelled():
                self.release()  # we were handed a slot but are going away: pass it on
            else:
                self._forget(waiter)
            raise
        finally:
            self._on_queue(-1)
        waited = self._clock() - started
        self.stats.record(waited)
        return waited

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        waiter.cancel()
        try:
            self._waiters.remove(waiter)
        except ValueError:
            pass

    def release(self, held: float | None = None) -> None:
        """Give the slot to the longest waiting caller, or free it; ``held``: seconds the call had it."""
        if held is not None:
            self.service.record(held)
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter.done():
                waiter.set_result(None)  # the slot moves to the waiter; `active` is unchanged
                return
        self.active -= 1


# ------------------------------------------------------------- per-host request limits


class HostLimiter:
    """Concurrent Jira requests per ``scheme://host:port`` (httpx2 has no per-host limit)."""

    def __init__(self, per_host: int | None, timeout: float, metrics: PoolInstruments | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock  # measures waits; the timeout runs on the event loop's clock
        self.per_host = per_host
        self.timeout = timeout
        self._metrics = metrics
        self._slots: dict[str, asyncio.Semaphore] = {}
        self.in_flight: collections.Counter[str] = collections.Counter()
        self.stats = WaitStats()

    def middleware(self, send: Send) -> Send:
        """``wrap(send) -> send`` holding a host slot around each request."""

        async def limited(request: httpx2.Request) -> httpx2.Response:
            url = request.url
            host = f"{url.scheme}://{url.host}:{url.port or (443 if url.scheme == 'https' else 80)}"
            attrs = {KIND: "connection"}
            slot = None
            waited = 0.0
            if self.per_host is not None:
                slot = self._slots.setdefault(host, asyncio.Semaphore(self.per_host))
                if slot.locked():
                    started = self._clock()
                    self._count("queue_depth", 1, attrs)
                    try:
                        async with asyncio.timeout(self.timeout):
                            await slot.acquire()
                    except TimeoutError:
                        raise httpx2.PoolTimeout(
                            f"no free connection slot for {host} within {self.timeout:g} s "
                            f"(pool.max_connections_per_host = {self.per_host})",
                            request=request,
                        ) from None
                    finally:
                        self._count("queue_depth", -1, attrs)
                    waited = self._clock() - started
                else:
                    await slot.acquire()
            self.stats.record(waited)
            if self._metrics is not None:
                self._metrics.wait.record(waited, attrs)
            self.in_flight[host] += 1
            self._count("in_flight", 1, attrs)
            try:
                return await send(request)
            finally:
                self.in_flight[host] -= 1
                self._count("in_flight", -1, attrs)
                if slot is not None:
                    slot.release()

        return limited

    def _count(self, name: str, delta: int, attrs: dict[str, str]) -> None:
        if self._metrics is not None:
            getattr(self._metrics, name).add(delta, attrs)
