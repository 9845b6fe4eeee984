"""A circuit breaker for one Jira site.

*Closed*: requests flow, and their outcomes are counted over the last ``window`` seconds. It
*opens* when at least ``threshold`` of them failed on the server side (5xx, connection
errors, timeouts) **and** they are at least ``failure_rate`` of all outcomes in the window:
requests then fail fast for the cooldown. Then it is *half-open*: exactly one request (the
probe) goes through while the others keep failing fast; the probe's success closes the
breaker, its failure opens it for another cooldown.

Why a rate and not "N failures in a row": under many concurrent requests a partly failing
Jira (30% of answers 5xx) produces five failures in a row every few hundred requests, and
each trip turned 30 s of mostly good answers into errors. A site that is really down fails
everything, so it still opens after ``threshold`` failures.

No library used here fits an asyncio client with an injectable clock and this
probe-in-flight rule, and the logic is small, so it is written out.
"""

from __future__ import annotations

import enum
from collections import deque
from collections.abc import Callable


class BreakerState(enum.StrEnum):
    """Breaker states; the gauge value is the index (closed 0, half-open 1, open 2)."""

    CLOSED = "closed"
    HALF_OPEN = "half_open"
    OPEN = "open"

    @property
    def level(self) -> int:
        return {"closed": 0, "half_open": 1, "open": 2}[self.value]


class BreakerOpenError(Exception):
    """Raised by :meth:`CircuitBreaker.admit` while requests must fail fast (internal)."""

    def __init__(self, retry_in: float, failures: int, outcomes: int) -> None:
        super().__init__(f"circuit open; retry in {retry_in:.1f} s")
        self.retry_in = retry_in
        self.failures = failures
        self.outcomes = outcomes


StateListener = Callable[[BreakerState, BreakerState], None]


SLOTS = 10
"""Time slots the outcome window is cut into (its edge moves in steps of window / SLOTS)."""


class CircuitBreaker:
    """Breaker state for one Jira base URL. ``clock`` is monotonic seconds.

    A ``threshold`` of 0 disables the breaker (it never opens).
    """

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float],
                 on_change: StateListener | None = None, *, failure_rate: float = 0.5,
                 window: float = 10.0) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self.failure_rate = failure_rate
        self.window = window
        self._clock = clock
        self._on_change = on_change
        self.state = BreakerState.CLOSED
        self.failures = 0  # server-side failures in the window (when it opened: those that opened it)
        self.outcomes = 0  # all outcomes in the window
        self._slots: deque[list[int]] = deque()  # [slot index, outcomes, failures], oldest first
        self._opened_at = 0.0
        self._probe_in_flight = False

    def _set(self, state: BreakerState) -> None:
        previous, self.state = self.state, state
        if previous is not state and self._on_change is not None:
            self._on_change(previous, state)

    def retry_in(self) -> float:
        """Seconds until an open breaker lets a probe through (0 when not open)."""
        if self.state is not BreakerState.OPEN:
            return 0.0
        return max(0.0, self._opened_at + self.cooldown - self._clock())

    def admit(self, *, claim: bool) -> bool:
        """Raise :class:`BreakerOpenError` if a request must fail fast now.

        With ``claim`` the caller is about to send: in half-open state it becomes the
        probe (the return value is then True, and it must report its outcome with
        :meth:`record` or give the slot back with :meth:`release`). Without ``claim``
        this only checks, so a caller can fail fast before waiting in a queue.
        """
        if self.threshold <= 0 or self.state is BreakerState.CLOSED:
            return False
        if self.state is BreakerState.OPEN:
            remaining = self.retry_in()
            if remaining > 0:
                raise BreakerOpenError(remaining, self.failures, self.outcomes)
            if not claim:
                return False
            self._set(BreakerState.HALF_OPEN)
        if self._probe_in_flight:
            raise BreakerOpenError(0.0, self.failures, self.outcomes)
        if claim:
            self._probe_in_flight = True
            return True
        return False

    def record(self, *, failed: bool, probe: bool) -> None:
        """Report the outcome of a request admitted by :meth:`admit`."""
        if probe:
            self._probe_in_flight = False
        if self.threshold <= 0:
            return
        if probe:
            self._forget()
            if failed:
                self.failures = self.outcomes = 1
                self._open()
            else:
                self._set(BreakerState.CLOSED)
            return
        if self.state is not BreakerState.CLOSED:
            return  # admitted before the breaker opened: the probe decides from here
        self._count(failed)
        if failed and self.failures >= self.threshold and self.failures >= self.failure_rate * self.outcomes:
            self._open()

    def _open(self) -> None:
        self._opened_at = self._clock()
        self._set(BreakerState.OPEN)

    def _count(self, failed: bool) -> None:
        width = self.window / SLOTS
        index = int(self._clock() // width)
        if not self._slots or self._slots[-1][0] < index:
            self._slots.append([index, 0, 0])
            while self._slots and self._slots[0][0] <= index - SLOTS:
                _, outcomes, failures = self._slots.popleft()
                self.outcomes -= outcomes
                self.failures -= failures
        slot = self._slots[-1]
        slot[1] += 1
        self.outcomes += 1
        if failed:
            slot[2] += 1
            self.failures += 1

    def _forget(self) -> None:
        self._slots.clear()
        self.failures = self.outcomes = 0

    def release(self, *, probe: bool) -> None:
        """Give the probe slot back when the probe ended without an outcome (cancelled)."""
        if probe:
            self._probe_in_flight = False
