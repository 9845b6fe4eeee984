"""The ``watchers`` toolset through the MCP client, against the sandbox (Cloud and Data Center)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jiraplug import hookimpl
from jiraplug.jira.middleware import RequestInfo, request_info
from jiraplug.sandbox import SandboxServer, SandboxUser
from tests.tools.helpers import call, call_error, connect, tool_names

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module", params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox of each flavour for this module's writes (tests touch different objects)."""
    with SandboxServer(flavour=request.param, seed=5, port=0) as server:
        yield server


def ident(sandbox: SandboxServer, user: SandboxUser) -> str:
    return user.account_id if sandbox.flavour == "cloud" else user.name


def watcher_names(sandbox: SandboxServer, key: str) -> set[str]:
    return {u.name for u in sandbox.state.watchers_of(key)}


async def test_list_add_and_remove_watchers(sandbox: SandboxServer) -> None:
    key = "PLAT-3"
    dave = next(u for u in sandbox.users if u.name == "dave")
    sandbox.state.issue_by_key(key).watchers = [u for u in sandbox.state.watchers_of(key) if u.name != "dave"]
    before = watcher_names(sandbox, key)
    async with connect(sandbox) as client:
        listed = await call(client, "jira_list_watchers", issue_key=key)
        added = await call(client, "jira_add_watcher", issue_key=key.lower(), user=ident(sandbox, dave))
        after_add = watcher_names(sandbox, key)
        again = await call(client, "jira_add_watcher", issue_key=key, user=ident(sandbox, dave))
        relisted = await call(client, "jira_list_watchers", issue_key=key, limit=100)
        await call(client, "jira_remove_watcher", issue_key=key, user=ident(sandbox, dave))
        after_remove = watcher_names(sandbox, key)
    assert {w["name"] for w in listed["watchers"]} == {
        u.display_name for u in sandbox.users if u.name in before
    }
    assert listed["watch_count"] == len(before) and listed["next_start_at"] is None
    assert added == {"issue_key": key, "added": ident(sandbox, dave)} and again == added
    assert after_add == before | {"dave"}
    assert ident(sandbox, dave) in {w["id"] for w in relisted["watchers"]}
    assert after_remove == before


async def test_without_a_user_it_is_you(sandbox: SandboxServer) -> None:
    key = "MOB-2"
    me = sandbox.default_user
    sandbox.state.issue_by_key(key).watchers = [u for u in sandbox.state.watchers_of(key) if u is not me]
    async with connect(sandbox) as client:
        await call(client, "jira_add_watcher", issue_key=key)
        watching = await call(client, "jira_list_watchers", issue_key=key)
        added = me.name in watcher_names(sandbox, key)
        await call(client, "jira_remove_watcher", issue_key=key)
    assert added and watching["you_watch"] is True
    assert me.name not in watcher_names(sandbox, key)


async def test_bad_issue_and_unknown_user_are_clear_errors(sandbox: SandboxServer) -> None:
    key = "PLAT-3"
    before = watcher_names(sandbox, key)
    async with connect(sandbox) as client:
        bad_key = await call_error(client, "jira_list_watchers", issue_key="not a key")
        missing = await call_error(client, "jira_list_watchers", issue_key="PLAT-99999")
        nobody = await call_error(client, "jira_add_watcher", issue_key=key, user="no-such-user")
    assert "not an issue key" in bad_key
    assert "404" in missing and "PLAT-99999" in missing
    assert "no-such-user" not in watcher_names(sandbox, key) and watcher_names(sandbox, key) == before
    assert nobody  # Jira's own refusal, passed on


async def test_projects_filter_and_read_only_mode(sandbox: SandboxServer) -> None:
    async with connect(sandbox, JIRA_PROJECTS_FILTER="MOB") as client:
        refused = [
            await call_error(client, "jira_list_watchers", issue_key="PLAT-1"),
            await call_error(client, "jira_add_watcher", issue_key="PLAT-1"),
            await call_error(client, "jira_remove_watcher", issue_key="PLAT-1"),
        ]
    async with connect(sandbox, READ_ONLY_MODE="true") as client:
        names = await tool_names(client)
    assert all("outside the projects" in text for text in refused)
    assert "jira_list_watchers" in names
    assert not {"jira_add_watcher", "jira_remove_watcher"} & names


class Recorder:
    """A plugin that records what each Jira request says about itself (for the cache)."""

    def __init__(self) -> None:
        self.seen: list[RequestInfo] = []

    @hookimpl
    def jira_request_middleware(self, runtime):  # type: ignore[no-untyped-def]
        def wrap(send):  # type: ignore[no-untyped-def]
            async def record(request):  # type: ignore[no-untyped-def]
                self.seen.append(request_info(request))
                return await send(request)
            return record
        return wrap


async def test_writes_say_which_issue_they_touch(sandbox: SandboxServer) -> None:
    recorder = Recorder()
    async with connect(sandbox, plugins={"recorder": recorder}) as client:
        await call(client, "jira_list_watchers", issue_key="OPS-2")
        await call(client, "jira_add_watcher", issue_key="OPS-2")
        await call(client, "jira_remove_watcher", issue_key="OPS-2")
    by_operation = {info.operation: info for info in recorder.seen}
    assert by_operation["watcher.list"].read_only and not by_operation["watcher.list"].touches
    for operation in ("watcher.add", "watcher.remove"):
        assert not by_operation[operation].read_only and by_operation[operation].touches == ("issue:OPS-2",)
