"""Fault knobs: injected latency, errors, rate limiting, dropped connections, slow bodies.

:class:`Knobs` is the value object (all faults off by default); :class:`FaultInjector`
makes the per-request decisions with a seeded RNG and a token bucket. Both are
thread-safe to swap at run time (``SandboxServer.set_knobs``, ``POST /__sandbox__/knobs``).
"""

from __future__ import annotations

import dataclasses
import math
import random
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

__all__ = ["Knobs", "FaultInjector", "RateDecision"]


@dataclass(frozen=True, slots=True)
class Knobs:
    """Fault-injection settings; every knob is off (zero) by default.

    - ``latency_ms`` / ``jitter_ms``: sleep ``latency_ms + uniform(0, jitter_ms)`` before answering.
    - ``error_rate``: fraction (0..1) of requests answered 500, 502 or 503.
    - ``rate_limit_rps``: token-bucket limit in requests per second (burst ``rate_limit_burst``,
      default one second's worth); over the limit the answer is 429 with ``Retry-After``.
    - ``drop_rate``: fraction (0..1) of requests whose connection is closed with no response.
    - ``slow_body_ms``: spread the response body over this many milliseconds.
    """

    latency_ms: float = 0.0
    jitter_ms: float = 0.0
    error_rate: float = 0.0
    rate_limit_rps: float = 0.0
    rate_limit_burst: float = 0.0
    drop_rate: float = 0.0
    slow_body_ms: float = 0.0

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or math.isnan(value):
                raise ValueError(f"knob {f.name!r} must be a number, got {value!r}")
            if value < 0:
                raise ValueError(f"knob {f.name!r} must be >= 0, got {value!r}")
        for name in ("error_rate", "drop_rate"):
            if getattr(self, name) > 1:
                raise ValueError(f"knob {name!r} is a fraction between 0 and 1, got {getattr(self, name)!r}")

    @classmethod
    def names(cls) -> list[str]:
        """The knob names."""
        return [f.name for f in dataclasses.fields(cls)]

    def replace(self, values: Mapping[str, Any]) -> Knobs:
        """A copy with ``values`` applied; unknown names raise ``ValueError``."""
        unknown = sorted(set(values) - set(self.names()))
        if unknown:
            raise ValueError(f"unknown knob(s): {', '.join(unknown)}; known: {', '.join(self.names())}")
        return dataclasses.replace(self, **dict(values))

    def to_dict(self) -> dict[str, float]:
        """The knobs as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclass(frozen=True, slots=True)
class RateDecision:
    """Outcome of one token-bucket check."""

    allowed: bool
    limit: float
    remaining: int
    retry_after_s: float


class FaultInjector:
    """Per-server fault decisions: a seeded RNG plus a token bucket."""

    def __init__(self, knobs: Knobs | None = None, seed: int = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults-{seed}")
        self._knobs = knobs or Knobs()
        self._tokens = self._capacity(self._knobs)
        self._stamp = time.monotonic()

    @staticmethod
    def _capacity(knobs: Knobs) -> float:
        return knobs.rate_limit_burst or max(1.0, knobs.rate_limit_rps)

    @property
    def knobs(self) -> Knobs:
        """The current knobs."""
        return self._knobs

    def set_knobs(self, knobs: Knobs) -> None:
        """Swap the knobs (the token bucket starts full again)."""
        with self._lock:
            self._knobs = knobs
            self._tokens = self._capacity(knobs)
            self._stamp = time.monotonic()

    def delay_s(self) -> float:
        """Seconds to wait before answering (latency plus jitter)."""
        knobs = self._knobs
        if not knobs.latency_ms and not knobs.jitter_ms:
            return 0.0
        with self._lock:
            jitter = self._rng.uniform(0, knobs.jitter_ms) if knobs.jitter_ms else 0.0
        return (knobs.latency_ms + jitter) / 1000

    def _roll(self, rate: float) -> bool:
        if rate <= 0:
            return False
        with self._lock:
            return self._rng.random() < rate

    def should_drop(self) -> bool:
        """Whether to close this request's connection without answering."""
        return self._roll(self._knobs.drop_rate)

    def error_status(self) -> int | None:
        """A 5xx status to answer with, or ``None``."""
        if not self._roll(self._knobs.error_rate):
            return None
        with self._lock:
            return self._rng.choice((500, 502, 503))

    def take_token(self) -> RateDecision | None:
        """Spend one token; ``None`` when rate limiting is off."""
        knobs = self._knobs
        rps = knobs.rate_limit_rps
        if rps <= 0:
            return None
        capacity = self._capacity(knobs)
        with self._lock:
            now = time.monotonic()
            self._tokens = min(capacity, self._tokens + (now - self._stamp) * rps)
            self._stamp = now
            if self._tokens >= 1:
                self._tokens -= 1
                return RateDecision(True, rps, int(self._tokens), 0.0)
            return RateDecision(False, rps, 0, (1 - self._tokens) / rps)
