"""Memory tracking: process RSS and peak as gauges, tracemalloc as an opt-in.

The gauges ``jiraplug.profiling.memory.rss`` and ``jiraplug.profiling.memory.peak`` (bytes)
are observed only when the metric reader collects, so they cost nothing between exports.
They are created once per meter and report only while a server with the profiling plugin
runs in this process (:func:`watch` / :func:`unwatch`).

tracemalloc slows every allocation down, so it is off unless ``tracemalloc = true``; the
report then lists the top allocation sites.
"""

from __future__ import annotations

import sys
import threading
import tracemalloc
from collections.abc import Iterable
from typing import Any

import psutil
from opentelemetry import metrics

from jiraplug.telemetry import get_telemetry, once_per_meter

RSS_GAUGE = "jiraplug.profiling.memory.rss"
PEAK_GAUGE = "jiraplug.profiling.memory.peak"

_lock = threading.Lock()
_watchers = 0
_process = psutil.Process()
_peak_seen = 0


def _ru_maxrss_bytes() -> int:
    try:
        import resource
    except ImportError:  # Windows
        return 0
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    # Linux reports KiB, macOS bytes.
    return peak if sys.platform == "darwin" else peak * 1024


def rss_bytes() -> int:
    """Resident set size of this process now."""
    global _peak_seen
    rss = int(_process.memory_info().rss)
    _peak_seen = max(_peak_seen, rss)
    return rss


def peak_bytes() -> int:
    """Highest resident set size of this process so far (kernel's figure when it has one)."""
    rss_bytes()
    return max(_ru_maxrss_bytes(), _peak_seen)


def _observe_rss(options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
    if _watchers > 0:
        yield metrics.Observation(rss_bytes())


def _observe_peak(options: metrics.CallbackOptions) -> Iterable[metrics.Observation]:
    if _watchers > 0:
        yield metrics.Observation(peak_bytes())


@once_per_meter
def _gauges(meter: metrics.Meter) -> tuple[metrics.ObservableGauge, metrics.ObservableGauge]:
    """The memory gauges of ``meter`` (the process's figures, reported while a profiled server runs)."""
    return (
        meter.create_observable_gauge(RSS_GAUGE, [_observe_rss], unit="By",
                                      description="Resident set size of the jiraplug process"),
        meter.create_observable_gauge(PEAK_GAUGE, [_observe_peak], unit="By",
                                      description="Peak resident set size of the jiraplug process"),
    )


def watch() -> None:
    """A profiled server starts: make sure the gauges exist and report."""
    global _watchers
    with _lock:
        _watchers += 1
    _gauges(get_telemetry().meter)


def unwatch() -> None:
    """A profiled server stops."""
    global _watchers
    with _lock:
        _watchers = max(0, _watchers - 1)


class AllocationTracker:
    """tracemalloc, started by us (and stopped by us) when configured."""

    def __init__(self, frames: int, top: int) -> None:
        self._frames = frames
        self._top = top
        self._started_here = False

    def start(self) -> None:
        if not tracemalloc.is_tracing():
            tracemalloc.start(self._frames)
            self._started_here = True

    def stop(self) -> None:
        if self._started_here and tracemalloc.is_tracing():
            tracemalloc.stop()
        self._started_here = False

    def top_allocations(self) -> list[dict[str, Any]]:
        """The largest allocation sites still alive, biggest first."""
        if not tracemalloc.is_tracing():
            return []
        snapshot = tracemalloc.take_snapshot().filter_traces(
            (tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>"))
        )
        rows = []
        for stat in snapshot.statistics("lineno")[: self._top]:
            frame = stat.traceback[0]
            rows.append({"where": f"{frame.filename}:{frame.lineno}", "size_bytes": stat.size, "count": stat.count})
        return rows

    def traced_bytes(self) -> tuple[int, int]:
        """(current, peak) bytes traced by tracemalloc, or zeros when it is off."""
        return tracemalloc.get_traced_memory() if tracemalloc.is_tracing() else (0, 0)


def snapshot(tracker: AllocationTracker | None) -> dict[str, Any]:
    """Memory figures for the timing report."""
    data: dict[str, Any] = {"rss_bytes": rss_bytes(), "peak_bytes": peak_bytes()}
    if tracker is not None:
        current, peak = tracker.traced_bytes()
        data["tracemalloc"] = {"current_bytes": current, "peak_bytes": peak}
        data["top_allocations"] = tracker.top_allocations()
    return data
