"""Unit tests of the cache plugin's parts: the store (TTL, LRU, byte budget, tags), the tagging
rules, and single flight under failure and cancellation (with a scripted upstream)."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest

from jiraplug.jira.client import DECODED_KEY
from jiraplug.jira.middleware import EXTENSION_KEY, RequestInfo
from jiraplug.plugins.cache import tags as tagging
from jiraplug.plugins.cache.settings import CacheSettings
from jiraplug.plugins.cache.decoded import json_copy, json_size
from jiraplug.plugins.cache.middleware import ResponseCache
from jiraplug.plugins.cache.store import CacheStore, Entry, LayerConfig, MemoryStore


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def make_store(clock: FakeClock, **kw: Any) -> MemoryStore:
    layers = {
        "api": LayerConfig(kw.pop("api", 3), kw.pop("api_ttl", 60)),
        "parsed": LayerConfig(kw.pop("parsed", 3), 60),
        "config": LayerConfig(kw.pop("config", 3), kw.pop("config_ttl", 600)),
    }
    return MemoryStore(layers, timer=clock, **kw)


# --------------------------------------------------------------------------- store


@pytest.mark.anyio
async def test_store_entries_expire_by_layer_ttl_and_by_their_own_shorter_ttl() -> None:
    clock = FakeClock()
    store = make_store(clock)
    assert isinstance(store, CacheStore)
    await store.set("api", "a", Entry("A", 10))
    await store.set("api", "nf", Entry("404", 10, ttl=5))
    await store.set("config", "c", Entry("C", 10))
    clock.advance(5)
    assert (await store.get("api", "a")).value == "A"
    assert await store.get("api", "nf") is None  # its own 5 s TTL
    clock.advance(56)
    assert await store.get("api", "a") is None  # the api layer's 60 s
    assert (await store.get("config", "c")).value == "C"  # config lives 600 s
    stats = store.stats()
    assert stats["api"].evictions == {"expired": 2}
    assert stats["api"].entries == 0 and stats["api"].bytes == 0


@pytest.mark.anyio
async def test_store_evicts_least_recently_used_when_full() -> None:
    store = make_store(FakeClock(), api=2)
    await store.set("api", "a", Entry(1, 10))
    await store.set("api", "b", Entry(2, 10))
    assert await store.get("api", "a") is not None  # a is now the most recently used
    await store.set("api", "c", Entry(3, 10))
    assert await store.get("api", "b") is None
    assert await store.get("api", "a") is not None and await store.get("api", "c") is not None
    assert store.stats()["api"].evictions == {"capacity": 1}


@pytest.mark.anyio
async def test_byte_budget_bounds_memory_whatever_the_entry_count() -> None:
    store = make_store(FakeClock(), api=100, parsed=100, max_bytes=1000)
    for i in range(10):
        assert await store.set("api", f"k{i}", Entry(i, 300))
        assert store.total_bytes() <= 1000
    assert store.stats()["api"].entries == 3
    assert store.stats()["api"].evictions["bytes"] == 7
    assert (await store.get("api", "k9")).value == 9  # the newest survive
    assert not await store.set("api", "huge", Entry("x", 1001))  # bigger than the whole budget
    # Other layers give way for a new entry; the entry just written is never the victim.
    await store.set("parsed", "p", Entry("p", 900))
    assert store.total_bytes() <= 1000 and (await store.get("parsed", "p")) is not None
    assert store.stats()["api"].entries == 0
    await store.set("api", "a", Entry("a", 200))  # decoded bodies give way first
    assert (await store.get("api", "a")) is not None and store.stats()["parsed"].entries == 0


@pytest.mark.anyio
async def test_tags_evict_across_layers_and_leave_no_index_behind() -> None:
    clock = FakeClock()
    store = make_store(clock)
    await store.set("api", "issue", Entry(1, 10, frozenset({"issue:PLAT-1", "issue"})))
    await store.set("api", "search", Entry(2, 10, frozenset({"views"})))
    await store.set("config", "meta", Entry(3, 10, frozenset({"project:PLAT"})))
    assert await store.delete_by_tag("issue:PLAT-1") == 1
    assert await store.get("api", "issue") is None and await store.get("api", "search") is not None
    assert await store.delete_by_tag("project:PLAT") == 1
    clock.advance(61)  # the search expires: its tag must go with it
    assert await store.get("api", "search") is None
    assert store._tags == {}
    assert await store.clear() == 0


@pytest.mark.anyio
async def test_a_switched_off_layer_stores_nothing() -> None:
    store = make_store(FakeClock(), api=0)
    assert not await store.set("api", "a", Entry(1, 1))
    assert await store.get("api", "a") is None
    with pytest.raises(ValueError, match="unknown cache layer"):
        await store.get("nope", "a")


def test_decoded_copies_are_private_and_sized() -> None:
    body = {"fields": {"labels": ["a"], "summary": "s"}, "n": 1}
    copy = json_copy(body)
    copy["fields"]["labels"].append("b")
    assert body["fields"]["labels"] == ["a"]
    assert json_size(body) > json_size({"n": 1})


def test_sizes_accept_units_and_reject_nonsense() -> None:
    assert CacheSettings(max_bytes="64 MiB").max_bytes == 64 * 1024 * 1024
    assert CacheSettings(max_bytes="500kb").max_bytes == 500_000
    with pytest.raises(ValueError, match="not a size"):
        CacheSettings(max_bytes="lots")


# ------------------------------------------------------------------------ tagging


def req(method: str, path: str, body: Any = None, *, touches: tuple[str, ...] = (), read_only: bool | None = None,
        operation: str = "test.op") -> httpx2.Request:
    request = httpx2.Request(method, "http://jira.test" + path, json=body)
    ro = method == "GET" if read_only is None else read_only
    request.extensions[EXTENSION_KEY] = RequestInfo(operation, idempotent=ro, read_only=ro, credential="c1",
                                                    touches=touches)
    return request


def info_of(request: httpx2.Request) -> RequestInfo:
    return request.extensions[EXTENSION_KEY]


@pytest.mark.parametrize(
    ("path", "layer"),
    [
        ("/rest/api/3/field", "config"),
        ("/rest/api/2/issuetype", "config"),
        ("/rest/api/3/project/PLAT", "config"),
        ("/rest/api/3/issue/createmeta/PLAT/issuetypes", "config"),
        ("/rest/api/3/issueLinkType", "config"),
        ("/rest/agile/1.0/board", "config"),
        ("/rest/agile/1.0/board/7", "config"),
        ("/rest/agile/1.0/board/7/issue", "api"),
        ("/rest/agile/1.0/board/7/sprint", "api"),
        ("/rest/api/3/issue/PLAT-1", "api"),
        ("/rest/api/3/search/jql", "api"),
        ("/jira/rest/api/2/field", "config"),  # a context path before /rest
    ],
)
def test_metadata_reads_go_to_the_config_layer(path: str, layer: str) -> None:
    request = req("GET", path)
    assert tagging.read_layer(request, info_of(request)) == layer


def test_reads_are_tagged_by_path_and_body() -> None:
    request = req("GET", "/rest/api/3/issue/10001")
    tags, view = tagging.read_tags(request, info_of(request))
    assert {"issue:10001", "issue", "cred:c1"} <= tags and not view
    body = {"id": "10001", "key": "PLAT-1", "fields": {"parent": {"id": "10000", "key": "PLAT-9"},
                                                    "subtasks": [{"id": "10002", "key": "PLAT-2"}]}}
    assert {"issue:PLAT-1", "issue:PLAT-9", "issue:10000", "issue:PLAT-2"} <= tagging.body_tags(body, "issue")
    huge = {"key": "PLAT-1", "id": "1", "fields": {"comment": [{"n": i} for i in range(60_000)]}}
    assert "views" in tagging.body_tags(huge, "issue")  # not fully walked: any issue change evicts it
    search = req("POST", "/rest/api/3/search/jql", {"jql": "x"}, read_only=True)
    assert tagging.read_tags(search, info_of(search))[1] is True
    board = req("GET", "/rest/agile/1.0/board/7/sprint")
    assert {"board:7", "board", "sprint"} <= tagging.read_tags(board, info_of(board))[0]


# Every write evicts issue lists, remembered 404s and reads under an issue addressed by id.
EVERY_WRITE = {"views", "notfound", "issuepart-by-id"}


def test_issue_writes_evict_the_issue_lists_and_404s_but_not_every_issue() -> None:
    for method, path, body in [
        ("PUT", "/rest/api/3/issue/PLAT-1", {"fields": {"summary": "x"}}),
        ("POST", "/rest/api/3/issue/PLAT-1/comment", {"body": "hi"}),
        ("POST", "/rest/api/3/issue/PLAT-1/transitions", {"transition": {"id": "31"}}),
        ("POST", "/rest/api/3/issue/PLAT-1/worklog", {"timeSpentSeconds": 60}),
        ("DELETE", "/rest/api/3/issue/PLAT-1/comment/10005", None),
    ]:
        request = req(method, path, body)
        assert tagging.write_tags(request, info_of(request)) == {"issue:PLAT-1", *EVERY_WRITE}, path


def test_other_writes_are_tagged_conservatively() -> None:
    move = req("POST", "/rest/agile/1.0/sprint/12/issue", {"issues": ["PLAT-1", "PLAT-2"]})
    assert tagging.write_tags(move, info_of(move)) == {"sprint:12", "issue:PLAT-1", "issue:PLAT-2", *EVERY_WRITE}
    rename = req("PUT", "/rest/agile/1.0/sprint/12", {"name": "S2"})
    assert "issue" in tagging.write_tags(rename, info_of(rename))  # issues show their sprint
    create = req("POST", "/rest/api/3/issue", {"fields": {"parent": {"key": "PLAT-1"}}})
    assert tagging.write_tags(create, info_of(create)) == {"issue:PLAT-1", *EVERY_WRITE}
    unlink = req("DELETE", "/rest/api/3/issueLink/10010")
    assert "issue" in tagging.write_tags(unlink, info_of(unlink))  # which issues: unknown
    named = req("DELETE", "/rest/api/3/issueLink/10010", touches=("issue:PLAT-1", "issue:PLAT-2"))
    assert "issue" not in tagging.write_tags(named, info_of(named))
    link = req("POST", "/rest/api/3/issueLink", {"type": {"name": "Blocks"}, "inwardIssue": {"key": "PLAT-1"},
                                                 "outwardIssue": {"key": "OPS-2"}})
    assert tagging.write_tags(link, info_of(link)) == {"issue:PLAT-1", "issue:OPS-2", *EVERY_WRITE}
    fields = req("POST", "/rest/api/3/something", touches=("field:*",))
    assert {"field", "issue", "views"} <= tagging.write_tags(fields, info_of(fields))
    unknown = req("POST", "/rest/api/3/something/else")
    assert tagging.write_tags(unknown, info_of(unknown)) is None


# ------------------------------------------------------------------- single flight


class Upstream:
    """A scripted ``send``: each call waits for ``release`` then answers or raises."""

    def __init__(self, answer: Any = None) -> None:
        self.calls = 0
        self.release = asyncio.Event()
        self.started = asyncio.Event()
        self.answer = answer

    async def __call__(self, request: httpx2.Request) -> httpx2.Response:
        self.calls += 1
        self.started.set()
        await self.release.wait()
        if isinstance(self.answer, BaseException):
            raise self.answer
        body = json.dumps({"key": "PLAT-1", "id": "1", "n": self.calls}).encode()
        return httpx2.Response(200, headers={"content-type": "application/json"}, content=body, request=request)


def cache_send(upstream: Upstream) -> Any:
    return ResponseCache(CacheSettings()).middleware(upstream)


@pytest.mark.anyio
async def test_concurrent_misses_share_one_request_and_each_caller_gets_its_own_body() -> None:
    upstream = Upstream()
    send = cache_send(upstream)
    tasks = [asyncio.create_task(send(req("GET", "/rest/api/3/issue/PLAT-1"))) for _ in range(5)]
    await upstream.started.wait()
    upstream.release.set()
    responses = await asyncio.gather(*tasks)
    assert upstream.calls == 1
    bodies = [r.extensions[DECODED_KEY] for r in responses]
    assert all(b == {"key": "PLAT-1", "id": "1", "n": 1} for b in bodies)
    assert len({id(b) for b in bodies}) == 5  # private copies
    assert sorted(r.headers.get("x-jiraplug-cache", "leader") for r in responses) == ["leader"] + ["shared"] * 4


@pytest.mark.anyio
async def test_an_upstream_failure_reaches_every_waiter_and_is_not_cached() -> None:
    upstream = Upstream(httpx2.ConnectError("refused"))
    send = cache_send(upstream)
    tasks = [asyncio.create_task(send(req("GET", "/rest/api/3/issue/PLAT-1"))) for _ in range(3)]
    await upstream.started.wait()
    upstream.release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert all(isinstance(r, httpx2.ConnectError) for r in results) and upstream.calls == 1
    upstream.answer = None
    await send(req("GET", "/rest/api/3/issue/PLAT-1"))
    assert upstream.calls == 2


@pytest.mark.anyio
async def test_a_cancelled_leader_does_not_wedge_its_followers() -> None:
    upstream = Upstream()
    send = cache_send(upstream)
    leader = asyncio.create_task(send(req("GET", "/rest/api/3/issue/PLAT-1")))
    await upstream.started.wait()
    followers = [asyncio.create_task(send(req("GET", "/rest/api/3/issue/PLAT-1"))) for _ in range(3)]
    await asyncio.sleep(0)
    leader.cancel()
    upstream.started.clear()
    await upstream.started.wait()  # a follower took over and asked upstream again
    upstream.release.set()
    responses = await asyncio.wait_for(asyncio.gather(*followers), 5)
    assert leader.cancelled()
    assert upstream.calls == 2 and all(r.status_code == 200 for r in responses)


@pytest.mark.anyio
async def test_a_write_detaches_reads_in_flight_and_stops_them_from_storing() -> None:
    upstream = Upstream()
    cache = ResponseCache(CacheSettings())
    send = cache.middleware(upstream)
    before = asyncio.create_task(send(req("GET", "/rest/api/3/issue/PLAT-1")))
    await upstream.started.wait()

    async def write(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(204, request=request)

    await cache.middleware(write)(req("PUT", "/rest/api/3/issue/PLAT-1", {"fields": {}}))
    after = asyncio.create_task(send(req("GET", "/rest/api/3/issue/PLAT-1")))  # must not join `before`
    upstream.release.set()
    await asyncio.gather(before, after)
    assert upstream.calls == 2
    assert cache.counters.not_stored_after_write == 1
    await send(req("GET", "/rest/api/3/issue/PLAT-1"))  # `after` started after the write: it was stored
    assert upstream.calls == 2


@pytest.mark.parametrize(
    ("written", "stored"),
    [("PLAT-2", True),  # an unrelated issue: the read's answer still holds
     ("PLAT-9", False),  # the issue PLAT-1 links to: its answer shows PLAT-9
     ("PLAT-1", False)],
)
@pytest.mark.anyio
async def test_a_read_is_stored_unless_a_write_meanwhile_names_what_it_shows(written: str, stored: bool) -> None:
    """On a shared server some write is always running: only the ones that touch the answer count."""
    release = asyncio.Event()
    calls = 0

    async def upstream(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        await release.wait()
        body = {"key": "PLAT-1", "id": "1", "fields": {"issuelinks": [{"outwardIssue": {"key": "PLAT-9", "id": "9"}}]}}
        return httpx2.Response(200, headers={"content-type": "application/json"}, json=body, request=request)

    async def write(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(204, request=request)

    cache = ResponseCache(CacheSettings())
    read = asyncio.create_task(cache.middleware(upstream)(req("GET", "/rest/api/3/issue/PLAT-1")))
    await asyncio.sleep(0)
    await cache.middleware(write)(req("PUT", f"/rest/api/3/issue/{written}", {"fields": {}}))
    release.set()
    await read
    again = await cache.middleware(upstream)(req("GET", "/rest/api/3/issue/PLAT-1"))
    assert (again.headers.get("x-jiraplug-cache") == "hit") is stored
    assert calls == (1 if stored else 2)
    assert cache.counters.not_stored_after_write == (0 if stored else 1)


@pytest.mark.parametrize(
    ("read_as", "write_as", "evicted"),
    [("PLAT-1", "PLAT-1", True), ("10001", "PLAT-1", True), ("PLAT-1", "10001", True), ("10001", "10001", True),
     ("PLAT-1", "PLAT-2", False)],
)
@pytest.mark.anyio
async def test_reads_under_an_issue_are_evicted_by_a_write_naming_it_either_way(
    read_as: str, write_as: str, evicted: bool
) -> None:
    """A comment list names no issue in its body: key and numeric id must still meet."""
    calls = 0

    async def comments(request: httpx2.Request) -> httpx2.Response:
        nonlocal calls
        calls += 1
        return httpx2.Response(200, headers={"content-type": "application/json"},
                               json={"comments": [], "total": 0}, request=request)

    async def write(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(201, json={"id": "5"}, request=request)

    cache = ResponseCache(CacheSettings())
    read = cache.middleware(comments)
    await read(req("GET", f"/rest/api/3/issue/{read_as}/comment"))
    assert (await read(req("GET", f"/rest/api/3/issue/{read_as}/comment"))).headers["x-jiraplug-cache"] == "hit"
    await cache.middleware(write)(req("POST", f"/rest/api/3/issue/{write_as}/comment", {"body": "x"},
                                      touches=(f"issue:{write_as}",)))
    await read(req("GET", f"/rest/api/3/issue/{read_as}/comment"))
    assert calls == (2 if evicted else 1)


@pytest.mark.anyio
async def test_a_write_while_a_slow_store_is_storing_a_read_does_not_leave_it_stale() -> None:
    """A shared backend awaits in set(): a write may run between the check and the store."""
    from jiraplug.plugins.cache.middleware import layer_configs

    storing = asyncio.Event()
    go_on = asyncio.Event()

    class SlowStore(MemoryStore):
        async def set(self, layer: str, key: str, entry: Entry) -> None:
            if layer == "api":
                storing.set()
                await go_on.wait()
            await super().set(layer, key, entry)

    upstream = Upstream()
    upstream.release.set()
    cache = ResponseCache(CacheSettings(), store=SlowStore(layer_configs(CacheSettings())))
    send = cache.middleware(upstream)
    read = asyncio.create_task(send(req("GET", "/rest/api/3/issue/PLAT-1")))
    await storing.wait()

    async def write(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(204, request=request)

    writing = asyncio.create_task(cache.middleware(write)(req("PUT", "/rest/api/3/issue/PLAT-1", {"fields": {}})))
    await asyncio.sleep(0.01)
    go_on.set()
    await asyncio.gather(read, writing)
    await send(req("GET", "/rest/api/3/issue/PLAT-1"))
    assert upstream.calls == 2  # the answer stored during the write was dropped, not served


def test_the_write_log_refuses_reads_older_than_what_it_remembers() -> None:
    from jiraplug.plugins.cache.writelog import WriteLog

    log = WriteLog(size=2)
    start = log.seq
    assert not log.stales(start, {"issue:PLAT-1"})
    log.record({"issue:PLAT-2"})
    assert not log.stales(start, {"issue:PLAT-1"}) and log.stales(start, {"issue:PLAT-2"})
    log.record(None)  # a write nothing explains stales every read
    assert log.stales(start, {"issue:PLAT-1"}) and not log.stales(log.seq, {"issue:PLAT-1"})
    middle = log.seq
    log.record({"issue:PLAT-3"})
    log.record({"issue:PLAT-4"})
    assert not log.stales(middle, {"issue:PLAT-1"})  # both writes since `middle` are remembered
    assert log.stales(start, {"issue:PLAT-1"})  # the clear-all write was forgotten: assume the worst


@pytest.mark.anyio
async def test_without_the_parsed_layer_hits_leave_decoding_to_the_client() -> None:
    upstream = Upstream()
    upstream.release.set()
    cache = ResponseCache(CacheSettings(parsed_cache_capacity=0))
    send = cache.middleware(upstream)
    await send(req("GET", "/rest/api/3/issue/PLAT-1"))
    hit = await send(req("GET", "/rest/api/3/issue/PLAT-1"))
    assert upstream.calls == 1 and hit.headers["x-jiraplug-cache"] == "hit"
    assert DECODED_KEY not in hit.extensions and json.loads(hit.content)["key"] == "PLAT-1"
    assert cache.snapshot()["layers"]["parsed"]["entries"] == 0


@pytest.mark.anyio
async def test_answers_above_max_entry_bytes_pass_through_unstored() -> None:
    upstream = Upstream()
    upstream.release.set()
    send = ResponseCache(CacheSettings(max_entry_bytes=100)).middleware(upstream)
    for _ in range(2):
        await send(req("GET", "/rest/api/3/issue/PLAT-1"))
    assert upstream.calls == 2
