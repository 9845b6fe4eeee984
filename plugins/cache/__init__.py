"""Built-in plugin ``cache``: multi-level caching of Jira reads, correct under writes.

Three layers (``[cache]`` settings, see :class:`CacheSettings`): raw answers of reads
(``api``), slow-changing metadata such as fields, issue types, projects, create-metadata,
link types and boards (``config``, longer TTL), and decoded JSON bodies shared by identical
answers (``parsed``). Keys carry the credential's fingerprint, so one user's answers are
never served to another. Writes made through this server evict what they touch; concurrent
identical misses share one upstream request; errors are not cached except 404s, briefly.
With ``backend = "redis"`` the answers live in Redis, shared by every replica, and writes
through any replica evict them everywhere (:mod:`.redis_store`).

The cache of a running server is ``state_of(runtime)``, whose ``snapshot()`` is what MCP
clients read at ``jiraplug://cache``. Details: ``docs/plugins/cache.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jiraplug import hookimpl
from jiraplug.plugins.cache.metrics import instruments, watch
from jiraplug.plugins.cache.middleware import CACHE_HEADER, CACHE_LOOKUP, ResponseCache, StoredResponse, layer_configs
from jiraplug.plugins.cache.redis_store import SharedCache
from jiraplug.plugins.cache.settings import CacheSettings
from jiraplug.plugins.cache.store import CacheStore, Entry, LayerConfig, LayerStats, MemoryStore
from jiraplug.redis_link import close_links, link_for

if TYPE_CHECKING:
    from jiraplug.jira.middleware import JiraMiddleware
    from jiraplug.server.registry import ResourceRegistry
    from jiraplug.runtime import Runtime

__all__ = [
    "CACHE_HEADER",
    "CACHE_LOOKUP",
    "CacheSettings",
    "CacheStore",
    "Entry",
    "LayerConfig",
    "LayerStats",
    "MemoryStore",
    "PLUGIN_NAME",
    "RESOURCE_URI",
    "ResponseCache",
    "state_of",
]

PLUGIN_NAME = "cache"
RESOURCE_URI = "jiraplug://cache"


def state_of(runtime: Runtime) -> ResponseCache | None:
    """The cache of ``runtime``, made on first use (``None`` with every layer switched off).

    One cache per running server, shared by every Jira client that server builds; its TTLs
    run on ``runtime.clock``.
    """
    settings: CacheSettings = runtime.settings.plugin_config(PLUGIN_NAME)
    if not any(layer.enabled for layer in _layer_switches(settings)):
        return None

    def build() -> ResponseCache:
        shared = None
        if settings.backend == "redis":
            shared = SharedCache(link_for(runtime, settings), layer_configs(settings), settings.key_prefix,
                                 make=StoredResponse, monotonic=runtime.clock.monotonic, wall=runtime.clock.time)
        cache = ResponseCache(settings, instruments=instruments(runtime.telemetry.meter),
                              timer=runtime.clock.monotonic, shared=shared)
        watch(cache.store)
        return cache

    return runtime.plugin_state(__name__, build)


@hookimpl
def plugin_settings() -> type[CacheSettings]:
    return CacheSettings


@hookimpl
def jira_request_middleware(runtime: Runtime) -> JiraMiddleware | None:
    """The outermost built-in (``BUILTIN_PLUGINS``), so a hit spends no alert sample,
    rate-limit token, retry or connection slot; third-party middleware wraps the cache (unless
    ``trylast``) and sees every request, hits included."""
    cache = state_of(runtime)
    return cache.middleware if cache is not None else None


def _layer_switches(settings: CacheSettings) -> list[LayerConfig]:
    return [
        LayerConfig(settings.api_cache_capacity, settings.api_cache_ttl_seconds),
        LayerConfig(settings.config_cache_capacity, settings.config_cache_ttl_seconds),
    ]


@hookimpl
def register_resources(registry: ResourceRegistry) -> None:
    def read(runtime: Runtime) -> dict[str, Any]:
        """Live cache statistics: hit rate, entries, bytes and evictions per layer."""
        cache = state_of(runtime)
        if cache is not None:
            return {"enabled": True, **cache.snapshot()}
        return {"enabled": False, "reads": 0, "note": "every cache layer is switched off in [cache]"}

    registry.add(RESOURCE_URI, read, name="cache", mime_type="application/json", operator_only=True)


@hookimpl
async def shutdown(runtime: Runtime) -> None:
    """Close the Redis connections of a shared cache (nothing to do in memory)."""
    await close_links(runtime)
