"""Sliding windows of tool calls and Jira requests, on an injectable clock."""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class WindowFigures:
    """What the window holds at one moment (``None`` where there is no data)."""

    calls: int
    failed_calls: int
    requests: int
    failed_requests: int
    p95_seconds: float | None
    mean_seconds: float | None
    calls_per_second: float

    @property
    def success_rate(self) -> float | None:
        return (self.calls - self.failed_calls) / self.calls if self.calls else None

    @property
    def error_rate(self) -> float | None:
        return self.failed_requests / self.requests if self.requests else None


def p95(values: list[float]) -> float | None:
    """The 95th percentile by the nearest-rank method (one value: itself)."""
    if not values:
        return None
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


class SlidingWindow:
    """Tool-call outcomes and Jira-request outcomes of the last ``seconds``."""

    def __init__(self, seconds: float, clock: Callable[[], float]) -> None:
        self.seconds = seconds
        self._clock = clock
        self._started = clock()
        self._calls: deque[tuple[float, float, bool]] = deque()  # (at, duration, ok)
        self._requests: deque[tuple[float, bool]] = deque()  # (at, ok)

    def add_call(self, duration_seconds: float, ok: bool) -> None:
        self._calls.append((self._clock(), duration_seconds, ok))

    def add_request(self, ok: bool) -> None:
        self._requests.append((self._clock(), ok))

    def _prune(self, now: float) -> None:
        horizon = now - self.seconds
        while self._calls and self._calls[0][0] < horizon:
            self._calls.popleft()
        while self._requests and self._requests[0][0] < horizon:
            self._requests.popleft()

    def figures(self) -> WindowFigures:
        """The figures over the window ending now."""
        now = self._clock()
        self._prune(now)
        durations = [duration for _, duration, _ in self._calls]
        # Right after start-up the window is not full yet: rate over the time covered.
        covered = max(1.0, min(self.seconds, now - self._started))
        return WindowFigures(
            calls=len(self._calls),
            failed_calls=sum(1 for *_, ok in self._calls if not ok),
            requests=len(self._requests),
            failed_requests=sum(1 for _, ok in self._requests if not ok),
            p95_seconds=p95(durations),
            mean_seconds=sum(durations) / len(durations) if durations else None,
            calls_per_second=len(self._calls) / covered,
        )
