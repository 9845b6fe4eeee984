"""Built-in plugin ``pool``: bounded HTTP connections toward Jira and bounded concurrent tool calls.

- ``configure_http_client`` sets httpx2's connection pool from ``[pool]``: total connections,
  keep-alive count and expiry, connect/read/write/pool timeouts, HTTP/2.
- httpx2 has no per-host limit, so ``max_connections_per_host`` is a semaphore per
  ``scheme://host:port`` in a Jira request middleware (inside the cache, so a
  hit takes no slot). A request holds its slot from its first attempt to its final answer,
  body read included; the ``ratelimit`` plugin sits inside it, so its waits and retries keep
  the slot (fewer requests in flight while Jira throttles). Waiting longer than
  ``pool_timeout_seconds`` for a slot fails like httpx's own pool timeout.
- ``tool_call_middleware`` runs at most ``max_concurrent_tasks`` tool calls at once; more
  wait (first come, first served) while their expected wait, from how long calls hold a
  slot, stays within ``queue_timeout_seconds``; a call expected to wait longer is refused at
  once with a "busy, retry in a moment" tool error, and ``queue_size`` waiting calls are a
  hard bound, so a burst cannot grow memory without bound.

Metrics: ``jiraplug.pool.wait.duration`` (histogram, s), ``jiraplug.pool.in_flight`` and
``jiraplug.pool.queue.depth`` (up-down counters), ``jiraplug.pool.rejected`` (counter), each
with ``jiraplug.pool.kind`` = ``task`` (tool calls) or ``connection`` (Jira requests).
The wait for a task slot is the profiling stage ``pool.wait``. The pool of a running server is
``state_of(runtime)``; its ``snapshot()`` is the resource ``jiraplug://pool``. Details:
``docs/plugins/pool.md``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from jiraplug import hookimpl
from jiraplug.plugins.pool.limiters import HostLimiter, PoolBusy, TaskLimiter, WaitStats
from jiraplug.plugins.pool.metrics import KIND, instruments
from jiraplug.plugins.pool.settings import PoolSettings
from jiraplug.stages import stage
from jiraplug.server.toolcalls import ToolCall

if TYPE_CHECKING:
    from jiraplug.jira.http_options import HttpClientOptions
    from jiraplug.jira.middleware import JiraMiddleware
    from jiraplug.server.registry import ResourceRegistry
    from jiraplug.runtime import Runtime
    from jiraplug.settings import Settings
    from jiraplug.server.toolcalls import CallNext, ToolCallMiddleware

__all__ = ["HostLimiter", "PLUGIN_NAME", "POOL_WAIT", "PoolBusy", "PoolSettings", "PoolState", "RESOURCE_URI",
           "TaskLimiter", "state_of"]

PLUGIN_NAME = "pool"
RESOURCE_URI = "jiraplug://pool"
POOL_WAIT = "pool.wait"
"""Profiling stage of the wait for a tool-call slot (see :mod:`jiraplug.stages`)."""


@dataclass
class PoolState:
    """What the plugin keeps for one server run: its settings and both limiters."""

    settings: PoolSettings
    tasks: TaskLimiter
    hosts: HostLimiter

    def snapshot(self) -> dict[str, Any]:
        """Tool-call slots, queue, waits and connections in use, as JSON-ready data."""

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
                "queue_timeout_seconds": self.tasks.timeout,
                "mean_call_seconds": None if self.tasks.service.mean is None else round(self.tasks.service.mean, 6),
                "expected_wait_seconds": round(self.tasks.expected_wait(), 6),
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


def state_of(runtime: Runtime) -> PoolState:
    """The pool of ``runtime``, made on first use; its waits are measured on ``runtime.clock``."""
    return runtime.plugin_state(__name__, lambda: _new_state(runtime))


def _new_state(runtime: Runtime) -> PoolState:
    settings: PoolSettings = runtime.settings.plugin_config(PLUGIN_NAME)
    metrics = instruments(runtime.telemetry.meter)
    clock = runtime.clock.monotonic
    tasks = TaskLimiter(
        settings.max_concurrent_tasks, settings.queue_size, settings.queue_timeout_seconds,
        on_queue=lambda delta: metrics.queue_depth.add(delta, {KIND: "task"}), clock=clock,
    )
    hosts = HostLimiter(settings.max_connections_per_host, settings.pool_timeout_seconds, metrics, clock=clock)
    return PoolState(settings, tasks, hosts)


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
    return state_of(runtime).hosts.middleware


@hookimpl
def tool_call_middleware(runtime: Runtime) -> ToolCallMiddleware:
    state = state_of(runtime)
    metrics = instruments(runtime.telemetry.meter)
    clock = runtime.clock.monotonic
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
            started = clock()
            try:
                return await call_next(call)
            finally:
                state.tasks.release(held=clock() - started)
                metrics.in_flight.add(-1, attrs)

        return bounded

    return wrap


@hookimpl
def register_resources(registry: ResourceRegistry) -> None:
    def read(runtime: Runtime) -> dict[str, Any]:
        """Live pool statistics: tool calls running and queued, waits, connections in use."""
        return state_of(runtime).snapshot()

    registry.add(RESOURCE_URI, read, name="pool", mime_type="application/json", operator_only=True)
