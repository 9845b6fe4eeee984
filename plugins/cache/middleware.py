"""The caching Jira request middleware: lookups, single flight, invalidation on writes.

Reads (GET, and POSTs marked read-only such as JQL search) are keyed by the credential's
fingerprint, method, URL (query sorted) and body. A hit is answered with a synthetic
``httpx2.Response`` built from the stored bytes, with a private copy of the decoded body
handed to the client under ``response.extensions[DECODED_KEY]`` so it skips parsing.

Writes (anything not read-only) evict what they touch before they are sent and again after
they finish (a read running concurrently may have re-filled an entry in between), detach
reads in flight so later readers do not join a request that started before the write, and
stop those reads from storing their (possibly pre-write) answers when the write names
something the answer is tagged with (:mod:`~jiraplug.plugins.cache.writelog`).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx2
from opentelemetry import trace

from jiraplug.jira.client import DECODED_KEY
from jiraplug.jira.middleware import RequestInfo, Send, request_info
from jiraplug.plugins.cache import tags as tagging
from jiraplug.plugins.cache.settings import CacheSettings
from jiraplug.plugins.cache.decoded import json_copy, json_size
from jiraplug.plugins.cache.metrics import CacheInstruments
from jiraplug.plugins.cache.redis_store import SharedCache
from jiraplug.plugins.cache.store import Entry, LayerConfig, MemoryStore
from jiraplug.plugins.cache.writelog import WriteLog
from jiraplug.stages import stage

log = logging.getLogger("jiraplug.plugins.cache")

CACHE_LOOKUP = "cache.lookup"
"""Profiling stage of a cache lookup (attribute ``hit``; see :mod:`jiraplug.stages`)."""

CACHE_HEADER = "x-jiraplug-cache"
"""Header on answers served by the cache: ``hit`` (stored) or ``shared`` (another read's request)."""

# Response headers worth replaying. Transport framing (length, encoding), cookies and
# rate-limit headers of the original answer must not be replayed.
_KEPT_HEADERS = ("content-type", "content-language", "etag", "last-modified")
_ENTRY_OVERHEAD = 200  # bytes of bookkeeping per entry (key, tags, headers), roughly


@dataclass(frozen=True)
class StoredResponse:
    """A response as the api/config layers keep it."""

    status: int
    headers: tuple[tuple[str, str], ...]
    content: bytes
    digest: str | None = None  # key of the decoded body in the parsed layer (JSON bodies only)


@dataclass
class _Flight:
    """The outcome a single-flight leader shares with its followers."""

    stored: StoredResponse
    decoded: Any = None
    has_decoded: bool = False


@dataclass
class CacheCounters:
    """Totals since the cache was built (the stats snapshot reads them)."""

    hits: dict[str, int] = field(default_factory=lambda: {"api": 0, "parsed": 0, "config": 0})
    misses: dict[str, int] = field(default_factory=lambda: {"api": 0, "parsed": 0, "config": 0})
    coalesced: int = 0
    fresh: int = 0
    writes: int = 0
    cleared_all: int = 0
    not_stored_after_write: int = 0


def layer_configs(settings: CacheSettings) -> dict[str, LayerConfig]:
    """The three layers' capacity and TTL from ``[cache]``."""
    return {
        "api": LayerConfig(settings.api_cache_capacity, settings.api_cache_ttl_seconds),
        "parsed": LayerConfig(settings.parsed_cache_capacity, settings.parsed_cache_ttl_seconds),
        "config": LayerConfig(settings.config_cache_capacity, settings.config_cache_ttl_seconds),
    }


def request_key(request: httpx2.Request, info: RequestInfo) -> str:
    """Cache key: credential fingerprint, method, URL with sorted query, Accept, body (hashed)."""
    url = request.url
    query = b"&".join(sorted(url.query.split(b"&")))
    h = hashlib.blake2b(digest_size=20)
    accept = request.headers.get("accept", "")
    for part in (info.credential, request.method.upper(), url.scheme, url.host, str(url.port or ""), url.path,
                 accept):
        h.update(part.encode())
        h.update(b"\0")
    h.update(query)
    h.update(b"\0")
    try:
        h.update(request.content)
    except httpx2.RequestNotRead:  # a streamed body: the request is keyed without it
        h.update(b"<stream>")
    return h.hexdigest()


def body_digest(content: bytes) -> str:
    """Key of a body in the parsed layer (identical bytes share one decoded body)."""
    return hashlib.blake2b(content, digest_size=20).hexdigest()


class ResponseCache:
    """The cache of one runtime: a store, single-flight bookkeeping, counters and metrics.

    ``store`` defaults to a :class:`MemoryStore` built from ``settings``; ``timer`` is the
    clock its TTLs use. Use :meth:`middleware` as the ``jira_request_middleware``.
    """

    def __init__(
        self,
        settings: CacheSettings,
        *,
        instruments: CacheInstruments | None = None,
        store: Any = None,
        timer: Callable[[], float] | None = None,
        shared: SharedCache | None = None,
    ) -> None:
        self.settings = settings
        self._instruments = instruments
        kwargs: dict[str, Any] = {"max_bytes": settings.max_bytes, "on_evict": self._evicted}
        if timer is not None:
            kwargs["timer"] = timer
        layers = layer_configs(settings)
        # With a shared backend only decoded bodies stay in process: they are keyed by the digest of the
        # bytes, so they cannot go stale.
        local = {"parsed": layers["parsed"]} if shared is not None else layers
        self.store = store if store is not None else MemoryStore(local, **kwargs)
        self.shared = shared
        self.counters = CacheCounters()
        self._parsed_on = layers["parsed"].enabled
        # key -> (the leader's answer, the write-log position it started at): a later read joins only
        # a flight that no write (on any replica) has overtaken.
        self._flights: dict[str, tuple[asyncio.Future[_Flight], Any]] = {}
        self._writes = WriteLog()  # a read that overlapped a write naming its tags does not store

    # ------------------------------------------------------------------ metrics

    def _evicted(self, layer: str, reason: str, count: int) -> None:
        if self._instruments is not None:
            self._instruments.evictions.add(count, {"layer": layer, "reason": reason})

    def _hit(self, layer: str) -> None:
        self.counters.hits[layer] += 1
        if self._instruments is not None:
            self._instruments.hits.add(1, {"layer": layer})

    def _miss(self, layer: str) -> None:
        self.counters.misses[layer] += 1
        if self._instruments is not None:
            self._instruments.misses.add(1, {"layer": layer})

    @staticmethod
    def _mark_span(hit: bool, layer: str, operation: str) -> None:
        span = trace.get_current_span()
        if span.is_recording():
            span.set_attribute("cache.hit", hit)
            span.add_event("jiraplug.cache.lookup", {"cache.hit": hit, "cache.layer": layer,
                                                     "jiraplug.jira.operation": operation})

    # --------------------------------------------------------------- middleware

    def middleware(self, send: Send) -> Send:
        """``wrap(send) -> send``: the ``jira_request_middleware`` of this cache."""

        async def cached_send(request: httpx2.Request) -> httpx2.Response:
            info = request_info(request)
            if not info.read_only:
                return await self._write(request, info, send)
            return await self._read(request, info, send)

        return cached_send

    async def _read(self, request: httpx2.Request, info: RequestInfo, send: Send) -> httpx2.Response:
        accept = request.headers.get("accept", "")
        if accept and "json" not in accept:
            return await send(request)  # binary downloads (attachments) pass through, never stored
        layer = tagging.read_layer(request, info)
        key = request_key(request, info)
        if info.fresh:
            # A caller asked for a new answer: skip the stored one, do not join a flight, refresh.
            self.counters.fresh += 1
            self._miss(layer)
            self._mark_span(False, layer, info.operation)
            since = await self.shared.mark() if self.shared is not None else self._writes.seq
            return await self._lead(key, layer, request, info, send, since, register=False)
        with stage(CACHE_LOOKUP, layer=layer) as lookup:
            if self.shared is not None:
                entry, since = await self.shared.lookup(layer, key)
            else:
                entry, since = await self.store.get(layer, key), self._writes.seq
            hit = lookup["hit"] = entry is not None
            if hit:
                self._hit(layer)
                response = await self._replay(entry.value, request, "hit", stored_at=entry.stored_at)
            else:
                self._miss(layer)
        self._mark_span(hit, layer, info.operation)
        if hit:
            return response
        return await self._single_flight(key, layer, request, info, send, since)

    async def _single_flight(
        self, key: str, layer: str, request: httpx2.Request, info: RequestInfo, send: Send, since: Any
    ) -> httpx2.Response:
        if since is None:
            # The shared write log cannot be read: nothing tells whether a flight started before a
            # write on another replica, so lead alone (and store nothing).
            return await self._lead(key, layer, request, info, send, since, register=False)
        while (found := self._flights.get(key)) is not None and found[1] == since:
            flight = found[0]
            try:
                shared = await asyncio.shield(flight)
            except asyncio.CancelledError:
                task = asyncio.current_task()
                if flight.cancelled() and not (task is not None and task.cancelling()):
                    continue  # the leader was cancelled, not us: try again (maybe as the new leader)
                raise
            self.counters.coalesced += 1
            if self._instruments is not None:
                self._instruments.coalesced.add(1, {"layer": layer})
            return self._from_flight(shared, request)
        return await self._lead(key, layer, request, info, send, since, register=True)

    async def _lead(
        self, key: str, layer: str, request: httpx2.Request, info: RequestInfo, send: Send, since: Any, *,
        register: bool
    ) -> httpx2.Response:
        """Send the request upstream, store a cacheable answer, and share it with followers.

        ``since`` is the write-log position when the read began (``None``: unknown, do not store).
        """
        flight: asyncio.Future[_Flight] = asyncio.get_running_loop().create_future()
        if register:
            self._flights[key] = (flight, since)
        try:
            try:
                response = await send(request)
                await response.aread()
            except asyncio.CancelledError:
                flight.cancel()
                raise
            except BaseException as exc:
                flight.set_exception(exc)
                flight.exception()  # retrieved: no "never retrieved" warning when nobody follows
                raise
            shared = await self._keep(key, layer, request, info, response, since)
            flight.set_result(shared)
            if shared.has_decoded:
                # The leader's caller gets its own copy; followers get theirs from `shared`.
                response.extensions[DECODED_KEY] = json_copy(shared.decoded)
            return response
        finally:
            if not flight.done():
                flight.cancel()
            found = self._flights.get(key)
            if found is not None and found[0] is flight:
                del self._flights[key]

    async def _keep(
        self, key: str, layer: str, request: httpx2.Request, info: RequestInfo, response: httpx2.Response, since: Any
    ) -> _Flight:
        """Store ``response`` if it may be cached; return what followers replay."""
        content = response.content
        headers = tuple((name, value) for name, value in response.headers.items() if name.lower() in _KEPT_HEADERS)
        status = response.status_code
        shared = _Flight(StoredResponse(status, headers, content))
        ok = 200 <= status < 300
        if not (ok or status == 404):
            return shared  # errors are shared with concurrent followers, never stored
        decoded_ok = False
        decoded: Any = None
        if ok and content and "json" in response.headers.get("content-type", ""):
            try:
                decoded = json.loads(content)
                decoded_ok = True
            except ValueError:
                return shared  # the client reports the bad body; do not keep it
        digest = body_digest(content) if decoded_ok else None
        stored = StoredResponse(status, headers, content, digest)
        shared = _Flight(stored, decoded, decoded_ok)
        size = len(content) + _ENTRY_OVERHEAD
        if self.settings.max_entry_bytes is not None and size > self.settings.max_entry_bytes:
            return shared
        path_tags, view = tagging.read_tags(request, info)
        entry_tags = set(path_tags)
        ttl: float | None = None
        if status == 404:
            entry_tags.add(tagging.NOT_FOUND)
            ttl = self.settings.not_found_ttl_seconds
            if ttl <= 0:
                return shared
        elif decoded_ok and not view:
            entry_tags |= tagging.body_tags(decoded, tagging.primary_kind(request))
        if not await self._store_read(layer, key, Entry(stored, size, frozenset(entry_tags), ttl), since):
            return shared
        if decoded_ok and digest is not None and self._parsed_on:
            await self.store.set("parsed", digest, Entry(decoded, json_size(decoded), frozenset()))
        return shared

    async def _store_read(self, layer: str, key: str, entry: Entry, since: Any) -> bool:
        """Store a read's answer unless a write that names one of its tags ran since it began."""
        if self.shared is not None:
            if since is None:
                return False  # Redis could not be asked when the read began: its freshness is unknown
            stored = await self.shared.store(layer, key, entry.value, entry.tags, entry.ttl, since)
            if not stored:
                self.counters.not_stored_after_write += 1
            return stored
        if self._writes.stales(since, entry.tags):
            self.counters.not_stored_after_write += 1  # a write on what it shows ran meanwhile
            return False
        await self.store.set(layer, key, entry)
        if self._writes.stales(since, entry.tags):
            # A store that awaits let a write run while this was being set.
            await self.store.delete(layer, key)
            self.counters.not_stored_after_write += 1
            return False
        return True

    async def _replay(
        self, stored: StoredResponse, request: httpx2.Request, how: str, *, stored_at: float | None = None
    ) -> httpx2.Response:
        """A fresh response object for a stored answer, with a private decoded body if known."""
        extensions: dict[str, Any] = {}
        if stored.digest is not None and self._parsed_on:
            parsed = await self.store.get("parsed", stored.digest)
            if parsed is not None:
                self._hit("parsed")
                extensions[DECODED_KEY] = json_copy(parsed.value)
            else:
                self._miss("parsed")
                try:
                    decoded = json.loads(stored.content)
                except ValueError:
                    decoded = None
                else:
                    await self.store.set("parsed", stored.digest, Entry(decoded, json_size(decoded), frozenset()))
                    extensions[DECODED_KEY] = json_copy(decoded)
        headers = [*stored.headers, (CACHE_HEADER, how)]
        if stored_at is not None and hasattr(self.store, "now"):
            headers.append(("age", str(max(0, int(self.store.now() - stored_at)))))
        return httpx2.Response(
            stored.status, headers=headers, content=stored.content, request=request, extensions=extensions
        )

    def _from_flight(self, shared: _Flight, request: httpx2.Request) -> httpx2.Response:
        extensions: dict[str, Any] = {}
        if shared.has_decoded:
            extensions[DECODED_KEY] = json_copy(shared.decoded)
        headers = [*shared.stored.headers, (CACHE_HEADER, "shared")]
        return httpx2.Response(
            shared.stored.status, headers=headers, content=shared.stored.content, request=request,
            extensions=extensions,
        )

    # ------------------------------------------------------------------- writes

    async def _write(self, request: httpx2.Request, info: RequestInfo, send: Send) -> httpx2.Response:
        evict = tagging.write_tags(request, info)
        self.counters.writes += 1
        if evict is None:
            self.counters.cleared_all += 1
            log.debug("%s %s (%s) names nothing the cache knows: clearing every entry",
                      request.method, request.url.path, info.operation)
        await self._invalidate(evict)
        response: httpx2.Response | None = None
        try:
            response = await send(request)
            return response
        finally:
            # Again after the write: reads that ran meanwhile may have stored pre-write answers.
            extra: set[str] = set()
            if response is not None and evict is not None and response.status_code < 300:
                try:
                    extra = tagging.response_issue_tags(response.content)
                except httpx2.ResponseNotRead:
                    extra = set()
            await self._invalidate(None if evict is None else evict | extra)

    async def _invalidate(self, evict: set[str] | None) -> None:
        self._writes.record(evict)
        self._flights.clear()  # later readers start a new request instead of joining an older one
        if self.shared is not None:
            await self.shared.invalidate(evict)  # every replica's entries; kept for later if Redis fails
            return
        if evict is None:
            await self.store.clear()
            return
        for tag in evict:
            await self.store.delete_by_tag(tag)

    # -------------------------------------------------------------------- stats

    async def clear(self) -> int:
        """Drop every entry (all layers, all credentials)."""
        self._writes.record(None)
        self._flights.clear()
        if self.shared is not None:
            await self.shared.invalidate(None)
        return await self.store.clear()

    def snapshot(self) -> dict[str, Any]:
        """Hits, misses, hit rate, entries, bytes and evictions per layer, and totals."""
        layers: dict[str, Any] = {}
        all_stats = {**self.store.stats(), **(self.shared.stats() if self.shared is not None else {})}
        for name, stats in all_stats.items():
            hits, misses = self.counters.hits[name], self.counters.misses[name]
            layers[name] = {
                "hits": hits,
                "misses": misses,
                "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
                "entries": stats.entries,
                "bytes": stats.bytes,
                "capacity": stats.capacity,
                "ttl_seconds": stats.ttl_seconds,
                "evictions": stats.evictions,
            }
        hits = self.counters.hits["api"] + self.counters.hits["config"]
        misses = self.counters.misses["api"] + self.counters.misses["config"]
        return {
            "reads": hits + misses,
            "hits": hits,
            "misses": misses,
            "hit_rate": round(hits / (hits + misses), 4) if hits + misses else None,
            "coalesced": self.counters.coalesced,
            "fresh_reads": self.counters.fresh,
            "writes": self.counters.writes,
            "cleared_by_unknown_writes": self.counters.cleared_all,
            "not_stored_after_write": self.counters.not_stored_after_write,
            "in_flight": len(self._flights),
            "max_bytes": self.settings.max_bytes,
            "bytes": sum(layer["bytes"] for layer in layers.values()),
            "layers": layers,
            "backend": self.shared.snapshot() if self.shared is not None else {"kind": "memory"},
        }
