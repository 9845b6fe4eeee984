"""The ``[alerting]`` settings table."""

from __future__ import annotations

from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import Field, SecretStr, field_validator

from jiraplug.settings import PluginSettings

_OFF = {"", "off", "none", "false", "disabled"}


def _off_is_none(value: Any) -> Any:
    # TOML has no null: a threshold is switched off with the string "off".
    if isinstance(value, str) and value.strip().lower() in _OFF:
        return None
    return value


class AlertingSettings(PluginSettings):
    """``[alerting]``: thresholds over a sliding window, and where alerts go."""

    # thresholds ("off" switches one off)
    max_response_time_ms: float | None = Field(
        default=5000.0, gt=0, description="Tool-call response time limit (statistic: response_time_statistic)"
    )
    response_time_statistic: Literal["p95", "mean"] = Field(
        default="p95", description="What max_response_time_ms is compared with: p95 or mean over the window"
    )
    min_success_rate_percent: float | None = Field(
        default=95.0, ge=0, le=100, description="Lowest share of tool calls that succeed"
    )
    max_error_rate_percent: float | None = Field(
        default=5.0, ge=0, le=100, description="Highest share of Jira requests that fail (5xx, 429, network)"
    )
    max_memory_usage_bytes: int | None = Field(
        default=1024**3, gt=0, description="Highest resident memory (RSS) of the server process"
    )
    max_requests_per_second: float | None = Field(
        default=None, gt=0, description="Highest tool-call rate over the window"
    )
    max_redis_unavailable_seconds: float | None = Field(
        default=0.0, ge=0, description="Longest time the shared Redis (cache/ratelimit backend) may be unreachable"
    )

    # evaluation
    window_seconds: float = Field(default=300.0, gt=0, description="Sliding window the figures cover")
    latency_samples: int = Field(
        default=2048, ge=20, le=1_000_000, description="Latest calls in the window the p95 response time is taken over"
    )
    check_interval_seconds: float = Field(default=15.0, gt=0, description="How often the monitor evaluates")
    for_seconds: float = Field(default=60.0, ge=0, description="How long a condition must hold before it fires")
    min_samples: int = Field(
        default=10, ge=1, description="Fewest calls (or Jira requests) in the window for a rate or latency alert"
    )
    history_size: int = Field(default=100, ge=1, le=100_000, description="Alert changes kept for jiraplug://alerts")

    # sinks
    log: bool = Field(default=True, description="Log every alert change (logger jiraplug.alerting)")
    mcp_notifications: bool = Field(default=True, description="Send alert changes to connected MCP clients")
    webhook_url: SecretStr | None = Field(
        default=None, description="POST every alert change as JSON here (secret: such URLs often embed a token)"
    )
    webhook_token: SecretStr | None = Field(
        default=None, description="Sent as Authorization: Bearer to the webhook (secret; never in the body)"
    )
    webhook_timeout_seconds: float = Field(default=5.0, gt=0, le=300, description="Timeout of one webhook POST")
    webhook_retries: int = Field(default=3, ge=0, le=10, description="Retries after a failed webhook POST")
    webhook_backoff_seconds: float = Field(
        default=0.5, ge=0, le=60, description="First retry delay; doubles each retry, with jitter"
    )

    _off = field_validator(
        "max_response_time_ms",
        "min_success_rate_percent",
        "max_error_rate_percent",
        "max_memory_usage_bytes",
        "max_requests_per_second",
        "max_redis_unavailable_seconds",
        mode="before",
    )(_off_is_none)

    @field_validator("webhook_url", mode="before")
    @classmethod
    def _check_webhook_url(cls, value: Any) -> Any:
        value = _off_is_none(value)
        if value is None:
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        parts = urlsplit(text.strip())
        if parts.scheme not in ("http", "https") or not parts.hostname:
            # Do not echo the value: it may embed a token.
            raise ValueError("not an http(s) URL")
        return text.strip()
