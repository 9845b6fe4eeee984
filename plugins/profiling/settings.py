"""The ``[profiling]`` settings table."""

from __future__ import annotations

from pydantic import Field

from jiraplug.settings import PluginSettings


class ProfilingSettings(PluginSettings):
    """``[profiling]``: stage timings, memory tracking, timing report, on-demand profiles."""

    log_interval_seconds: float = Field(
        default=0.0, ge=0, description="Write the timing report to the log this often (0: never)"
    )
    latency_samples: int = Field(
        default=1000, ge=10, le=1_000_000, description="Latest calls per tool kept for p50/p95/p99"
    )
    tracemalloc: bool = Field(
        default=False, description="Track Python allocations with tracemalloc (costly; top allocations in the report)"
    )
    tracemalloc_frames: int = Field(default=1, ge=1, le=100, description="Frames kept per traced allocation")
    top_allocations: int = Field(default=10, ge=1, le=100, description="Allocation sites listed in the report")
    admin_tools: bool = Field(
        default=False, description="Offer the admin tool jiraplug_profile (on-demand sampling profile)"
    )
    max_profile_seconds: float = Field(default=60.0, gt=0, le=3600, description="Longest profile jiraplug_profile takes")
    profile_interval_ms: float = Field(default=1.0, gt=0, le=1000, description="Sampling interval of a profile")
