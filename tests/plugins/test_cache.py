"""The ``cache`` plugin on the live path: a jiraplug server driven by the MCP SDK client, against
the sandbox over loopback HTTP. The sandbox's request log is the ground truth for what reached
"Jira"."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import pytest
from mcp import Client
from pydantic import SecretStr

from jiraplug import hookimpl
from jiraplug.bootstrap import bootstrap
from jiraplug.clock import SYSTEM_CLOCK, Clock, ManualClock
from jiraplug.jira.errors import JiraError
from jiraplug.plugins import cache as cache_plugin
from jiraplug.server.registry import ToolRegistry
from jiraplug.sandbox import Knobs, SandboxServer
from jiraplug.server.build import build_server
from jiraplug.server.toolcalls import current_call
from tests.conftest import sandbox_environ

pytestmark = [
    pytest.mark.anyio,
    # These tests are about the plugin itself: moot when the whole suite runs with it switched off.
    pytest.mark.skipif("cache" in os.environ.get("JIRAPLUG_DISABLE_PLUGINS", "").split(","),
                       reason="the cache plugin is disabled in this run"),
]

# Other plugins that would add requests of their own (retries) are left out where counts matter.
QUIET = "ratelimit"


class Probe:
    """Test plugin: remembers the runtime and offers a tool that sends any request through the
    server's own Jira client (the path tools take), optionally editing what it got back."""

    def __init__(self) -> None:
        self.runtime: Any = None

    @hookimpl
    def startup(self, runtime):  # type: ignore[no-untyped-def]
        self.runtime = runtime

    @hookimpl
    def register_tools(self, registry: ToolRegistry) -> None:
        async def probe_request(
            method: str,
            path: str,
            body: dict[str, Any] | None = None,
            read_only: bool | None = None,
            touches: list[str] | None = None,
            fresh: bool = False,
            scribble: bool = False,
            params: dict[str, str] | None = None,
        ) -> dict[str, Any]:
            """Send one request to Jira through the server's client."""
            data = await current_call().jira.request(
                method, path, operation="probe.request", json_body=body, read_only=read_only,
                touches=touches or (), fresh=fresh, params=params,
            )
            result = {"data": json.loads(json.dumps(data))}
            if scribble and isinstance(data, dict):  # a careless tool editing what it received
                data.setdefault("fields", {})["summary"] = "SCRIBBLED"
                data["key"] = "SCRIBBLED-1"
            return result

        registry.add(probe_request)


@pytest.fixture
def sandbox() -> Any:
    with SandboxServer(flavour="cloud", seed=3, port=0) as sb:
        yield sb


@asynccontextmanager
async def serve(sb: Any, clock: Clock = SYSTEM_CLOCK, **environ: str) -> AsyncIterator[tuple[Client, Probe, Any]]:
    probe = Probe()
    app = bootstrap(environ={**sandbox_environ(sb), "JIRAPLUG_DISABLE_PLUGINS": QUIET, **environ},
                    extra_plugins={"probe": probe})
    server = build_server(app.settings, app.plugins, clock=clock)
    async with Client(server, cache=None) as client:
        yield client, probe, app


def snapshot_of(runtime: Any) -> dict[str, Any]:
    """The cache plugin's figures for a running server."""
    return cache_plugin.state_of(runtime).snapshot()


async def call(client: Client, tool: str, **arguments: Any) -> Any:
    result = await client.call_tool(tool, arguments)
    assert not result.is_error, result.content[0].text
    data = result.structured_content
    return data.get("data", data) if isinstance(data, dict) else json.loads(result.content[0].text)


async def request(client: Client, method: str, path: str, **options: Any) -> Any:
    return await call(client, "probe_request", method=method, path=path, **options)


def upstream(sb: Any, method: str, path: str) -> int:
    """How many times ``method path`` reached the sandbox."""
    return sum(1 for r in sb.request_log if r.method == method and r.path == path)


def summed(otel: Any, name: str, **attributes: str) -> float:
    return sum(p.value for p in otel.metrics().get(name, [])
               if all(p.attributes.get(k) == v for k, v in attributes.items()))


ISSUE = "/rest/api/3/issue/PLAT-1"


# ---------------------------------------------------------------------------- hits and misses


async def test_repeated_reads_are_served_from_the_cache_and_counted(sandbox: Any, otel_memory: Any) -> None:
    hits_before = summed(otel_memory, "jiraplug.cache.hits", layer="api")
    misses_before = summed(otel_memory, "jiraplug.cache.misses", layer="api")
    async with serve(sandbox) as (client, probe, _):
        first = await call(client, "jira_get_issue", issue_key="PLAT-1", comment_limit=0)
        for _ in range(3):
            assert await call(client, "jira_get_issue", issue_key="PLAT-1", comment_limit=0) == first
        for _ in range(2):
            await call(client, "jira_search", jql="project = PLAT ORDER BY key")
        snapshot = snapshot_of(probe.runtime)
        resource = json.loads((await client.read_resource(cache_plugin.RESOURCE_URI)).contents[0].text)
    assert upstream(sandbox, "GET", ISSUE) == 1
    assert upstream(sandbox, "POST", "/rest/api/3/search/jql") == 1
    assert snapshot["hits"] == 4 and snapshot["misses"] == 2 and snapshot["hit_rate"] == pytest.approx(4 / 6, 1e-3)
    assert snapshot["layers"]["api"]["entries"] == 2 and snapshot["layers"]["parsed"]["hits"] == 4
    assert resource["enabled"] and resource["hits"] == 4
    assert summed(otel_memory, "jiraplug.cache.hits", layer="api") - hits_before == 4
    assert summed(otel_memory, "jiraplug.cache.misses", layer="api") - misses_before == 2
    assert summed(otel_memory, "jiraplug.cache.entries", layer="api") >= 2
    assert summed(otel_memory, "jiraplug.cache.bytes", layer="parsed") > 0
    marks = [s.attributes["cache.hit"] for s in otel_memory.spans() if "cache.hit" in (s.attributes or {})]
    assert marks.count(True) == 4 and marks.count(False) == 2


async def test_metadata_goes_to_the_longer_lived_config_layer(sandbox: Any) -> None:
    clock = ManualClock()
    async with serve(sandbox, clock) as (client, probe, _):
        for _ in range(2):
            await request(client, "GET", "/rest/api/3/field")
            await request(client, "GET", "/rest/api/3/project/PLAT")
            await request(client, "GET", ISSUE)
        clock.advance(120)  # past the api layer's 60 s, within the config layer's 600 s
        await request(client, "GET", "/rest/api/3/field")
        await request(client, "GET", ISSUE)
        layers = snapshot_of(probe.runtime)["layers"]
    assert upstream(sandbox, "GET", "/rest/api/3/field") == 1
    assert upstream(sandbox, "GET", "/rest/api/3/project/PLAT") == 1
    assert upstream(sandbox, "GET", ISSUE) == 2
    assert layers["config"]["hits"] == 3 and layers["config"]["entries"] == 2


async def test_a_caller_editing_its_answer_cannot_change_the_next_callers(sandbox: Any) -> None:
    async with serve(sandbox) as (client, _, _):
        original = await request(client, "GET", ISSUE)
        await request(client, "GET", ISSUE, scribble=True)  # a hit: it edits its private copy
        again = await request(client, "GET", ISSUE, scribble=True)
        assert again == original
        assert (await request(client, "GET", ISSUE)) == original
    assert original["key"] == "PLAT-1" and upstream(sandbox, "GET", ISSUE) == 1


# --------------------------------------------------------------------------------- freshness


async def test_entries_expire_after_their_ttl(sandbox: Any) -> None:
    clock = ManualClock()
    async with serve(sandbox, clock, JIRAPLUG_CACHE__API_CACHE_TTL_SECONDS="30") as (client, _, _):
        await call(client, "jira_get_issue", issue_key="PLAT-1", comment_limit=0)
        clock.advance(29)
        await call(client, "jira_get_issue", issue_key="PLAT-1", comment_limit=0)
        assert upstream(sandbox, "GET", ISSUE) == 1
        clock.advance(2)
        await call(client, "jira_get_issue", issue_key="PLAT-1", comment_limit=0)
        assert upstream(sandbox, "GET", ISSUE) == 2


async def test_a_fresh_read_bypasses_and_refreshes_the_cache(sandbox: Any) -> None:
    async with serve(sandbox) as (client, probe, _):
        await request(client, "GET", ISSUE)
        sandbox.state.issue_by_key("PLAT-1").summary = "Changed outside jiraplug"  # an edit by someone else
        assert (await request(client, "GET", ISSUE))["fields"]["summary"] != "Changed outside jiraplug"
        fresh = await request(client, "GET", ISSUE, fresh=True)
        assert fresh["fields"]["summary"] == "Changed outside jiraplug"
        assert (await request(client, "GET", ISSUE))["fields"]["summary"] == "Changed outside jiraplug"
        assert snapshot_of(probe.runtime)["fresh_reads"] == 1
    assert upstream(sandbox, "GET", ISSUE) == 2


async def test_errors_are_not_cached_but_a_404_is_remembered_briefly(sandbox: Any) -> None:
    clock = ManualClock()
    missing = "/rest/api/3/issue/PLAT-99999"
    async with serve(sandbox, clock) as (client, _, _):
        for _ in range(2):
            result = await client.call_tool("probe_request", {"method": "GET", "path": missing})
            assert result.is_error and "404" in result.content[0].text
        assert upstream(sandbox, "GET", missing) == 1
        clock.advance(6)  # not_found_ttl_seconds = 5
        await client.call_tool("probe_request", {"method": "GET", "path": missing})
        assert upstream(sandbox, "GET", missing) == 2
        sandbox.set_knobs(Knobs(error_rate=1.0))
        for _ in range(2):
            assert (await client.call_tool("probe_request", {"method": "GET", "path": ISSUE})).is_error
        sandbox.set_knobs(Knobs())
        await request(client, "GET", ISSUE)
    assert [r.status for r in sandbox.request_log if r.path == ISSUE][:2] != [200, 200]
    assert upstream(sandbox, "GET", ISSUE) == 3  # two errors, then a success: nothing served stale


# ------------------------------------------------------------------------------ single flight


async def test_concurrent_identical_tool_calls_share_one_upstream_request(sandbox: Any) -> None:
    sandbox.set_knobs(Knobs(latency_ms=300))
    results: list[Any] = []
    async with serve(sandbox) as (client, probe, _):

        async def one() -> None:
            results.append(await call(client, "jira_get_issue", issue_key="PLAT-2", comment_limit=0))

        async with anyio.create_task_group() as tasks:
            for _ in range(8):
                tasks.start_soon(one)
        snapshot = snapshot_of(probe.runtime)
    assert upstream(sandbox, "GET", "/rest/api/3/issue/PLAT-2") == 1
    assert len(results) == 8 and all(r == results[0] for r in results)
    assert snapshot["coalesced"] == 7 and snapshot["misses"] == 8


# -------------------------------------------------------------------------- per credential


async def test_one_users_answers_are_never_served_to_another(sandbox: Any) -> None:
    """alice sees every project, erin only some. One runtime, one cache, two credentials."""
    erin = next(u for u in sandbox.users if u.name == "erin")
    hidden = next(key for key in sandbox.state.projects if not erin.can_browse(key))
    shared = next(key for key in sandbox.state.projects if erin.can_browse(key))
    secret, common = f"/rest/api/3/issue/{hidden}-1", f"/rest/api/3/issue/{shared}-1"
    async with serve(sandbox) as (client, probe, app):
        alice_secret = await request(client, "GET", secret)
        alice_common = await request(client, "GET", common)
        jira = app.settings.jira
        jira.username, jira.api_token = erin.email, SecretStr(erin.api_token)
        as_erin = probe.runtime.build_jira_client()  # same runtime: the same cache
        try:
            for _ in range(2):
                with pytest.raises(JiraError) as refused:
                    await as_erin.request("GET", secret, operation="probe.erin")
                assert refused.value.status == 404
            erin_common = await as_erin.request("GET", common, operation="probe.erin")
            await as_erin.request("GET", common, operation="probe.erin")
        finally:
            await as_erin.aclose()
        # alice's entries are still hers, untouched by erin's 404.
        assert await request(client, "GET", secret) == alice_secret
        snapshot = snapshot_of(probe.runtime)
    assert erin_common["key"] == alice_common["key"] == f"{shared}-1"
    assert upstream(sandbox, "GET", secret) == 2  # alice once (200), erin once (404, then remembered)
    assert upstream(sandbox, "GET", common) == 2  # alice once, erin once
    assert snapshot["hits"] == 3  # erin's second 404 and second read, alice's second read


# ---------------------------------------------------------------------------- byte budget


async def test_the_byte_budget_bounds_memory(sandbox: Any) -> None:
    budget = 60_000
    async with serve(sandbox, JIRAPLUG_CACHE__MAX_BYTES=str(budget)) as (client, probe, _):
        for n in range(1, 21):
            await request(client, "GET", f"/rest/api/3/issue/PLAT-{n}")
            assert snapshot_of(probe.runtime)["bytes"] <= budget
        before = upstream(sandbox, "GET", "/rest/api/3/issue/PLAT-20")
        await request(client, "GET", "/rest/api/3/issue/PLAT-20")  # the newest is still there
        snapshot = snapshot_of(probe.runtime)
    assert upstream(sandbox, "GET", "/rest/api/3/issue/PLAT-20") == before
    evicted = sum(layer["evictions"].get("bytes", 0) for layer in snapshot["layers"].values())
    assert evicted > 0 and snapshot["layers"]["api"]["entries"] < 20


# ---------------------------------------------------------------------------- off switch


async def test_the_server_works_with_the_cache_disabled(sandbox: Any) -> None:
    async with serve(sandbox, JIRAPLUG_DISABLE_PLUGINS=f"{QUIET},cache") as (client, probe, _):
        first = await call(client, "jira_get_issue", issue_key="PLAT-1", comment_limit=0)
        assert await call(client, "jira_get_issue", issue_key="PLAT-1", comment_limit=0) == first
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        assert probe.runtime.plugin_state(cache_plugin.__name__) is None  # no cache on this runtime
    assert upstream(sandbox, "GET", ISSUE) == 2
    assert cache_plugin.RESOURCE_URI not in resources


# ------------------------------------------------------------------ invalidation by writes


def adf(text: str) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text", "text": text}]}]}


def search(jql: str, fields: tuple[str, ...] = ("*all",)) -> tuple[str, str, dict[str, Any]]:
    return ("POST", "/rest/api/3/search/jql", {"jql": jql, "fields": list(fields), "maxResults": 50})


async def read_all(client: Client, reads: list[tuple[str, str, Any]], *, fresh: bool = False) -> list[Any]:
    """Each read: (method, path, JSON body) or, for GETs, (method, path, query parameters)."""
    return [await request(client, method, path, read_only=True, fresh=fresh,
                          **({"params": extra} if method == "GET" else {"body": extra}))
            for method, path, extra in reads]


async def assert_write_is_never_hidden(sb: Any, client: Client, reads: list[tuple[str, str, Any]],
                                       write: tuple[str, str, Any]) -> None:
    """Reads are cached; after ``write`` each read equals a fresh read, and the first one changed."""
    before = await read_all(client, reads)
    count = len(sb.request_log)
    assert await read_all(client, reads) == before
    assert len(sb.request_log) == count, "the second round of reads should all be cache hits"
    method, path, body = write
    await request(client, method, path, body=body)
    after = await read_all(client, reads)
    assert after == await read_all(client, reads, fresh=True), "a read after the write returned stale data"
    assert after[0] != before[0], "the write should have changed the first read"


def open_issue(sb: Any, project: str = "PLAT") -> Any:
    return next(i for i in sb.state.issues if i.project_key == project and not i.issuetype.subtask
                and i.status.name == "To Do")


async def test_an_issue_edit_is_seen_by_the_next_read_and_search(sandbox: Any) -> None:
    key = open_issue(sandbox).key
    reads = [("GET", f"/rest/api/3/issue/{key}", None), search(f"key = {key}"),
             search("project = PLAT ORDER BY key", ("summary", "status"))]
    async with serve(sandbox) as (client, _, _):
        await assert_write_is_never_hidden(sandbox, client, reads, (
            "PUT", f"/rest/api/3/issue/{key}", {"fields": {"summary": "Edited through jiraplug"}}))
        assert (await request(client, "GET", f"/rest/api/3/issue/{key}"))["fields"]["summary"] == \
            "Edited through jiraplug"


async def test_an_added_comment_is_seen_by_the_next_read(sandbox: Any) -> None:
    key = open_issue(sandbox).key
    reads = [("GET", f"/rest/api/3/issue/{key}/comment", None), ("GET", f"/rest/api/3/issue/{key}", None),
             search(f"key = {key}")]
    async with serve(sandbox) as (client, _, _):
        await assert_write_is_never_hidden(sandbox, client, reads, (
            "POST", f"/rest/api/3/issue/{key}/comment", {"body": adf("cache me if you can")}))


async def test_a_comment_added_by_key_is_seen_by_get_issue_by_id_and_back(sandbox: Any) -> None:
    """The comment list names no issue in its body: a key and the numeric id must still meet."""
    issue = open_issue(sandbox)
    async with serve(sandbox) as (client, _, _):
        for read_as, write_as in ((str(issue.id), issue.key), (issue.key, str(issue.id))):
            await call(client, "jira_get_issue", issue_key=read_as)  # cached: the issue and its comments
            text = f"added via {write_as}"
            await call(client, "jira_add_comment", issue_key=write_as, body=text)
            shown = await call(client, "jira_get_issue", issue_key=read_as)
            assert shown["comment"][-1]["body"] == text, (read_as, write_as)


async def test_a_transition_is_seen_by_the_next_read_and_search(sandbox: Any) -> None:
    issue = open_issue(sandbox)
    reads = [("GET", f"/rest/api/3/issue/{issue.key}", None), ("GET", f"/rest/api/3/issue/{issue.key}/transitions",
                                                                   None),
             search('project = PLAT AND status = "To Do" ORDER BY key', ("summary", "status"))]
    async with serve(sandbox) as (client, _, _):
        transitions = (await request(client, "GET", f"/rest/api/3/issue/{issue.key}/transitions"))["transitions"]
        target = next(t for t in transitions if t["to"]["name"] != "To Do")
        await assert_write_is_never_hidden(sandbox, client, reads, (
            "POST", f"/rest/api/3/issue/{issue.key}/transitions", {"transition": {"id": target["id"]}}))
    assert issue.status.name == target["to"]["name"]


async def test_an_added_worklog_is_seen_by_the_next_read(sandbox: Any) -> None:
    key = open_issue(sandbox).key
    reads = [("GET", f"/rest/api/3/issue/{key}/worklog", None), ("GET", f"/rest/api/3/issue/{key}", None)]
    async with serve(sandbox) as (client, _, _):
        await assert_write_is_never_hidden(sandbox, client, reads, (
            "POST", f"/rest/api/3/issue/{key}/worklog", {"timeSpentSeconds": 5400, "comment": adf("pairing")}))


async def test_a_sprint_move_is_seen_by_sprint_board_and_issue_views(sandbox: Any) -> None:
    sprint = next(s for s in sandbox.state.sprints.values() if s.state in {"active", "future"})
    issue = next(i for i in sandbox.state.issues if i.project_key == sprint.project_key
                 and not i.issuetype.subtask and sprint.id not in i.sprint_ids and i.status.name != "Done")
    agile = "/rest/agile/1.0"
    listing = {"fields": "summary,status"}
    reads = [("GET", f"{agile}/sprint/{sprint.id}/issue", listing), ("GET", f"/rest/api/3/issue/{issue.key}", None),
             ("GET", f"{agile}/board/{sprint.board_id}/issue", listing),
             search(f"sprint = {sprint.id}", ("summary", "status"))]
    async with serve(sandbox) as (client, _, _):
        await assert_write_is_never_hidden(sandbox, client, reads, (
            "POST", f"{agile}/sprint/{sprint.id}/issue", {"issues": [issue.key]}))
    assert sprint.id in issue.sprint_ids


async def test_a_write_by_one_user_evicts_what_another_user_cached(sandbox: Any) -> None:
    erin = next(u for u in sandbox.users if u.name == "erin")
    key = next(i.key for i in sandbox.state.issues if erin.can_browse(i.project_key) and i.project_key != "PLAT")
    path = f"/rest/api/3/issue/{key}"
    async with serve(sandbox) as (client, probe, app):
        jira = app.settings.jira
        alice = (jira.username, jira.api_token)
        jira.username, jira.api_token = erin.email, SecretStr(erin.api_token)
        as_erin = probe.runtime.build_jira_client()
        jira.username, jira.api_token = alice
        try:
            await as_erin.request("GET", path, operation="probe.erin")
            await request(client, "PUT", path, body={"fields": {"summary": "Renamed by alice"}})
            seen = await as_erin.request("GET", path, operation="probe.erin")
        finally:
            await as_erin.aclose()
    assert seen["fields"]["summary"] == "Renamed by alice"
    assert upstream(sandbox, "GET", path) == 2


async def test_an_unexplained_write_clears_everything(sandbox: Any) -> None:
    async with serve(sandbox) as (client, probe, _):
        await request(client, "GET", ISSUE)
        await request(client, "GET", "/rest/api/3/field")
        result = await client.call_tool("probe_request", {"method": "POST", "path": "/rest/api/3/mystery"})
        assert result.is_error  # the sandbox does not know it; the cache must still assume the worst
        await request(client, "GET", ISSUE)
        await request(client, "GET", "/rest/api/3/field")
        snapshot = snapshot_of(probe.runtime)
    assert upstream(sandbox, "GET", ISSUE) == 2 and upstream(sandbox, "GET", "/rest/api/3/field") == 2
    assert snapshot["cleared_by_unknown_writes"] == 1
