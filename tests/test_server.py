"""The assembled MCP server, driven by the MCP SDK client in memory, against the sandbox."""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from mcp import Client

from jiraplug import hookimpl
from jiraplug.bootstrap import bootstrap
from jiraplug.jira.middleware import request_info
from jiraplug.server.build import build_server
from tests.conftest import sandbox_environ

pytestmark = pytest.mark.anyio


def make_server(sandbox: Any, plugins: dict[str, object] | None = None, **environ: str):  # type: ignore[no-untyped-def]
    app = bootstrap(environ={**sandbox_environ(sandbox), **environ}, extra_plugins=plugins)
    return build_server(app.settings, app.plugins), app


def payload(result: Any) -> Any:
    assert not result.is_error, result.content[0].text
    return result.structured_content if result.structured_content is not None else json.loads(result.content[0].text)


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray ./jiraplug.toml


async def test_tools_come_from_plugins_with_annotations(cloud_sandbox: Any) -> None:
    server, _ = make_server(cloud_sandbox)
    async with Client(server, cache=None) as client:
        tools = {tool.name: tool for tool in (await client.list_tools()).tools}
    assert {"jira_get_issue", "jira_search"} <= set(tools)
    get_issue = tools["jira_get_issue"]
    assert get_issue.annotations.read_only_hint is True
    assert get_issue.annotations.title == "Get issue"
    # No private _meta: tools/list goes to the model on every request, so it carries only what clients use.
    assert not get_issue.meta
    assert "issue_key" in get_issue.input_schema["required"]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_get_issue_returns_a_compact_issue(flavour: str, cloud_sandbox: Any, dc_sandbox: Any) -> None:
    sandbox = cloud_sandbox if flavour == "cloud" else dc_sandbox
    server, _ = make_server(sandbox)
    async with Client(server, cache=None) as client:
        issue = payload(await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"}))
    assert issue["key"] == "PLAT-1"
    assert issue["url"] == f"{sandbox.url}/browse/PLAT-1"
    assert isinstance(issue["status"], str) and isinstance(issue["summary"], str)
    assert isinstance(issue.get("description", ""), str)


async def test_missing_issue_is_a_readable_tool_error(cloud_sandbox: Any) -> None:
    server, _ = make_server(cloud_sandbox)
    async with Client(server, cache=None) as client:
        result = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-99999"})
    assert result.is_error
    text = result.content[0].text
    assert "404" in text and "Issue does not exist" in text and "PLAT-99999" in text


async def test_bad_credentials_give_an_actionable_error_without_the_secret(cloud_sandbox: Any) -> None:
    server, _ = make_server(cloud_sandbox, JIRA_API_TOKEN="wrong-token-zzz")
    async with Client(server, cache=None) as client:
        result = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
    text = result.content[0].text
    assert result.is_error and "401" in text and "JIRA_API_TOKEN" in text
    assert "wrong-token-zzz" not in text


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_search_pages_through_all_results_once(flavour: str, cloud_sandbox: Any, dc_sandbox: Any) -> None:
    sandbox = cloud_sandbox if flavour == "cloud" else dc_sandbox
    server, _ = make_server(sandbox)
    keys: list[str] = []
    token = None
    async with Client(server, cache=None) as client:
        expected = payload(await client.call_tool("jira_search", {"jql": "project = PLAT", "limit": 100}))
        for _ in range(50):
            args = {"jql": "project = PLAT ORDER BY key ASC", "limit": 7, **({"page_token": token} if token else {})}
            page = payload(await client.call_tool("jira_search", args))
            keys += [issue["key"] for issue in page["issues"]]
            token = page["next_page_token"]
            if token is None:
                break
    assert len(keys) == len(set(keys)) > 7
    assert all(key.startswith("PLAT-") for key in keys)
    if expected["next_page_token"] is None:
        assert len(keys) == len(expected["issues"])


async def test_invalid_jql_is_a_tool_error_naming_the_problem(cloud_sandbox: Any) -> None:
    server, _ = make_server(cloud_sandbox)
    async with Client(server, cache=None) as client:
        result = await client.call_tool("jira_search", {"jql": "project = = PLAT"})
    assert result.is_error and "400" in result.content[0].text and "JQL" in result.content[0].text


class Recorder:
    """A test plugin using every runtime hook."""

    def __init__(self) -> None:
        self.requests: list[Any] = []
        self.calls: list[str] = []
        self.events: list[str] = []

    @hookimpl
    def jira_request_middleware(self, runtime):  # type: ignore[no-untyped-def]
        def wrap(send):  # type: ignore[no-untyped-def]
            async def recorded(request):  # type: ignore[no-untyped-def]
                self.requests.append(request_info(request))
                return await send(request)

            return recorded

        return wrap

    @hookimpl
    def tool_call_middleware(self, runtime):  # type: ignore[no-untyped-def]
        def wrap(call_next):  # type: ignore[no-untyped-def]
            async def recorded(call):  # type: ignore[no-untyped-def]
                self.calls.append(call.name)
                if call.arguments.get("issue_key") == "BLOCKED-1":
                    return call.error_result("refused by the recorder plugin")
                return await call_next(call)

            return recorded

        return wrap

    @hookimpl
    def startup(self, runtime):  # type: ignore[no-untyped-def]
        async def started() -> None:
            self.events.append("startup")

            async def background() -> None:
                self.events.append("background running")
                await anyio.sleep_forever()

            runtime.spawn(background)

        return started()

    @hookimpl
    def shutdown(self, runtime):  # type: ignore[no-untyped-def]
        self.events.append("shutdown")

    @hookimpl
    def register_resources(self, registry):  # type: ignore[no-untyped-def]
        registry.add("jiraplug://recorder", lambda: {"calls": self.calls}, name="recorder")


async def test_every_jira_request_and_tool_call_passes_through_plugin_middleware(cloud_sandbox: Any) -> None:
    recorder = Recorder()
    server, _ = make_server(cloud_sandbox, plugins={"recorder": recorder})
    async with Client(server, cache=None) as client:
        payload(await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0}))
        payload(await client.call_tool("jira_search", {"jql": "project = OPS"}))
        refused = await client.call_tool("jira_get_issue", {"issue_key": "BLOCKED-1"})
        resource = await client.read_resource("jiraplug://recorder")
    assert [(r.operation, r.read_only, r.idempotent) for r in recorder.requests] == [
        ("issue.get", True, True),
        ("search.jql", True, True),
    ]
    assert len({r.credential for r in recorder.requests}) == 1
    assert cloud_sandbox.default_user.api_token not in recorder.requests[0].credential
    assert recorder.calls == ["jira_get_issue", "jira_search", "jira_get_issue"]
    assert refused.is_error and refused.content[0].text == "refused by the recorder plugin"
    assert json.loads(resource.contents[0].text)["calls"] == recorder.calls
    assert recorder.events[:2] == ["startup", "background running"] and recorder.events[-1] == "shutdown"


class Faulty:
    """A plugin whose middleware raises: it must cost only its own behaviour."""

    @hookimpl
    def jira_request_middleware(self, runtime):  # type: ignore[no-untyped-def]
        def wrap(send):  # type: ignore[no-untyped-def]
            async def broken(request):  # type: ignore[no-untyped-def]
                raise ValueError("middleware bug")

            return broken

        return wrap

    @hookimpl
    def tool_call_middleware(self, runtime):  # type: ignore[no-untyped-def]
        def wrap(call_next):  # type: ignore[no-untyped-def]
            async def broken_after(call):  # type: ignore[no-untyped-def]
                await call_next(call)
                raise KeyError("after the tool ran")

            return broken_after

        return wrap


async def test_raising_plugin_middleware_is_isolated_and_reported(cloud_sandbox: Any) -> None:
    server, app = make_server(cloud_sandbox, plugins={"faulty": Faulty()})
    async with Client(server, cache=None) as client:
        result = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
    # The tool ran once (the Jira middleware was skipped); the tool-call middleware failed
    # after it, so the call reports that instead of running the tool a second time.
    assert result.is_error and "plugin 'faulty' failed after the tool ran" in result.content[0].text
    errors = app.plugins.info("faulty").errors
    assert any("middleware bug" in e for e in errors) and any("after the tool ran" in e for e in errors)


async def test_a_resource_is_read_from_the_runtime_of_the_server_serving_the_read(cloud_sandbox: Any) -> None:
    """Two servers built from the same settings run at once: each resource answers for its own server.

    Readers are handed the runtime of the request; there is no "latest running server" to fall back on.
    """
    app = bootstrap(environ=sandbox_environ(cloud_sandbox))
    first, second = build_server(app.settings, app.plugins), build_server(app.settings, app.plugins)

    async def admitted(client: Client) -> int:
        pool = json.loads((await client.read_resource("jiraplug://pool")).contents[0].text)
        return int(pool["tasks"]["admitted"])

    async with Client(first, cache=None) as one, Client(second, cache=None) as other:
        for _ in range(3):
            payload(await one.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0}))
        payload(await other.call_tool("jira_get_issue", {"issue_key": "PLAT-1", "comment_limit": 0}))
        assert (await admitted(one), await admitted(other)) == (3, 1)
