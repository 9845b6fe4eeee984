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
    rejected: dict[str, int] = field(default_factory=lambda: {"queue_full": 0, "timeout": 0})

    def record(self, seconds: float) -> None:
        self.admitted += 1
        if seconds > 0:
            self.waited += 1
            self.total_wait_seconds += seconds
            self.max_wait_seconds = max(self.max_wait_seconds, seconds)


class TaskLimiter:
    """At most ``limit`` holders; up to ``queue_size`` waiters served first come, first served.

    :meth:`acquire` returns how long it waited, or raises :class:`PoolBusy` when the queue
    is full or the wait exceeds ``timeout``. A cancelled waiter leaves the queue; a slot
    handed to a waiter that is cancelled at that moment is passed on, never lost.
    """

    def __init__(self, limit: int, queue_size: int, timeout: float, *, on_queue: Any = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        self.limit = limit
        self.queue_size = queue_size
        self.timeout = timeout
        self.active = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._on_queue = on_queue or (lambda delta: None)
        self._clock = clock  # measures waits; the timeout runs on the event loop's clock
        self.stats = WaitStats()

    @property
    def queued(self) -> int:
        """Callers waiting for a slot."""
        return len(self._waiters)

    async def acquire(self) -> float:
        if self.active < self.limit and not self._waiters:
            self.active += 1
            self.stats.record(0.0)
            return 0.0
        if len(self._waiters) >= self.queue_size:
            self.stats.rejected["queue_full"] += 1
            raise PoolBusy(
                f"jiraplug is busy: {self.active} tool calls are running and {len(self._waiters)} are waiting "
                f"(pool.max_concurrent_tasks = {self.limit}, pool.queue_size = {self.queue_size}); "
                "retry in a moment",
                "queue_full",
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

    def release(self) -> None:
        """Give the slot to the longest waiting caller, or free it."""
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
