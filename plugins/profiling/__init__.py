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

The report of a running server is ``state_of(runtime).snapshot()``. Disabled, the module is
never imported: no middleware, no metrics, no background task. See docs/plugins/profiling.md.
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
from jiraplug.stages import listening
from jiraplug.server.toolcalls import is_error_result

if TYPE_CHECKING:
    from jiraplug.server.registry import ResourceRegistry, ToolRegistry
    from jiraplug.runtime import Runtime
    from jiraplug.settings import Settings
    from jiraplug.server.toolcalls import CallNext, ToolCall, ToolCallMiddleware

__all__ = ["PLUGIN_NAME", "ProfilingSettings", "ProfilingState", "RESOURCE_URI", "state_of"]

PLUGIN_NAME = "profiling"
RESOURCE_URI = "jiraplug://stats"
CACHE_STATE = "jiraplug.plugins.cache"
"""Where the cache plugin keeps its state on the runtime (its module name): the report reads the
cache's figures from there, without importing that plugin."""
log = logging.getLogger("jiraplug.profiling")
report_log = logging.getLogger("jiraplug.profiling.report")


class ProfilingState:
    """What the plugin keeps for one server run: the timing figures and the allocation tracker."""

    def __init__(self, runtime: Runtime, config: ProfilingSettings) -> None:
        # Weak: a runtime that is built but never started (tests, tools) must not be kept alive.
        self._runtime = weakref.ref(runtime)
        self.settings = runtime.settings
        self.config = config
        self.stats = TimingStats(config.latency_samples, clock=runtime.clock.time)
        self.allocations = (
            memory.AllocationTracker(config.tracemalloc_frames, config.top_allocations) if config.tracemalloc else None
        )

    def snapshot(self) -> dict[str, Any]:
        """The timing report (what ``jiraplug://stats`` returns)."""
        runtime = self._runtime()
        cache = cache_figures(runtime) if runtime is not None else None
        return self.stats.report(cache=cache, memory=memory.snapshot(self.allocations))


def _config(settings: Settings) -> ProfilingSettings:
    try:
        return settings.plugin_config(PLUGIN_NAME)
    except KeyError:  # registered under another name (tests, embedding)
        return ProfilingSettings()


def state_of(runtime: Runtime) -> ProfilingState:
    """The profiling state of ``runtime``, made on first use."""
    return runtime.plugin_state(__name__, lambda: ProfilingState(runtime, _config(runtime.settings)))


def cache_figures(runtime: Runtime) -> dict[str, Any] | None:
    """Hit/miss figures of the cache plugin's state on ``runtime``, when that plugin runs there.

    The cache plugin is optional and never imported from here: its state is found on the
    runtime (:data:`CACHE_STATE`) and read through its ``snapshot()``, reduced to ``hits``,
    ``misses``, ``hit_rate`` (plus ``layers`` when given). Anything unexpected gives
    ``None``, never an error.
    """
    cache = runtime.plugin_state(CACHE_STATE)
    if not callable(getattr(cache, "snapshot", None)):
        return None
    try:
        snapshot = cache.snapshot()
    except Exception as exc:  # noqa: BLE001 - another plugin's bug must not break the report
        log.debug("cache snapshot() failed: %s", exc)
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
    state = state_of(runtime)

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
def register_resources(registry: ResourceRegistry) -> None:
    def read_stats(runtime: Runtime) -> dict[str, Any]:
        """Timing report: per tool count, error rate, p50/p95/p99 latency, cache hit rate; stages; memory."""
        return state_of(runtime).snapshot()

    registry.add(RESOURCE_URI, read_stats, name="jiraplug timing report", mime_type="application/json",
                 operator_only=True)


@hookimpl
def startup(runtime: Runtime) -> Awaitable[None] | None:
    state = state_of(runtime)
    memory.watch()
    if state.allocations is not None:
        state.allocations.start()
    if state.config.log_interval_seconds > 0:
        # The server's log level defaults to WARNING; an operator who asked for reports wants them.
        report_log.setLevel(logging.INFO)
        runtime.spawn(_log_reports, state, name="jiraplug.profiling.report")
    return None


async def _log_reports(state: ProfilingState) -> None:
    while True:
        await anyio.sleep(state.config.log_interval_seconds)
        try:
            report_log.info("timing report\n%s", format_report(state.snapshot()))
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
