"""A shared HTTP server where each request carries its own Jira credential."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import anyio
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from tests.test_http import serving

pytestmark = pytest.mark.anyio


OPERATOR_TOKEN = "operator-token-for-tests"


def basic(name: str) -> str:
    return "Basic " + base64.b64encode(f"{name}@example.com:sandbox-api-token-{name}".encode()).decode()


async def call_as(base: str, headers: dict[str, str], tool: str, arguments: dict) -> tuple[bool, str]:
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), cache=None) as client:
            result = await client.call_tool(tool, arguments)
    return bool(result.is_error), result.content[0].text


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    with serving(tmp_path_factory.mktemp("shared"), JIRAPLUG_SERVER__ALLOW_CONFIGURED_CREDENTIALS="false",
                 JIRAPLUG_SERVER__ALLOWED_JIRA_URLS="https://other.example.net",
                 JIRAPLUG_OPERATOR_TOKEN=OPERATOR_TOKEN, JIRAPLUG_PROFILING__ADMIN_TOOLS="true") as base:
        yield base


async def test_each_user_sees_only_what_jira_lets_them_see_under_concurrency(shared: str) -> None:
    results: dict[str, list[tuple[bool, str]]] = {"alice": [], "erin": []}

    async def one(name: str) -> None:
        results[name].append(await call_as(shared, {"x-jira-authorization": basic(name)}, "jira_get_issue",
                                           {"issue_key": "OPS-1"}))

    async with anyio.create_task_group() as tasks:
        for _ in range(6):
            tasks.start_soon(one, "alice")
            tasks.start_soon(one, "erin")
    assert all(not error and "OPS-1" in text for error, text in results["alice"])
    # erin may not see OPS: never alice's (possibly cached) copy, always Jira's 404.
    assert all(error and "404" in text for error, text in results["erin"]), results["erin"]


async def test_without_credentials_the_configured_one_is_not_lent(shared: str) -> None:
    error, text = await call_as(shared, {}, "jira_get_issue", {"issue_key": "PLAT-1"})
    assert error and "X-Jira-Authorization" in text


async def test_malformed_credential_and_foreign_site_are_refused(shared: str) -> None:
    error, text = await call_as(shared, {"x-jira-authorization": "Basic not-base64-secret!"}, "jira_get_issue",
                                {"issue_key": "PLAT-1"})
    assert error and "must be 'Basic" in text and "not-base64-secret" not in text
    error, text = await call_as(shared, {"x-jira-authorization": basic("alice"),
                                         "x-jira-url": "http://169.254.169.254"}, "jira_get_issue",
                                {"issue_key": "PLAT-1"})
    assert error and "may not contact" in text


def test_oversized_request_body_is_refused(tmp_path: Path) -> None:
    with serving(tmp_path, JIRAPLUG_SERVER__MAX_REQUEST_BYTES="2048") as base:
        body = {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"pad": "x" * 4096}}
        response = httpx2.post(f"{base}/mcp", json=body,
                               headers={"accept": "application/json, text/event-stream"})
    assert response.status_code == 413
    assert "Traceback" not in response.text and "/work/" not in response.text


async def read_resources_as(base: str, headers: dict[str, str], *uris: str) -> list[dict | str]:
    """Each resource's JSON, or the error message it was refused with."""
    results: list[dict | str] = []
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), cache=None) as client:
            for uri in uris:
                try:
                    results.append(json.loads((await client.read_resource(uri)).contents[0].text))
                except MCPError as exc:
                    results.append(str(exc))
    return results


@pytest.mark.parametrize("headers", [
    {"x-jira-authorization": basic("erin")},  # a user
    {},  # a user who leaves their credential out is no operator either
    {"x-jira-authorization": basic("erin"), "x-jiraplug-operator": "guess"},  # a wrong operator token
])
async def test_server_figures_are_for_the_operator_not_for_users(shared: str, headers: dict[str, str]) -> None:
    uris = ("jiraplug://stats", "jiraplug://alerts", "jiraplug://cache", "jiraplug://pool", "jiraplug://ratelimit")
    refused = await read_resources_as(shared, headers, *uris)
    assert all(isinstance(r, str) and "is for its operator" in r for r in refused), refused
    served = await read_resources_as(shared, {"x-jiraplug-operator": OPERATOR_TOKEN}, *uris)
    assert all(isinstance(r, dict) for r in served) and "tools" in served[0]
    # Users are not even shown them in resources/list, nor may they listen for their changes.
    assert not set(uris) & await listed_resources(shared, headers)
    assert "is for its operator" in await listen_for_alerts(shared, headers)
    assert set(uris) <= await listed_resources(shared, {"x-jiraplug-operator": OPERATOR_TOKEN})
    assert await listen_for_alerts(shared, {"x-jiraplug-operator": OPERATOR_TOKEN}) == "listening"


async def listen_for_alerts(base: str, headers: dict[str, str]) -> str:
    """Open a subscriptions/listen stream for jiraplug://alerts: 'listening', or the refusal."""
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), cache=None) as client:
            try:
                async with client.listen(resource_subscriptions=["jiraplug://alerts"]):
                    return "listening"
            except MCPError as exc:
                return str(exc)


async def listed_resources(base: str, headers: dict[str, str]) -> set[str]:
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), cache=None) as client:
            return {str(r.uri) for r in (await client.list_resources()).resources}


async def test_one_users_burst_spends_only_their_own_rate_limit_budget(tmp_path: Path) -> None:
    """erin floods a server that allows each credential 2 requests/s; alice is not held up."""
    finished: list[str] = []

    async def read(name: str, key: str) -> None:
        error, text = await call_as(base, {"x-jira-authorization": basic(name)}, "jira_get_issue",
                                    {"issue_key": key, "comment_limit": 0})
        assert not error, text
        finished.append(name)

    with serving(tmp_path, JIRAPLUG_SERVER__ALLOW_CONFIGURED_CREDENTIALS="false",
                 JIRAPLUG_RATELIMIT__PER_CREDENTIAL_REQUESTS_PER_SECOND="2",
                 JIRAPLUG_RATELIMIT__PER_CREDENTIAL_BURST="2") as base:
        async with anyio.create_task_group() as tasks:
            for n in range(1, 11):  # about 4 s of erin's budget
                tasks.start_soon(read, "erin", f"PLAT-{n}")
            await anyio.sleep(0.5)  # erin's burst is spent and her calls are queued
            for n in range(20, 22):
                tasks.start_soon(read, "alice", f"PLAT-{n}")
    # Behind a shared bucket alice's calls would finish among erin's last; with their own, first.
    assert finished[-1] == "erin" and finished.count("alice") == 2
    last_alice = max(i for i, who in enumerate(finished) if who == "alice")
    assert finished[last_alice + 1:].count("erin") >= 4, finished


async def test_the_admin_profile_tool_is_the_operators(shared: str) -> None:
    arguments = {"seconds": 0.2, "format": "speedscope"}
    error, text = await call_as(shared, {"x-jira-authorization": basic("erin")}, "jiraplug_profile", arguments)
    assert error and "is for this server's operator" in text
    # The operator, on a server with no Jira credential of its own, still reaches admin tools.
    error, text = await call_as(shared, {"x-jiraplug-operator": OPERATOR_TOKEN}, "jiraplug_profile", arguments)
    assert not error and json.loads(text)["$schema"].startswith("https://www.speedscope.app")


async def context_as(base: str, headers: dict[str, str]) -> dict[str, Any]:
    """What one caller gets from the context plugin: an issue resource, completions and a prompt."""
    from mcp.types import ResourceTemplateReference

    issue = ResourceTemplateReference(type="ref/resource", uri="jira://issue/{key}")
    project = ResourceTemplateReference(type="ref/resource", uri="jira://project/{key}")
    out: dict[str, Any] = {}
    async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
        async with Client(streamable_http_client(f"{base}/mcp", http_client=http), cache=None) as client:
            for name, action in (
                ("read", lambda: client.read_resource("jira://issue/OPS-1")),
                ("projects", lambda: client.complete(project, {"name": "key", "value": ""})),
                ("recent", lambda: client.complete(issue, {"name": "key", "value": ""})),
                ("prompt", lambda: client.get_prompt("triage_issue", {"issue_key": "OPS-1"})),
            ):
                try:
                    result = await action()
                except MCPError as exc:
                    out[name] = f"refused: {exc}"
                    continue
                out[name] = getattr(getattr(result, "completion", None), "values", None) or result
    return out


async def test_resources_completions_and_prompts_act_as_the_caller(shared: str) -> None:
    alice = await context_as(shared, {"x-jira-authorization": basic("alice")})
    erin = await context_as(shared, {"x-jira-authorization": basic("erin")})
    nobody = await context_as(shared, {})
    assert "# OPS-1: " in alice["read"].contents[0].text and "OPS" in alice["projects"]
    assert "OPS-1" in alice["recent"]  # alice read it: her completion offers it first
    # erin may not see OPS: Jira's 404 (never alice's cached copy), and OPS is in none of her completions.
    assert erin["read"].startswith("refused:") and "404" in erin["read"] and "404" in erin["prompt"]
    assert "OPS" not in erin["projects"] and "OPS-1" not in erin["recent"]
    assert all(isinstance(v, str) and "X-Jira-Authorization" in v for v in nobody.values()), nobody


def test_one_users_jira_session_cookie_never_serves_another_user(tmp_path: Path) -> None:
    """Data Center answers set JSESSIONID, and Seraph serves a request carrying it as that session's
    user: a shared server that kept cookies would answer erin's call with alice's rights."""
    def bearer(name: str) -> dict[str, str]:
        return {"x-jira-authorization": f"Bearer sandbox-pat-{name}"}

    with serving(tmp_path, "--sandbox-flavour", "dc", JIRAPLUG_DISABLE_PLUGINS="cache") as base:
        async def calls() -> list[tuple[bool, str]]:
            return [await call_as(base, bearer(name), "jira_get_issue", {"issue_key": "OPS-1"})
                    for name in ("alice", "erin", "alice", "erin")]

        answers = anyio.run(calls)
    assert [error for error, _ in answers] == [False, True, False, True], answers
    assert all("404" in text for _, text in answers[1::2])
