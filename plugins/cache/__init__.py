"""Built-in plugin ``cache``: multi-level caching of Jira reads, correct under writes.

Three layers (``[cache]`` settings, see :class:`CacheSettings`): raw answers of reads
(``api``), slow-changing metadata such as fields, issue types, projects, create-metadata,
link types and boards (``config``, longer TTL), and decoded JSON bodies shared by identical
answers (``parsed``). Keys carry the credential's fingerprint, so one user's answers are
never served to another. Writes made through this server evict what they touch; concurrent
identical misses share one upstream request; errors are not cached except 404s, briefly.

Other plugins read the live numbers with :func:`stats`; MCP clients read the resource
``jiraplug://cache``. Details: ``docs/plugins/cache.md``.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jiraplug import hookimpl
from jiraplug.plugins.cache.config import CacheSettings
from jiraplug.plugins.cache.metrics import instruments, watch
from jiraplug.plugins.cache.middleware import CACHE_HEADER, ResponseCache
from jiraplug.plugins.cache.store import CacheStore, Entry, LayerConfig, LayerStats, MemoryStore
from jiraplug.runtime import Runtime

if TYPE_CHECKING:
    from jiraplug.jira.middleware import JiraMiddleware
    from jiraplug.server.registry import ResourceRegistry
    from jiraplug.settings import Settings

__all__ = [
    "CACHE_HEADER",
    "CacheSettings",
    "CacheStore",
    "Entry",
    "LayerConfig",
    "LayerStats",
    "MemoryStore",
    "RESOURCE_URI",
    "ResponseCache",
    "cache_for",
    "stats",
]

PLUGIN_NAME = "cache"
RESOURCE_URI = "jiraplug://cache"

TIMER: Callable[[], float] = time.monotonic
"""The clock cache TTLs are measured with (read when a runtime's cache is built; tests replace it)."""

def cache_for(runtime: Runtime) -> ResponseCache | None:
    """The cache of ``runtime`` (``None`` before its Jira client is built, or with every layer off)."""
    return runtime.plugin_state(__name__)


def stats(runtime: Runtime | None = None) -> dict[str, Any] | None:
    """A snapshot of a cache: hits, misses, hit rate, entries, bytes, evictions per layer.

    ``runtime`` defaults to the runtime of the tool call being served, else the latest
    running one. ``None`` when there is no cache.
    """
    runtime = runtime or Runtime.serving()
    cache = cache_for(runtime) if runtime is not None else None
    return cache.snapshot() if cache is not None else None


@hookimpl
def plugin_settings() -> type[CacheSettings]:
    return CacheSettings


@hookimpl
def jira_request_middleware(runtime: Runtime) -> JiraMiddleware | None:
    """The outermost built-in (``BUILTIN_PLUGINS``), so a hit spends no alert sample,
    rate-limit token, retry or connection slot; third-party middleware wraps the cache (unless
    ``trylast``) and sees every request, hits included."""
    # One cache per running server, shared by every Jira client that server builds.
    settings: CacheSettings = runtime.settings.plugin_config(PLUGIN_NAME)
    if not any(layer.enabled for layer in _layer_switches(settings)):
        return None

    def build() -> ResponseCache:
        cache = ResponseCache(settings, instruments=instruments(runtime.telemetry.meter), timer=TIMER)
        watch(cache.store)
        return cache

    return runtime.plugin_state(__name__, build).middleware


def _layer_switches(settings: CacheSettings) -> list[LayerConfig]:
    return [
        LayerConfig(settings.api_cache_capacity, settings.api_cache_ttl_seconds),
        LayerConfig(settings.config_cache_capacity, settings.config_cache_ttl_seconds),
    ]


@hookimpl
def register_resources(registry: ResourceRegistry, settings: Settings) -> None:
    def read() -> dict[str, Any]:
        """Live cache statistics: hit rate, entries, bytes and evictions per layer."""
        runtime = Runtime.serving(settings)
        cache = cache_for(runtime) if runtime is not None else None
        if cache is not None:
            return {"enabled": True, **cache.snapshot()}
        config: CacheSettings = settings.plugin_config(PLUGIN_NAME)
        running = any(layer.enabled for layer in _layer_switches(config))
        return {"enabled": running, "reads": 0, "note": "no Jira request has been made yet" if running
                else "every cache layer is switched off in [cache]"}

    registry.add(RESOURCE_URI, read, name="cache", mime_type="application/json", operator_only=True)
