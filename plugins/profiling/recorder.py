"""Per-call stage recording: span events on the MCP server span and the stage histogram.

One :class:`CallProfile` lives for one tool call. It is the :mod:`jiraplug.stages` listener
for that call, so every ``with stage(...)`` on the path (``jira.request``, ``parse``,
``cache.lookup``, ``ratelimit.wait``, ``pool.wait``, ``render``, a plugin's own) ends up as

* an event ``jiraplug.stage`` on the server span of the call, and
* a point in the histogram ``jiraplug.profiling.stage.duration`` (seconds, attributes
  ``stage`` and ``gen_ai.tool.name``).

Argument validation happens inside the MCP SDK, before the tool body starts; the wrapper
from :func:`mark_body_start` reports it as the stage ``validation``.
"""

from __future__ import annotations

import contextvars
import functools
import inspect
import time
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry import metrics, trace

from jiraplug import stages
from jiraplug.telemetry import get_telemetry, once_per_meter

STAGE_HISTOGRAM = "jiraplug.profiling.stage.duration"
STAGE_EVENT = "jiraplug.stage"
# Stage lengths run from sub-millisecond parsing to multi-second Jira calls.
_BUCKETS = (0.0001, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

_active: contextvars.ContextVar[CallProfile | None] = contextvars.ContextVar("jiraplug_profiling_call", default=None)

@once_per_meter
def _stage_histogram_of(meter: metrics.Meter) -> metrics.Histogram:
    return meter.create_histogram(
        STAGE_HISTOGRAM,
        unit="s",
        description="Duration of one stage of an MCP tool call (validation, cache lookup, Jira request, ...)",
        explicit_bucket_boundaries_advisory=list(_BUCKETS),
    )


def stage_histogram() -> metrics.Histogram:
    """The histogram ``jiraplug.profiling.stage.duration``, created once per meter."""
    return _stage_histogram_of(get_telemetry().meter)


def _attribute(value: Any) -> Any:
    return value if isinstance(value, (str, bool, int, float)) else str(value)


class CallProfile:
    """The stages of one tool call, as they end."""

    def __init__(self, tool: str, span: trace.Span) -> None:
        self.tool = tool
        self.span = span
        self.started = time.perf_counter()
        self.stages: list[tuple[str, float, Mapping[str, Any]]] = []
        self._body_started = False
        self._histogram = stage_histogram()

    def record(self, name: str, seconds: float, attributes: Mapping[str, Any]) -> None:
        """The :mod:`jiraplug.stages` listener: one stage of this call has ended."""
        self.stages.append((name, seconds, attributes))
        self._histogram.record(seconds, {"stage": name, "gen_ai.tool.name": self.tool})
        if self.span.is_recording():
            event = {"jiraplug.stage.name": name, "jiraplug.stage.duration": seconds}
            event.update({f"jiraplug.stage.{key}": _attribute(value) for key, value in attributes.items()})
            # Stamp the event where the stage began, so a trace view shows it in place.
            self.span.add_event(STAGE_EVENT, event, timestamp=time.time_ns() - int(seconds * 1e9))

    def body_started(self) -> None:
        """The tool body starts: what passed since entry, minus stages seen so far, is validation."""
        if self._body_started:
            return
        self._body_started = True
        elapsed = time.perf_counter() - self.started
        earlier = sum(seconds for _, seconds, _ in self.stages)
        self.record(stages.VALIDATION, max(0.0, elapsed - earlier), {})


def activate(profile: CallProfile) -> contextvars.Token[CallProfile | None]:
    """Make ``profile`` the one the tool body reports its start to (reset with the token)."""
    return _active.set(profile)


def deactivate(token: contextvars.Token[CallProfile | None]) -> None:
    _active.reset(token)


def _body_starts() -> None:
    profile = _active.get()
    if profile is not None:
        profile.body_started()


def mark_body_start(fn: Callable[..., Any]) -> Callable[..., Any]:
    """Wrap a tool function so that its start ends the ``validation`` stage.

    The wrapper keeps the signature, docstring and sync/async nature (``functools.wraps``
    sets ``__wrapped__``, which the SDK's signature inspection follows), so the tool's
    schema is unchanged. Outside a profiled call it costs one context-variable lookup.
    """
    if getattr(fn, "__jiraplug_profiled__", False):
        return fn
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def profiled_async(*args: Any, **kwargs: Any) -> Any:
            _body_starts()
            return await fn(*args, **kwargs)

        wrapper: Callable[..., Any] = profiled_async
    else:

        @functools.wraps(fn)
        def profiled_sync(*args: Any, **kwargs: Any) -> Any:
            _body_starts()
            return fn(*args, **kwargs)

        wrapper = profiled_sync
    wrapper.__jiraplug_profiled__ = True  # type: ignore[attr-defined]
    return wrapper
