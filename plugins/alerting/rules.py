"""The threshold rules and what each measures.

Each rule turns the window's figures into a :class:`Reading`: the measured value, the
limit, and whether the limit is crossed. A rule without enough data (fewer than
``min_samples`` calls or requests in the window) is not breached: no data clears an alert.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from jiraplug.plugins.alerting.settings import AlertingSettings
from jiraplug.plugins.alerting.window import WindowFigures

RESPONSE_TIME = "response_time"
SUCCESS_RATE = "success_rate"
ERROR_RATE = "error_rate"
MEMORY_USAGE = "memory_usage"
REQUESTS_PER_SECOND = "requests_per_second"
REDIS_UNAVAILABLE = "redis_unavailable"


@dataclass(frozen=True)
class Vitals:
    """What the rules read besides the window: the process's memory, and how long the shared
    Redis (``jiraplug.redis_link``) has been unreachable (``None``: no Redis, or it answers)."""

    rss: int
    redis_down_seconds: float | None = None


@dataclass(frozen=True)
class Reading:
    """One rule's verdict at one evaluation."""

    rule: str
    value: float | None
    threshold: float
    unit: str
    breached: bool
    message: str


def _fmt(value: float, unit: str) -> str:
    if unit == "By":
        return f"{value / 2**20:.1f} MiB"
    if unit == "%":
        return f"{value:.1f}%"
    if unit == "ms":
        return f"{value:.0f} ms"
    return f"{value:.2f} {unit}"


@dataclass(frozen=True)
class Rule:
    """A threshold: ``measure`` gives (value, samples) or None, ``above`` says which side breaches."""

    name: str
    label: str
    unit: str
    threshold: float
    above: bool
    measure: Callable[[WindowFigures, Vitals], tuple[float | None, int]]
    needs_samples: bool = True

    def read(self, figures: WindowFigures, vitals: Vitals, settings: AlertingSettings) -> Reading:
        value, samples = self.measure(figures, vitals)
        enough = value is not None and (not self.needs_samples or samples >= settings.min_samples)
        breached = enough and (value > self.threshold if self.above else value < self.threshold)  # type: ignore[operator]
        op = ">" if self.above else "<"
        window = f"over the last {settings.window_seconds:g} s"
        if value is None or not enough:
            message = f"{self.label}: not enough data {window} ({samples} sample(s))"
        elif breached:
            message = f"{self.label} {_fmt(value, self.unit)} {op} {_fmt(self.threshold, self.unit)} {window}"
            if self.needs_samples:
                message += f" ({samples} sample(s))"
        else:
            message = f"{self.label} {_fmt(value, self.unit)} is within {_fmt(self.threshold, self.unit)} {window}"
        return Reading(self.name, value, self.threshold, self.unit, bool(breached), message)


def build_rules(settings: AlertingSettings) -> list[Rule]:
    """The rules whose threshold is set (a threshold of "off" leaves its rule out)."""
    rules: list[Rule] = []
    if settings.max_response_time_ms is not None:
        statistic = settings.response_time_statistic

        def response_time(f: WindowFigures, _: Vitals) -> tuple[float | None, int]:
            seconds = f.p95_seconds if statistic == "p95" else f.mean_seconds
            return (None if seconds is None else seconds * 1000, f.calls)

        rules.append(Rule(RESPONSE_TIME, f"{statistic} response time", "ms", settings.max_response_time_ms,
                          True, response_time))
    if settings.min_success_rate_percent is not None:
        rules.append(Rule(
            SUCCESS_RATE, "tool-call success rate", "%", settings.min_success_rate_percent, False,
            lambda f, _: (None if f.success_rate is None else f.success_rate * 100, f.calls),
        ))
    if settings.max_error_rate_percent is not None:
        rules.append(Rule(
            ERROR_RATE, "Jira error rate", "%", settings.max_error_rate_percent, True,
            lambda f, _: (None if f.error_rate is None else f.error_rate * 100, f.requests),
        ))
    if settings.max_memory_usage_bytes is not None:
        rules.append(Rule(MEMORY_USAGE, "memory (RSS)", "By", float(settings.max_memory_usage_bytes), True,
                          lambda f, v: (float(v.rss), 1), needs_samples=False))
    if settings.max_requests_per_second is not None:
        rules.append(Rule(REQUESTS_PER_SECOND, "tool calls per second", "/s", settings.max_requests_per_second, True,
                          lambda f, _: (f.calls_per_second, f.calls), needs_samples=False))
    if settings.max_redis_unavailable_seconds is not None:
        # Calls still succeed during an outage (local fallback), but replicas no longer share their
        # cache and budget: the operator should know.
        rules.append(Rule(REDIS_UNAVAILABLE, "shared Redis unreachable for", "s",
                          settings.max_redis_unavailable_seconds, True,
                          lambda f, v: (v.redis_down_seconds, 1), needs_samples=False))
    return rules
