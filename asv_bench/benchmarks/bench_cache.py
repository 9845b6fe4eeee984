"""Cache family: the cache plugin's store (insert / lookup at 100, 1,000 and 10,000 entries)
and its Jira request middleware on the hit path.

``MemoryStore`` methods are coroutines that never await, so a sample runs 1,000 operations
on one event loop kept for the whole benchmark (no loop start-up inside the timing). Skipped
until the cache plugin exists.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from .common import optional_module, sandbox_samples

SIZES = [100, 1_000, 10_000]
OPS = 1_000


def _cache_module(name: str) -> Any:
    """A module of the cache plugin, or asv's skip when the plugin is not there yet."""
    return optional_module(f"jiraplug.plugins.cache.{name}")


class CacheStore:
    """``MemoryStore`` of the ``api`` layer holding ``entries`` live entries."""

    params = SIZES
    param_names = ["entries"]

    def setup(self, entries: int) -> None:
        store_mod = _cache_module("store")
        middleware_mod = _cache_module("middleware")
        self.Entry, self.LayerConfig, self.MemoryStore = store_mod.Entry, store_mod.LayerConfig, store_mod.MemoryStore
        body = b'{"key": "PLAT-1", "fields": {"summary": "x"}}' * 40  # ~2 KB, a small issue
        self.value = middleware_mod.StoredResponse(200, (("content-type", "application/json"),), body)
        self.loop = asyncio.new_event_loop()
        self.entries = entries
        self.keys = [f"key-{n:05d}" for n in range(entries)]
        self.store = self._new_store()
        self.loop.run_until_complete(self._fill(self.store, self.keys))
        # Hits cycle through the stored keys; misses use keys never stored.
        self.hit_keys = [self.keys[(n * 7919) % entries] for n in range(OPS)]
        self.miss_keys = [f"absent-{n}" for n in range(OPS)]
        self.new_keys = [f"new-{n}" for n in range(OPS)]
        got = self.loop.run_until_complete(self._lookups(self.hit_keys))
        if got != OPS:
            raise RuntimeError(f"only {got} of {OPS} lookups of stored keys hit")

    def teardown(self, entries: int) -> None:
        self.loop.close()

    def _new_store(self) -> Any:
        return self.MemoryStore({"api": self.LayerConfig(capacity=self.entries, ttl_seconds=3600.0)})

    def _entry(self, n: int) -> Any:
        return self.Entry(self.value, len(self.value.content) + 200, frozenset({f"issue:PLAT-{n}", "project:PLAT"}))

    async def _fill(self, store: Any, keys: list[str]) -> None:
        for n, key in enumerate(keys):
            await store.set("api", key, self._entry(n))

    async def _lookups(self, keys: list[str]) -> int:
        get = self.store.get
        found = 0
        for key in keys:
            found += (await get("api", key)) is not None
        return found

    def time_fill_empty_store(self, entries: int) -> None:
        """Insert ``entries`` entries into an empty store (per-entry cost: divide by entries)."""
        self.loop.run_until_complete(self._fill(self._new_store(), self.keys))

    def time_lookup_hit_x1000(self, entries: int) -> None:
        self.loop.run_until_complete(self._lookups(self.hit_keys))

    def time_lookup_miss_x1000(self, entries: int) -> None:
        self.loop.run_until_complete(self._lookups(self.miss_keys))

    def time_insert_when_full_x1000(self, entries: int) -> None:
        """1,000 inserts into the full store: each evicts the least recently used entry."""
        self.loop.run_until_complete(self._fill(self.store, self.new_keys))

    def track_bytes_per_entry(self, entries: int) -> float:
        import tracemalloc

        tracemalloc.start()
        before = tracemalloc.get_traced_memory()[0]
        store = self._new_store()
        self.loop.run_until_complete(self._fill(store, self.keys))
        after = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        return (after - before) / entries  # the shared 2 KB value itself is not counted

    track_bytes_per_entry.unit = "bytes"  # type: ignore[attr-defined]


class CacheMiddleware:
    """The cache plugin's ``jira_request_middleware`` in a real ``JiraClient``, hit and miss paths.

    The client's transport is an in-memory ``MockTransport`` answering a real sandbox issue
    (9 KB of JSON) and counting requests, so the figures are the client plus the middleware:
    key hashing, store lookup, replaying the response and handing over a private copy of the
    decoded body (hit); single flight, decoding, tagging and storing (miss). The same client
    without the cache is the baseline.
    """

    def setup_cache(self) -> dict[str, bytes]:
        return sandbox_samples()

    def setup(self, data: dict[str, bytes]) -> None:
        import httpx2

        from jiraplug.jira.auth import JiraAuth
        from jiraplug.jira.client import Deployment, JiraClient

        middleware_mod = _cache_module("middleware")  # it imports CacheSettings, whichever module holds it
        body = data["issue"]
        self.upstream_calls = 0

        def answer(request: httpx2.Request) -> httpx2.Response:
            self.upstream_calls += 1
            return httpx2.Response(200, content=body, headers={"content-type": "application/json"})

        def client(cache: Any, auth: Any = JiraAuth.bearer("not-a-secret")) -> Any:
            base = "https://jira.example.test"
            return JiraClient(
                httpx2.AsyncClient(base_url=base, transport=httpx2.MockTransport(answer)),
                base_url=base, deployment=Deployment.CLOUD, auth=auth,
                middlewares=[("cache", cache.middleware)] if cache is not None else [],
            )

        self.make_client = client
        self.JiraAuth = JiraAuth
        self.hit_client = client(middleware_mod.ResponseCache(middleware_mod.CacheSettings()))
        self.bare_client = client(None)
        # Misses: 1,000 distinct issues, with a new credential every sample so each request
        # misses; the layer holds one sample's worth, so inserts evict as in steady state.
        self.miss_cache = middleware_mod.ResponseCache(middleware_mod.CacheSettings(api_cache_capacity=OPS))
        self.samples = 0
        self.hot = [f"PLAT-{1 + n % 50}" for n in range(OPS)]  # 50 hot issues, 20 reads each
        self.distinct = [f"PLAT-{n + 1}" for n in range(OPS)]
        self.loop = asyncio.new_event_loop()
        self.loop.run_until_complete(self._get_all(self.hit_client, self.hot))  # warm
        before = self.upstream_calls
        self.loop.run_until_complete(self._get_all(self.hit_client, self.hot))
        if self.upstream_calls != before:
            raise RuntimeError(f"the warm cache sent {self.upstream_calls - before} requests upstream")

    def teardown(self, data: dict[str, bytes]) -> None:
        self.loop.close()

    @staticmethod
    async def _get_all(client: Any, keys: list[str]) -> None:
        for key in keys:
            await client.get_issue(key, fields=["summary", "status", "description"])

    def time_hit_x1000(self, data: dict[str, bytes]) -> None:
        self.loop.run_until_complete(self._get_all(self.hit_client, self.hot))

    def time_miss_and_store_x1000(self, data: dict[str, bytes]) -> None:
        self.samples += 1
        client = self.make_client(self.miss_cache, self.JiraAuth.bearer(f"sample-{self.samples}"))
        self.loop.run_until_complete(self._get_all(client, self.distinct))

    def time_no_cache_x1000(self, data: dict[str, bytes]) -> None:
        """The same 1,000 reads through the client without the cache: the baseline."""
        self.loop.run_until_complete(self._get_all(self.bare_client, self.hot))
