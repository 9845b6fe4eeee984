"""Sliding windows of tool calls and Jira requests, on an injectable clock, in bounded memory.

A busy shared server makes hundreds of calls a second; keeping one record per call for a
300 s window would hold tens of thousands of objects that live long enough to pin the
allocator's memory. So counts are kept per time slot (1/``SLOTS`` of the window each) and
durations only for the latest ``latency_samples`` calls: the window's memory is constant,
whatever the call rate.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

SLOTS = 300
"""Time slots a window is cut into: its edge moves in steps of ``seconds / SLOTS``."""


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


@dataclass(slots=True)
class _Slot:
    """Totals of one time slot."""

    index: int
    calls: int = 0
    failed_calls: int = 0
    duration_sum: float = 0.0
    requests: int = 0
    failed_requests: int = 0


class SlidingWindow:
    """Tool-call outcomes and Jira-request outcomes of the last ``seconds``.

    Counts, failures and the mean cover every call in the window; the p95 covers the latest
    ``latency_samples`` of them (all of them on a quieter server).
    """

    def __init__(self, seconds: float, clock: Callable[[], float], latency_samples: int = 2048) -> None:
        if seconds <= 0 or latency_samples < 1:
            raise ValueError(f"need seconds > 0 and latency_samples >= 1, got {seconds!r}, {latency_samples!r}")
        self.seconds = seconds
        self._clock = clock
        self._started = clock()
        self._slot_seconds = seconds / SLOTS
        self._slots: deque[_Slot] = deque()
        self._durations: deque[tuple[float, float]] = deque(maxlen=latency_samples)  # (at, seconds)

    def _current(self, now: float) -> _Slot:
        index = int(now // self._slot_seconds)
        if not self._slots or self._slots[-1].index < index:
            self._slots.append(_Slot(index))
            self._prune(now)  # here too, so memory stays bounded even when nobody reads figures
        return self._slots[-1]

    def add_call(self, duration_seconds: float, ok: bool) -> None:
        now = self._clock()
        slot = self._current(now)
        slot.calls += 1
        slot.failed_calls += not ok
        slot.duration_sum += duration_seconds
        self._durations.append((now, duration_seconds))

    def add_request(self, ok: bool) -> None:
        slot = self._current(self._clock())
        slot.requests += 1
        slot.failed_requests += not ok

    def _prune(self, now: float) -> None:
        horizon = now - self.seconds
        # A slot leaves once all of it is older than the window; a duration leaves with its slot,
        # so the p95 and the counts always cover the same calls.
        width = self._slot_seconds
        while self._slots and (self._slots[0].index + 1) * width <= horizon:
            self._slots.popleft()
        while self._durations and (int(self._durations[0][0] // width) + 1) * width <= horizon:
            self._durations.popleft()

    def figures(self) -> WindowFigures:
        """The figures over the window ending now."""
        now = self._clock()
        self._prune(now)
        calls = sum(slot.calls for slot in self._slots)
        # Right after start-up the window is not full yet: rate over the time covered.
        covered = max(1.0, min(self.seconds, now - self._started))
        return WindowFigures(
            calls=calls,
            failed_calls=sum(slot.failed_calls for slot in self._slots),
            requests=sum(slot.requests for slot in self._slots),
            failed_requests=sum(slot.failed_requests for slot in self._slots),
            p95_seconds=p95([seconds for _, seconds in self._durations]),
            mean_seconds=sum(slot.duration_sum for slot in self._slots) / calls if calls else None,
            calls_per_second=calls / covered,
        )

    def held(self) -> int:
        """Records the window keeps right now (slots and duration samples): bounded by design."""
        return len(self._slots) + len(self._durations)
