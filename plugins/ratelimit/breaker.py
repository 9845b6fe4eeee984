"""A circuit breaker for one Jira site.

*Closed*: requests flow; consecutive server-side failures (5xx, connection errors) are
counted and any other answer resets the count. At the threshold it *opens*: requests fail
fast for the cooldown. Then it is *half-open*: exactly one request (the probe) goes
through while the others keep failing fast; the probe's success closes the breaker, its
failure opens it for another cooldown.

No library used here fits an asyncio client with an injectable clock and this
probe-in-flight rule, and the logic is small, so it is written out.
"""

from __future__ import annotations

import enum
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

    def __init__(self, retry_in: float, failures: int) -> None:
        super().__init__(f"circuit open; retry in {retry_in:.1f} s")
        self.retry_in = retry_in
        self.failures = failures


StateListener = Callable[[BreakerState, BreakerState], None]


class CircuitBreaker:
    """Breaker state for one Jira base URL. ``clock`` is monotonic seconds.

    A ``threshold`` of 0 disables the breaker (it never opens).
    """

    def __init__(self, threshold: int, cooldown: float, clock: Callable[[], float],
                 on_change: StateListener | None = None) -> None:
        self.threshold = threshold
        self.cooldown = cooldown
        self._clock = clock
        self._on_change = on_change
        self.state = BreakerState.CLOSED
        self.failures = 0  # consecutive server-side failures
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
                raise BreakerOpenError(remaining, self.failures)
            if not claim:
                return False
            self._set(BreakerState.HALF_OPEN)
        if self._probe_in_flight:
            raise BreakerOpenError(0.0, self.failures)
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
        if not failed:
            self.failures = 0
            if probe:
                self._set(BreakerState.CLOSED)
            return
        self.failures += 1
        if probe or (self.state is BreakerState.CLOSED and self.failures >= self.threshold):
            self._opened_at = self._clock()
            self._set(BreakerState.OPEN)

    def release(self, *, probe: bool) -> None:
        """Give the probe slot back when the probe ended without an outcome (cancelled)."""
        if probe:
            self._probe_in_flight = False
