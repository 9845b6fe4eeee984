"""Built-in plugin ``pool``: bounded HTTP connections toward Jira and bounded concurrent tool calls.

- ``configure_http_client`` sets httpx2's connection pool from ``[pool]``: total connections,
  keep-alive count and expiry, connect/read/write/pool timeouts, HTTP/2.
- httpx2 has no per-host limit, so ``max_connections_per_host`` is a semaphore per
  ``scheme://host:port`` in a Jira request middleware (inside the cache, so a
  hit takes no slot). A request holds its slot from its first attempt to its final answer,
  body read included; the ``ratelimit`` plugin sits inside it, so its waits and retries keep
  the slot (fewer requests in flight while Jira throttles). Waiting longer than
  ``pool_timeout_seconds`` for a slot fails like httpx's own pool timeout.
- ``tool_call_middleware`` runs at most ``max_concurrent_tasks`` tool calls at once; up to
  ``queue_size`` more wait (first come, first served) for at most ``queue_timeout_seconds``;
  beyond that a call is refused at once with a "busy, retry in a moment" tool error, so a
  burst cannot grow memory without bound.

Metrics: ``jiraplug.pool.wait.duration`` (histogram, s), ``jiraplug.pool.in_flight`` and
``jiraplug.pool.queue.depth`` (up-down counters), ``jiraplug.pool.rejected`` (counter), each
with ``jiraplug.pool.kind`` = ``task`` (tool calls) or ``connection`` (Jira requests).
The wait for a task slot is the profiling stage ``pool.wait``. Details: ``docs/plugins/pool.md``.
"""

from __future__ import annotations

import asyncio
import collections
import importlib.util
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import httpx2
from pydantic import BaseModel, ConfigDict, Field, field_validator

from jiraplug import hookimpl
from jiraplug.runtime import Runtime
from jiraplug.stages import POOL_WAIT, stage
from jiraplug.telemetry import once_per_meter
from jiraplug.server.toolcalls import ToolCall

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

    from jiraplug.jira.http_options import HttpClientOptions
    from jiraplug.jira.middleware import JiraMiddleware, Send
    from jiraplug.server.registry import ResourceRegistry
    from jiraplug.settings import Settings
    from jiraplug.server.toolcalls import CallNext, ToolCallMiddleware

PLUGIN_NAME = "pool"
RESOURCE_URI = "jiraplug://pool"
KIND = "jiraplug.pool.kind"

__all__ = ["PoolBusy", "PoolSettings", "TaskLimiter", "HostLimiter", "RESOURCE_URI", "stats"]


class PoolSettings(BaseModel):
    """``[pool]``: connection limits toward Jira and the tool-call concurrency limit."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    max_connections: int = Field(default=100, ge=1, le=10_000, description="Open connections toward Jira, in all")
    max_connections_per_host: int | None = Field(
        default=None, ge=1, description="Concurrent requests per host (none: only max_connections)"
    )
    max_keepalive_connections: int = Field(default=20, ge=0, description="Idle connections kept for reuse")
    # Under the 5 s idle timeout common to servers (uvicorn, many proxies): reusing a connection the
    # server is closing turns a write into an ambiguous failure.
    keepalive_expiry_seconds: float = Field(default=4.0, ge=0, description="How long an idle connection is kept")
    connect_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout to open a connection")
    read_timeout_seconds: float | None = Field(
        default=None, gt=0, description="Timeout between bytes of an answer (none: [jira] timeout_seconds)"
    )
    write_timeout_seconds: float | None = Field(
        default=None, gt=0, description="Timeout to send a request (none: [jira] timeout_seconds)"
    )
    pool_timeout_seconds: float = Field(default=30.0, gt=0, description="Longest wait for a free connection")
    http2: bool = Field(default=False, description="Offer HTTP/2 (negotiated over TLS; needs the h2 package)")
    max_concurrent_tasks: int = Field(default=32, ge=1, description="Tool calls served at once")
    queue_size: int = Field(default=64, ge=0, description="Tool calls waiting for a slot; beyond: busy error")
    queue_timeout_seconds: float = Field(default=30.0, gt=0, description="Longest wait in the queue")

    @field_validator("http2")
    @classmethod
    def _h2_installed(cls, value: bool) -> bool:
        if value and importlib.util.find_spec("h2") is None:
            raise ValueError("HTTP/2 needs the 'h2' package (pip install 'jiraplug[http2]')")
        return value


# ----------------------------------------------------------------------------- metrics


@dataclass(frozen=True)
class PoolInstruments:
    """The instruments of the pool plugin on one meter."""

    wait: Histogram
    in_flight: UpDownCounter
    queue_depth: UpDownCounter
    rejected: Counter


@once_per_meter
def instruments(meter: Meter) -> PoolInstruments:
    """The pool instruments of ``meter``, created once per meter."""
    return PoolInstruments(
        wait=meter.create_histogram(
            "jiraplug.pool.wait.duration", unit="s",
            description="Time spent waiting for a tool-call slot or a connection slot",
        ),
        in_flight=meter.create_up_down_counter(
            "jiraplug.pool.in_flight", unit="{request}", description="Tool calls or Jira requests being served"
        ),
        queue_depth=meter.create_up_down_counter(
            "jiraplug.pool.queue.depth", unit="{request}", description="Tool calls or Jira requests waiting"
        ),
        rejected=meter.create_counter(
            "jiraplug.pool.rejected", unit="{request}", description="Tool calls refused as busy"
        ),
    )


# ------------------------------------------------------------------- the task limiter


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

    def __init__(self, limit: int, queue_size: int, timeout: float, *, on_queue: Any = None) -> None:
        if limit < 1:
            raise ValueError(f"limit must be at least 1, got {limit!r}")
        self.limit = limit
        self.queue_size = queue_size
        self.timeout = timeout
        self.active = 0
        self._waiters: collections.deque[asyncio.Future[None]] = collections.deque()
        self._on_queue = on_queue or (lambda delta: None)
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
        started = time.perf_counter()
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
        waited = time.perf_counter() - started
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

    def __init__(self, per_host: int | None, timeout: float, metrics: PoolInstruments | None = None) -> None:
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
                    started = time.perf_counter()
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
                    waited = time.perf_counter() - started
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


# ------------------------------------------------------------------------- the plugin


@dataclass
class _PoolState:
    settings: PoolSettings
    tasks: TaskLimiter
    hosts: HostLimiter

    def snapshot(self) -> dict[str, Any]:
        def waits(stats: WaitStats) -> dict[str, Any]:
            return {
                "admitted": stats.admitted,
                "waited": stats.waited,
                "mean_wait_seconds": round(stats.total_wait_seconds / stats.waited, 6) if stats.waited else 0.0,
                "max_wait_seconds": round(stats.max_wait_seconds, 6),
            }

        return {
            "tasks": {
                "in_flight": self.tasks.active,
                "queued": self.tasks.queued,
                "max_concurrent_tasks": self.tasks.limit,
                "queue_size": self.tasks.queue_size,
                "rejected": dict(self.tasks.stats.rejected),
                **waits(self.tasks.stats),
            },
            "connections": {
                "max_connections": self.settings.max_connections,
                "max_connections_per_host": self.settings.max_connections_per_host,
                "max_keepalive_connections": self.settings.max_keepalive_connections,
                "http2": self.settings.http2,
                "in_flight": {host: n for host, n in self.hosts.in_flight.items() if n},
                **waits(self.hosts.stats),
            },
        }


def _state(runtime: Runtime) -> _PoolState:
    return runtime.plugin_state(__name__, lambda: _new_state(runtime))


def _new_state(runtime: Runtime) -> _PoolState:
    settings: PoolSettings = runtime.settings.plugin_config(PLUGIN_NAME)
    metrics = instruments(runtime.telemetry.meter)
    tasks = TaskLimiter(
        settings.max_concurrent_tasks, settings.queue_size, settings.queue_timeout_seconds,
        on_queue=lambda delta: metrics.queue_depth.add(delta, {KIND: "task"}),
    )
    hosts = HostLimiter(settings.max_connections_per_host, settings.pool_timeout_seconds, metrics)
    return _PoolState(settings, tasks, hosts)


def stats(runtime: Runtime | None = None) -> dict[str, Any] | None:
    """Tool-call slots, queue, waits and connections in use (``None`` when not running).

    ``runtime`` defaults to the runtime of the tool call being served, else the latest
    running one.
    """
    runtime = runtime or Runtime.serving()
    state = runtime.plugin_state(__name__) if runtime is not None else None
    return state.snapshot() if state is not None else None


@hookimpl
def plugin_settings() -> type[PoolSettings]:
    return PoolSettings


@hookimpl
def configure_http_client(options: HttpClientOptions, settings: Settings) -> None:
    pool: PoolSettings = settings.plugin_config(PLUGIN_NAME)
    options.max_connections = pool.max_connections
    options.max_keepalive_connections = min(pool.max_keepalive_connections, pool.max_connections)
    options.keepalive_expiry_seconds = pool.keepalive_expiry_seconds
    options.connect_timeout_seconds = pool.connect_timeout_seconds
    if pool.read_timeout_seconds is not None:
        options.read_timeout_seconds = pool.read_timeout_seconds
    if pool.write_timeout_seconds is not None:
        options.write_timeout_seconds = pool.write_timeout_seconds
    options.pool_timeout_seconds = pool.pool_timeout_seconds
    options.http2 = pool.http2


@hookimpl(trylast=True)
def jira_request_middleware(runtime: Runtime) -> JiraMiddleware:
    """Inside the cache: only requests that go toward Jira take a host slot."""
    return _state(runtime).hosts.middleware


@hookimpl
def tool_call_middleware(runtime: Runtime) -> ToolCallMiddleware:
    state = _state(runtime)
    metrics = instruments(runtime.telemetry.meter)
    attrs = {KIND: "task"}

    def wrap(call_next: CallNext) -> CallNext:
        async def bounded(call: ToolCall) -> Any:
            try:
                with stage(POOL_WAIT):
                    waited = await state.tasks.acquire()
            except PoolBusy as busy:
                metrics.rejected.add(1, {**attrs, "reason": busy.reason})
                return ToolCall.error_result(str(busy))
            metrics.wait.record(waited, attrs)
            metrics.in_flight.add(1, attrs)
            try:
                return await call_next(call)
            finally:
                state.tasks.release()
                metrics.in_flight.add(-1, attrs)

        return bounded

    return wrap


@hookimpl
def register_resources(registry: ResourceRegistry, settings: Settings) -> None:
    def read() -> dict[str, Any]:
        """Live pool statistics: tool calls running and queued, waits, connections in use."""
        runtime = Runtime.serving(settings)
        state = runtime.plugin_state(__name__) if runtime is not None else None
        return state.snapshot() if state is not None else {"running": False}

    registry.add(RESOURCE_URI, read, name="pool", mime_type="application/json", operator_only=True)
