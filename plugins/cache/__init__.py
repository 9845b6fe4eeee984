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
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from jiraplug import hookimpl
from jiraplug.plugins.cache.config import CacheSettings
from jiraplug.plugins.cache.metrics import instruments, watch
from jiraplug.plugins.cache.middleware import CACHE_HEADER, ResponseCache
from jiraplug.plugins.cache.store import CacheStore, Entry, LayerConfig, LayerStats, MemoryStore

if TYPE_CHECKING:
    from jiraplug.jira.middleware import JiraMiddleware
    from jiraplug.registry import ResourceRegistry
    from jiraplug.runtime import Runtime
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

# One cache per running server, shared by every Jira client that server builds.
_caches: weakref.WeakKeyDictionary[Runtime, ResponseCache] = weakref.WeakKeyDictionary()


def cache_for(runtime: Runtime) -> ResponseCache | None:
    """The cache of ``runtime`` (``None`` before its Jira client is built, or with every layer off)."""
    return _caches.get(runtime)


def stats(runtime: Runtime | None = None) -> dict[str, Any] | None:
    """A snapshot of a cache: hits, misses, hit rate, entries, bytes, evictions per layer.

    ``runtime`` defaults to the runtime of the tool call being served, else the most
    recently built cache in the process. ``None`` when there is no cache.
    """
    if runtime is None:
        try:
            from jiraplug.toolcalls import current_call

            runtime = current_call().runtime
        except LookupError:
            live = list(_caches.values())
            return live[-1].snapshot() if live else None
    cache = _caches.get(runtime)
    return cache.snapshot() if cache is not None else None


@hookimpl
def plugin_settings() -> type[CacheSettings]:
    return CacheSettings


@hookimpl
def jira_request_middleware(runtime: Runtime) -> JiraMiddleware | None:
    """Outside every built-in middleware marked ``trylast`` (rate limit, pool, alerting), so a
    hit spends no rate-limit token, retry or connection slot; plugins registered after the
    built-ins (third-party ones) wrap the cache and see every request, hits included."""
    cache = _caches.get(runtime)
    if cache is None:
        settings: CacheSettings = runtime.settings.plugin_config(PLUGIN_NAME)
        if not any(layer.enabled for layer in _layer_switches(settings)):
            return None
        cache = ResponseCache(settings, instruments=instruments(runtime.telemetry.meter), timer=TIMER)
        watch(cache.store)
        _caches[runtime] = cache
    return cache.middleware


def _layer_switches(settings: CacheSettings) -> list[LayerConfig]:
    return [
        LayerConfig(settings.api_cache_capacity, settings.api_cache_ttl_seconds),
        LayerConfig(settings.config_cache_capacity, settings.config_cache_ttl_seconds),
    ]


@hookimpl
def register_resources(registry: ResourceRegistry, settings: Settings) -> None:
    def read() -> dict[str, Any]:
        """Live cache statistics: hit rate, entries, bytes and evictions per layer."""
        for runtime, cache in list(_caches.items()):
            if runtime.settings is settings:
                return {"enabled": True, **cache.snapshot()}
        config: CacheSettings = settings.plugin_config(PLUGIN_NAME)
        running = any(layer.enabled for layer in _layer_switches(config))
        return {"enabled": running, "reads": 0, "note": "no Jira request has been made yet" if running
                else "every cache layer is switched off in [cache]"}

    registry.add(RESOURCE_URI, read, name="cache", mime_type="application/json")
