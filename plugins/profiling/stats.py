"""The timing report: per tool, count, error rate, p50/p95/p99 latency, cache hit rate.

Counts and errors are totals since the server started; percentiles are over the latest
``latency_samples`` calls of each tool (a bounded window, so memory stays flat however
long the server runs). The same bounded window gives per-stage figures.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


def percentiles(values: list[float]) -> dict[str, float]:
    """p50, p95, p99 (inclusive method) of ``values``; one value is all three."""
    if not values:
        return {}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "p99": values[0]}
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": cuts[49], "p95": cuts[94], "p99": cuts[98]}


@dataclass
class _Series:
    count: int = 0
    errors: int = 0
    cache_hits: int = 0
    cache_lookups: int = 0
    samples: deque[float] = field(default_factory=deque)


class TimingStats:
    """Per-tool and per-stage timing figures of one server run."""

    def __init__(self, latency_samples: int = 1000, clock: Any = time.time) -> None:
        self._size = latency_samples
        self._tools: dict[str, _Series] = {}
        self._stages: dict[str, _Series] = {}
        self.started = clock()
        self._clock = clock

    def _series(self, table: dict[str, _Series], name: str) -> _Series:
        series = table.get(name)
        if series is None:
            series = table[name] = _Series(samples=deque(maxlen=self._size))
        return series

    def record_call(self, tool: str, seconds: float, error: bool, stages: list[tuple[str, float, Mapping[str, Any]]]) -> None:
        """Account one finished tool call and the stages it went through."""
        series = self._series(self._tools, tool)
        series.count += 1
        series.errors += int(error)
        series.samples.append(seconds)
        for name, stage_seconds, attributes in stages:
            stage = self._series(self._stages, name)
            stage.count += 1
            stage.samples.append(stage_seconds)
            # The cache plugin may say whether a lookup hit (attribute "hit"); count it per tool.
            if "hit" in attributes:
                series.cache_lookups += 1
                series.cache_hits += int(bool(attributes["hit"]))

    def report(self, cache: Mapping[str, Any] | None = None, memory: Mapping[str, Any] | None = None) -> dict[str, Any]:
        """The report as JSON-ready data (what ``jiraplug://stats`` returns)."""
        tools: dict[str, Any] = {}
        for name, series in sorted(self._tools.items()):
            entry: dict[str, Any] = {
                "count": series.count,
                "errors": series.errors,
                "error_rate": series.errors / series.count if series.count else 0.0,
                "latency_ms": {key: round(value * 1000, 3) for key, value in percentiles(list(series.samples)).items()},
                "cache_hit_rate": series.cache_hits / series.cache_lookups if series.cache_lookups else None,
            }
            tools[name] = entry
        stages = {
            name: {
                "count": series.count,
                "latency_ms": {key: round(value * 1000, 3) for key, value in percentiles(list(series.samples)).items()},
            }
            for name, series in sorted(self._stages.items())
        }
        return {
            "started": self.started,
            "uptime_seconds": round(self._clock() - self.started, 3),
            "tools": tools,
            "stages": stages,
            "cache": dict(cache) if cache else None,
            "memory": dict(memory) if memory else None,
        }


def _ms(latency: Mapping[str, float], key: str) -> str:
    value = latency.get(key)
    return "-" if value is None else f"{value:.1f}"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.1f}%"


def format_report(report: Mapping[str, Any]) -> str:
    """The report as a plain-text table (the log line and ``jiraplug stats`` output)."""
    lines = [f"{'tool':<32} {'calls':>7} {'errors':>7} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9} {'cache hit':>9}"]
    for name, entry in report.get("tools", {}).items():
        latency = entry.get("latency_ms", {})
        lines.append(
            f"{name:<32} {entry['count']:>7} {_percent(entry['error_rate']):>7} {_ms(latency, 'p50'):>9} "
            f"{_ms(latency, 'p95'):>9} {_ms(latency, 'p99'):>9} {_percent(entry.get('cache_hit_rate')):>9}"
        )
    if not report.get("tools"):
        lines.append("(no tool calls yet)")
    stages = report.get("stages") or {}
    if stages:
        lines.append("")
        lines.append(f"{'stage':<32} {'count':>7} {'':>7} {'p50 ms':>9} {'p95 ms':>9} {'p99 ms':>9}")
        for name, entry in stages.items():
            latency = entry.get("latency_ms", {})
            lines.append(
                f"{name:<32} {entry['count']:>7} {'':>7} {_ms(latency, 'p50'):>9} {_ms(latency, 'p95'):>9} "
                f"{_ms(latency, 'p99'):>9}"
            )
    cache = report.get("cache")
    if cache and cache.get("hit_rate") is not None:
        lines.append("")
        lines.append(f"cache: hit rate {_percent(cache['hit_rate'])} ({cache.get('hits', '?')} hits, "
                     f"{cache.get('misses', '?')} misses)")
    memory = report.get("memory")
    if memory:
        lines.append("")
        lines.append(f"memory: rss {memory.get('rss_bytes', 0) / 2**20:.1f} MiB, "
                     f"peak {memory.get('peak_bytes', 0) / 2**20:.1f} MiB")
        for row in memory.get("top_allocations") or []:
            lines.append(f"  {row['size_bytes'] / 1024:>10.1f} KiB {row['count']:>8} blocks  {row['where']}")
    return "\n".join(lines)
