"""The ``[cache]`` settings table."""

from __future__ import annotations

import re
from typing import Annotated, Any

from pydantic import BeforeValidator, Field

from jiraplug.redis_link import RedisOptions
from jiraplug.settings import PluginSettings

_UNITS = {"": 1, "b": 1, "kb": 1000, "mb": 1000**2, "gb": 1000**3, "kib": 1024, "mib": 1024**2, "gib": 1024**3}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$", re.IGNORECASE)


def parse_size(value: Any) -> Any:
    """Accept a byte count as an int or a string such as ``"64 MiB"`` / ``"500kb"``."""
    if not isinstance(value, str):
        return value
    if value.strip().lower() in {"", "none", "off"}:
        return None
    match = _SIZE.match(value)
    unit = match[2].lower() if match else None
    if match is None or unit not in _UNITS:
        raise ValueError(f"{value!r} is not a size; expected bytes such as 67108864, '64 MiB' or '500 kB'")
    return int(float(match[1]) * _UNITS[unit])


Size = Annotated[int | None, BeforeValidator(parse_size)]


class CacheSettings(PluginSettings, RedisOptions):
    """``[cache]``: capacity and lifetime of each cache layer, and where entries live.

    A layer with capacity 0 or TTL 0 is off. Entries are evicted least recently used first
    when a layer is full, and when ``max_bytes`` (all layers together) is exceeded. With
    ``backend = "redis"`` the ``api`` and ``config`` layers live in Redis (shared by every
    replica; capacity and ``max_bytes`` are then Redis's ``maxmemory``, TTLs still apply).
    """

    api_cache_capacity: int = Field(default=1000, ge=0, description="Raw read responses kept (entries)")
    api_cache_ttl_seconds: float = Field(default=60.0, ge=0, description="Lifetime of a raw read response")
    parsed_cache_capacity: int = Field(default=500, ge=0, description="Decoded JSON bodies kept (entries)")
    parsed_cache_ttl_seconds: float = Field(default=60.0, ge=0, description="Lifetime of a decoded body")
    config_cache_capacity: int = Field(
        default=200, ge=0, description="Metadata responses kept: fields, issue types, projects, boards..."
    )
    config_cache_ttl_seconds: float = Field(default=600.0, ge=0, description="Lifetime of a metadata response")
    not_found_ttl_seconds: float = Field(
        default=5.0, ge=0, le=30, description="How long a 404 answer is remembered (0: never)"
    )
    # A shared server's cached answers grow with the Jira data behind them (an issue with 80
    # comments is 20 times the bytes of a new one): a default budget keeps memory bounded.
    max_bytes: Size = Field(
        default=64 * 1024 * 1024, gt=0, description='Memory budget of all layers together ("none": no budget)'
    )
    max_entry_bytes: Size = Field(
        default=2 * 1024 * 1024, gt=0, description="Larger responses are passed through, not stored"
    )
