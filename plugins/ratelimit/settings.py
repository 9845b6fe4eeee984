"""The ``[ratelimit]`` configuration table."""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from jiraplug.redis_link import RedisOptions
from jiraplug.settings import PluginSettings


class RateLimitSettings(PluginSettings, RedisOptions):
    """Settings of the ``ratelimit`` plugin (table ``[ratelimit]``, ``JIRAPLUG_RATELIMIT__<KEY>``).

    Every field has a default, so the plugin works unconfigured. With ``backend = "redis"``
    the budgets, pauses, adaptive rate and breaker are shared by every replica.
    """

    rate_limit_requests_per_second: float = Field(
        100.0, ge=0, description="Requests per second toward Jira, all credentials together (0: no client-side cap)"
    )
    burst: int | None = Field(
        None, ge=1, description="Requests allowed at once before the rate applies (default: one second's worth)"
    )
    per_credential_requests_per_second: float = Field(
        0.0, ge=0, description="Requests per second for each credential (0: only the global limit)"
    )
    per_credential_burst: int | None = Field(None, ge=1, description="Burst of the per-credential bucket")

    min_retry_after_seconds: float = Field(
        1.0, gt=0, description="Shortest wait after a 429/503, whatever Jira says (a Retry-After: 0 never spins)"
    )
    max_retry_after_seconds: float = Field(
        60.0, gt=0, description="Longest wait Jira may ask for; beyond it the call fails saying when to retry"
    )
    max_attempts: int = Field(4, ge=1, description="Attempts per request, the first included (1: never retry)")
    max_retry_seconds: float = Field(
        60.0, ge=0, description="Longest total time spent waiting to retry one request"
    )
    backoff_base_seconds: float = Field(
        0.5, gt=0, description="First backoff step; step n waits a random time up to base * 2^(n-1)"
    )
    backoff_max_seconds: float = Field(10.0, gt=0, description="Cap of one backoff wait")

    breaker_failure_threshold: int = Field(
        5, ge=0, description="Fewest server-side failures (5xx, connection errors) in the window that open the "
        "breaker (0: off)"
    )
    breaker_failure_rate_percent: float = Field(
        50.0, gt=0, le=100, description="Share of the window's requests that must have failed to open the breaker"
    )
    breaker_window_seconds: float = Field(
        10.0, gt=0, le=3600, description="Recent time over which the breaker counts outcomes"
    )
    breaker_cooldown_seconds: float = Field(
        30.0, gt=0, description="How long an open breaker fails calls fast before one probe request is let through"
    )

    adaptive_factor: float = Field(
        0.5, gt=0, le=1, description="After a 429 the sending rate is multiplied by this (1: no adaptation)"
    )
    adaptive_recovery_seconds: float = Field(
        60.0, gt=0, description="Time for the rate to climb back, linearly, to where it was before the 429"
    )

    @model_validator(mode="after")
    def _check_ranges(self) -> RateLimitSettings:
        if self.min_retry_after_seconds > self.max_retry_after_seconds:
            raise ValueError(
                f"min_retry_after_seconds ({self.min_retry_after_seconds}) must not exceed "
                f"max_retry_after_seconds ({self.max_retry_after_seconds})"
            )
        if self.backoff_base_seconds > self.backoff_max_seconds:
            raise ValueError(
                f"backoff_base_seconds ({self.backoff_base_seconds}) must not exceed "
                f"backoff_max_seconds ({self.backoff_max_seconds})"
            )
        return self

    @property
    def global_burst(self) -> int:
        """Burst of the global bucket (one second's worth unless configured)."""
        return self.burst or max(1, math.ceil(self.rate_limit_requests_per_second))

    @property
    def credential_burst(self) -> int:
        """Burst of each per-credential bucket (one second's worth unless configured)."""
        return self.per_credential_burst or max(1, math.ceil(self.per_credential_requests_per_second))
