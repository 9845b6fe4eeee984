"""Where cached entries live: the :class:`CacheStore` seam and its in-process implementation.

The middleware talks to a store only through :class:`CacheStore`, an async protocol, so a
shared backend (Redis, memcached) can replace :class:`MemoryStore` later without touching
the caching logic. Entries are grouped in named *layers* (``api``, ``parsed``, ``config``),
each with its own capacity and TTL, and carry *tags* (``issue:PROJ-1``, ``views``...) so a
write can evict everything it touches in one call.

:class:`MemoryStore` is built on cachetools' ``TLRUCache`` (per-entry expiry plus least
recently used eviction). cachetools is not thread-safe: use one store from one event loop
(each method runs to completion without awaiting, so tasks never see a half-done update).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from cachetools import TLRUCache

LAYERS = ("api", "parsed", "config")

EvictionListener = Callable[[str, str, int], None]
"""Called with (layer, reason, count) when entries leave a layer other than by a ``set`` of the same key."""


@dataclass(frozen=True)
class Entry:
    """One cached value. ``size`` is its approximate memory footprint in bytes."""

    value: Any
    size: int
    tags: frozenset[str] = frozenset()
    ttl: float | None = None  # None: the layer's TTL
    stored_at: float = 0.0


@dataclass(frozen=True)
class LayerConfig:
    """Capacity (entries) and TTL (seconds) of one layer; either at 0 switches the layer off."""

    capacity: int
    ttl_seconds: float

    @property
    def enabled(self) -> bool:
        return self.capacity > 0 and self.ttl_seconds > 0


@dataclass
class LayerStats:
    """A snapshot of one layer."""

    entries: int
    bytes: int
    capacity: int
    ttl_seconds: float
    evictions: dict[str, int] = field(default_factory=dict)


@runtime_checkable
class CacheStore(Protocol):
    """What the cache middleware needs from a storage backend.

    Keys are strings; ``layer`` is one of :data:`LAYERS`. Implementations decide how to keep
    ``Entry.value`` (a shared backend would serialise it: raw responses are bytes and
    headers, decoded bodies are JSON data).
    """

    async def get(self, layer: str, key: str) -> Entry | None:
        """The live entry under ``key``, or ``None`` (missing or expired)."""

    async def set(self, layer: str, key: str, entry: Entry) -> bool:
        """Store ``entry`` (replacing any); ``False`` when it was not stored (too big, layer off)."""

    async def delete(self, layer: str, key: str) -> bool:
        """Remove one entry; whether it was there."""

    async def delete_by_tag(self, tag: str) -> int:
        """Remove every entry of every layer carrying ``tag``; how many were removed."""

    async def clear(self, layer: str | None = None) -> int:
        """Remove every entry (of ``layer``, or of all layers); how many were removed."""

    def stats(self) -> dict[str, LayerStats]:
        """Entries, bytes and evictions per layer (cheap; safe to call from a metrics callback)."""


class _Layer(TLRUCache):  # type: ignore[type-arg]
    """A TLRUCache that reports every entry it drops on its own (expiry, capacity)."""

    def __init__(self, name: str, config: LayerConfig, timer: Callable[[], float],
                 on_drop: Callable[[str, Hashable, Entry, str], None]) -> None:
        super().__init__(maxsize=max(config.capacity, 1), ttu=self._expires_at, timer=timer)
        self.name = name
        self.config = config
        self._on_drop = on_drop
        self.drop_reason = "capacity"

    def _expires_at(self, _key: Hashable, entry: Entry, now: float) -> float:
        return now + (self.config.ttl_seconds if entry.ttl is None else min(entry.ttl, self.config.ttl_seconds))

    def expire(self, time: float | None = None) -> list[tuple[Hashable, Entry]]:
        expired = super().expire(time)
        for key, entry in expired:
            self._on_drop(self.name, key, entry, "expired")
        return expired

    def popitem(self) -> tuple[Hashable, Entry]:
        key, entry = super().popitem()
        self._on_drop(self.name, key, entry, self.drop_reason)
        return key, entry


class MemoryStore:
    """In-process :class:`CacheStore`: one cachetools ``TLRUCache`` per layer, a tag index,
    and an optional byte budget over all layers together (see :meth:`_enforce_budget`).

    ``timer`` (default ``time.monotonic``) is the clock TTLs are measured against; pass a
    fake one in tests. ``on_evict`` hears about entries that left a layer (for metrics).
    """

    def __init__(
        self,
        layers: dict[str, LayerConfig],
        *,
        max_bytes: int | None = None,
        timer: Callable[[], float] = time.monotonic,
        on_evict: EvictionListener | None = None,
    ) -> None:
        unknown = set(layers) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown cache layer(s) {sorted(unknown)}; expected some of {list(LAYERS)}")
        if max_bytes is not None and max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive or None, got {max_bytes!r}")
        self._timer = timer
        self._layers = {name: _Layer(name, cfg, timer, self._dropped) for name, cfg in layers.items()}
        self._max_bytes = max_bytes
        self._bytes: Counter[str] = Counter()
        self._tags: dict[str, set[tuple[str, Hashable]]] = {}
        self._evictions: dict[str, Counter[str]] = {name: Counter() for name in layers}
        self._on_evict = on_evict

    @property
    def max_bytes(self) -> int | None:
        return self._max_bytes

    def now(self) -> float:
        """The store's clock."""
        return self._timer()

    # ------------------------------------------------------------- bookkeeping

    def _dropped(self, layer: str, key: Hashable, entry: Entry, reason: str) -> None:
        self._untrack(layer, key, entry)
        self._evictions[layer][reason] += 1
        if self._on_evict is not None:
            self._on_evict(layer, reason, 1)

    def _track(self, layer: str, key: Hashable, entry: Entry) -> None:
        self._bytes[layer] += entry.size
        for tag in entry.tags:
            self._tags.setdefault(tag, set()).add((layer, key))

    def _untrack(self, layer: str, key: Hashable, entry: Entry) -> None:
        self._bytes[layer] -= entry.size
        for tag in entry.tags:
            members = self._tags.get(tag)
            if members is not None:
                members.discard((layer, key))
                if not members:
                    del self._tags[tag]

    def _layer(self, layer: str) -> _Layer | None:
        if layer not in LAYERS:
            raise ValueError(f"unknown cache layer {layer!r}; expected one of {list(LAYERS)}")
        found = self._layers.get(layer)
        return found if found is not None and found.config.enabled else None

    def _remove(self, layer: _Layer, key: Hashable, reason: str | None) -> bool:
        """Remove ``key`` from ``layer`` whether or not it has expired; count it under ``reason``."""
        try:
            entry = layer.pop(key)
        except KeyError:
            return False
        if reason is None:
            self._untrack(layer.name, key, entry)
        else:
            self._dropped(layer.name, key, entry, reason)
        return True

    # ---------------------------------------------------------------- protocol

    async def get(self, layer: str, key: str) -> Entry | None:
        """The live entry under ``key`` in ``layer`` (refreshes its LRU position)."""
        cache = self._layer(layer)
        if cache is None:
            return None
        cache.expire()
        return cache.get(key)

    async def set(self, layer: str, key: str, entry: Entry) -> bool:
        """Store ``entry``; evict least recently used entries for capacity and the byte budget."""
        cache = self._layer(layer)
        if cache is None or (self._max_bytes is not None and entry.size > self._max_bytes):
            return False
        if entry.ttl is not None and entry.ttl <= 0:
            return False
        cache.expire()
        self._remove(cache, key, None)
        if not entry.stored_at:
            entry = Entry(entry.value, entry.size, entry.tags, entry.ttl, self._timer())
        cache[key] = entry  # may pop least recently used entries (reported as "capacity")
        self._track(layer, key, entry)
        self._enforce_budget(cache)
        return True

    def _enforce_budget(self, written: _Layer) -> None:
        """Evict least recently used entries until under ``max_bytes``, never the one just written.

        Decoded bodies go first (re-decoding is cheap), then raw answers, then metadata.
        """
        if self._max_bytes is None:
            return
        for name in ("parsed", "api", "config"):
            cache = self._layers.get(name)
            if cache is None:
                continue
            keep = 1 if cache is written else 0  # the new entry is its layer's most recent
            cache.drop_reason = "bytes"
            try:
                while self.total_bytes() > self._max_bytes and len(cache) > keep:
                    cache.popitem()
            finally:
                cache.drop_reason = "capacity"
            if self.total_bytes() <= self._max_bytes:
                return

    async def delete(self, layer: str, key: str) -> bool:
        """Remove one entry (counted as an ``invalidated`` eviction)."""
        cache = self._layers.get(layer)
        return cache is not None and self._remove(cache, key, "invalidated")

    async def delete_by_tag(self, tag: str) -> int:
        """Remove every entry carrying ``tag``."""
        removed = 0
        for layer, key in list(self._tags.get(tag, ())):
            removed += self._remove(self._layers[layer], key, "invalidated")
        return removed

    async def clear(self, layer: str | None = None) -> int:
        """Remove everything (of one layer, or all)."""
        removed = 0
        for cache in self._layers.values():
            if layer is None or cache.name == layer:
                cache.expire()
                for key in list(cache.keys()):
                    removed += self._remove(cache, key, "invalidated")
        return removed

    def stats(self) -> dict[str, LayerStats]:
        """Per-layer entries, bytes, configuration and evictions by reason.

        Entries not yet noticed as expired still count; safe to call from a metrics thread.
        """
        return {
            name: LayerStats(
                entries=len(cache) if cache.config.enabled else 0,
                bytes=self._bytes[name],
                capacity=cache.config.capacity,
                ttl_seconds=cache.config.ttl_seconds,
                evictions=dict(self._evictions[name]),
            )
            for name, cache in self._layers.items()
        }

    def total_bytes(self) -> int:
        """Bytes held by all layers together."""
        return sum(self._bytes.values())
