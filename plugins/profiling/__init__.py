"""Built-in plugin ``profiling``: stage timings, memory gauges, a timing report, on-demand profiles.

What it does when enabled (it is, unless ``[plugins] profiling = false``):

* every tool call's stages (``validation``, ``cache.lookup``, ``ratelimit.wait``,
  ``pool.wait``, ``jira.request``, ``parse``, ``render`` and any plugin's own, see
  :func:`jiraplug.stages.stage`) become span events ``jiraplug.stage`` on the MCP server
  span and points of the histogram ``jiraplug.profiling.stage.duration`` (s);
* the gauges ``jiraplug.profiling.memory.rss`` / ``.peak`` (By); tracemalloc on request;
* the timing report at ``jiraplug://stats``, in the log every ``log_interval_seconds``, and
  from ``jiraplug stats --url``;
* with ``admin_tools = true``, the tool ``jiraplug_profile`` and ``jiraplug profile --url``.

Disabled, the module is never imported: no middleware, no metrics, no background task.
See docs/plugins/profiling.md.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated, Any, Literal

import anyio
from opentelemetry import trace
from pydantic import Field

from jiraplug import hookimpl
from jiraplug.plugins.profiling import memory
from jiraplug.plugins.profiling.recorder import CallProfile, activate, deactivate, mark_body_start
from jiraplug.plugins.profiling.settings import ProfilingSettings
from jiraplug.plugins.profiling.stats import TimingStats, format_report
from jiraplug.runtime import Runtime
from jiraplug.stages import listening
from jiraplug.server.toolcalls import is_error_result

if TYPE_CHECKING:
    from jiraplug.server.registry import ResourceRegistry, ToolRegistry
    from jiraplug.settings import Settings
    from jiraplug.server.toolcalls import CallNext, ToolCall, ToolCallMiddleware

__all__ = ["ProfilingSettings", "report_for"]

NAME = "profiling"
STATS_URI = "jiraplug://stats"
log = logging.getLogger("jiraplug.profiling")
report_log = logging.getLogger("jiraplug.profiling.report")


class _State:
    """What the plugin keeps for one server run."""

    def __init__(self, runtime: Runtime, config: ProfilingSettings) -> None:
        # Weak: a runtime that is built but never started (tests, tools) must not be kept alive.
        self._runtime = weakref.ref(runtime)
        self.settings = runtime.settings
        self.config = config
        self.stats = TimingStats(config.latency_samples)
        self.allocations = (
            memory.AllocationTracker(config.tracemalloc_frames, config.top_allocations) if config.tracemalloc else None
        )

    def report(self) -> dict[str, Any]:
        runtime = self._runtime()
        cache = cache_snapshot(runtime) if runtime is not None else None
        return self.stats.report(cache=cache, memory=memory.snapshot(self.allocations))


def _config(settings: Settings) -> ProfilingSettings:
    try:
        return settings.plugin_config(NAME)
    except KeyError:  # registered under another name (tests, embedding)
        return ProfilingSettings()


def _state(runtime: Runtime) -> _State:
    return runtime.plugin_state(__name__, lambda: _State(runtime, _config(runtime.settings)))


def report_for(settings: Settings) -> dict[str, Any] | None:
    """The timing report of the running server built from ``settings`` (None if none runs)."""
    runtime = Runtime.serving(settings)
    state = runtime.plugin_state(__name__) if runtime is not None else None
    return state.report() if state is not None else None


def cache_snapshot(runtime: Runtime) -> dict[str, Any] | None:
    """Hit/miss figures from the cache plugin, when it is loaded in this server.

    The cache plugin is optional: it is imported lazily, only if it is loaded, through its
    public ``stats(runtime)``; the snapshot is reduced to ``hits``, ``misses``, ``hit_rate``
    (plus ``layers`` when given). Anything unexpected gives ``None``, never an error.
    """
    try:
        if not runtime.plugins.info("cache").loaded:
            return None
        from jiraplug.plugins.cache import stats as cache_stats
    except (KeyError, ImportError):
        return None
    try:
        snapshot = cache_stats(runtime)
    except Exception as exc:  # noqa: BLE001 - another plugin's bug must not break the report
        log.debug("cache plugin stats() failed: %s", exc)
        return None
    if not isinstance(snapshot, dict):
        return None
    hits, misses = snapshot.get("hits"), snapshot.get("misses")
    if not isinstance(hits, int) or not isinstance(misses, int):
        return None
    figures: dict[str, Any] = {
        "hits": hits,
        "misses": misses,
        "hit_rate": hits / (hits + misses) if hits + misses else None,
    }
    layers = snapshot.get("layers")
    if isinstance(layers, dict):
        figures["layers"] = {
            name: {key: layer.get(key) for key in ("hits", "misses", "hit_rate")}
            for name, layer in layers.items()
            if isinstance(layer, dict)
        }
    return figures


# ------------------------------------------------------------------------------ hooks


@hookimpl
def plugin_settings() -> type[ProfilingSettings]:
    return ProfilingSettings


@hookimpl(tryfirst=True)
def tool_call_middleware(runtime: Runtime) -> ToolCallMiddleware:
    """Outermost, so that stages of other middleware (pool wait, rate-limit wait) are seen."""
    state = _state(runtime)

    def wrap(call_next: CallNext) -> CallNext:
        async def profiled(call: ToolCall) -> Any:
            profile = CallProfile(call.name, trace.get_current_span())
            token = activate(profile)
            error = True
            try:
                with listening(profile.record):
                    result = await call_next(call)
                error = is_error_result(result)
                return result
            finally:
                deactivate(token)
                state.stats.record_call(call.name, time.perf_counter() - profile.started, error, profile.stages)

        return profiled

    return wrap


@hookimpl(trylast=True)
def register_tools(registry: ToolRegistry, settings: Settings) -> None:
    """Last, so every other plugin's tools exist: wrap them to time argument validation."""
    config = _config(settings)
    if config.admin_tools:
        _add_profile_tool(registry, config)
    for tool in registry:
        tool.fn = mark_body_start(tool.fn)


def _add_profile_tool(registry: ToolRegistry, config: ProfilingSettings) -> None:
    from jiraplug.plugins.profiling.sampler import ProfileRunner

    runner = ProfileRunner(config.profile_interval_ms / 1000, config.max_profile_seconds)

    async def jiraplug_profile(
        seconds: Annotated[float, Field(gt=0, description="How long to sample the server, in seconds")] = 5.0,
        format: Annotated[
            Literal["html", "speedscope"], Field(description="html: flame graph page; speedscope: speedscope JSON")
        ] = "html",
    ) -> str:
        """Admin: sample the live server with pyinstrument for N seconds; returns the flame graph."""
        return await runner.profile(seconds, format)

    # A profile shows every user's calls in flight: on a shared server, for the operator only.
    registry.add(jiraplug_profile, title="Profile the server (admin)", read_only=True, open_world=False,
                 structured_output=False, operator_only=True)


@hookimpl
def register_resources(registry: ResourceRegistry, settings: Settings) -> None:
    def read_stats() -> dict[str, Any]:
        """Timing report: per tool count, error rate, p50/p95/p99 latency, cache hit rate; stages; memory."""
        return report_for(settings) or {"tools": {}, "stages": {}, "cache": None, "memory": None}

    registry.add(STATS_URI, read_stats, name="jiraplug timing report", mime_type="application/json",
                 operator_only=True)


@hookimpl
def startup(runtime: Runtime) -> Awaitable[None] | None:
    state = _state(runtime)
    memory.watch()
    if state.allocations is not None:
        state.allocations.start()
    if state.config.log_interval_seconds > 0:
        # The server's log level defaults to WARNING; an operator who asked for reports wants them.
        report_log.setLevel(logging.INFO)
        runtime.spawn(_log_reports, state, name="jiraplug.profiling.report")
    return None


async def _log_reports(state: _State) -> None:
    while True:
        await anyio.sleep(state.config.log_interval_seconds)
        try:
            report_log.info("timing report\n%s", format_report(state.report()))
        except Exception:  # noqa: BLE001 - a failed report must not end the loop
            log.exception("could not write the timing report")


@hookimpl
def shutdown(runtime: Runtime) -> None:
    state = runtime.plugin_state(__name__)
    if state is None:
        return
    memory.unwatch()
    if state.allocations is not None:
        state.allocations.stop()


@hookimpl
def register_commands(subparsers: Any) -> None:
    from jiraplug.plugins.profiling.cli import add_commands

    add_commands(subparsers)
