"""The ``[pool]`` settings table."""

from __future__ import annotations

import importlib.util

from pydantic import Field, field_validator

from jiraplug.settings import PluginSettings


class PoolSettings(PluginSettings):
    """``[pool]``: connection limits toward Jira and the tool-call concurrency limit."""

    max_connections: int = Field(default=100, ge=1, le=10_000, description="Open connections toward Jira, in all")
    max_connections_per_host: int | None = Field(
        default=None, ge=1, description="Concurrent requests per host (none: only max_connections)"
    )
    max_keepalive_connections: int = Field(default=20, ge=0, description="Idle connections kept for reuse")
    # Under the 5 s idle timeout common to servers (uvicorn, many proxies): reusing a connection the
    # server is closing turns a write into an ambiguous failure.
    keepalive_expiry_seconds: float = Field(default=4.0, ge=0, description="How long an idle connection is kept")
    connect_timeout_seconds: float = Field(default=10.0, gt=0, description="Timeout to open a connection")
    read_timeout_seconds: float | None = Field(
        default=None, gt=0, description="Timeout between bytes of an answer (none: [jira] timeout_seconds)"
    )
    write_timeout_seconds: float | None = Field(
        default=None, gt=0, description="Timeout to send a request (none: [jira] timeout_seconds)"
    )
    pool_timeout_seconds: float = Field(default=30.0, gt=0, description="Longest wait for a free connection")
    http2: bool = Field(default=False, description="Offer HTTP/2 (negotiated over TLS; needs the h2 package)")
    max_concurrent_tasks: int = Field(default=32, ge=1, description="Tool calls served at once")
    # Calls are admitted to the queue by their expected wait (under queue_timeout_seconds); this is
    # only the hard bound on the queue's memory: two waiting calls for each of 500 busy sessions.
    queue_size: int = Field(
        default=1024, ge=0, description="Most tool calls waiting for a slot (a memory bound); beyond: busy error"
    )
    queue_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Longest wait in the queue; a call expected to wait longer is refused at once"
    )

    @field_validator("http2")
    @classmethod
    def _h2_installed(cls, value: bool) -> bool:
        if value and importlib.util.find_spec("h2") is None:
            raise ValueError("HTTP/2 needs the 'h2' package (pip install 'jiraplug[http2]')")
        return value
