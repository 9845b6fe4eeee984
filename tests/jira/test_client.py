"""The client's deployment handling and the helpers tools build on, against the sandbox (both flavours)."""

from __future__ import annotations

from typing import Any

import anyio
import httpx2
import pytest

from jiraplug.jira.auth import JiraAuth
from jiraplug.jira.client import JiraClient
from jiraplug.jira.deployment import Deployment
from jiraplug.jira.errors import JiraError
from jiraplug.jira.middleware import request_info
from tests.jira.conftest import configured_client, direct_client, environ_for
from tests.spec_contract import adf_validator

pytestmark = pytest.mark.anyio


def sandbox_of(flavour: str, cloud_sandbox: Any, dc_sandbox: Any) -> Any:
    return cloud_sandbox if flavour == "cloud" else dc_sandbox


def server_info_requests(sandbox: Any) -> int:
    return sum(1 for record in sandbox.request_log.snapshot() if record.path.endswith("/serverInfo"))


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_ambiguous_url_is_detected_once_lazily_from_server_info(
    flavour: str, cloud_sandbox: Any, dc_sandbox: Any
) -> None:
    sandbox = sandbox_of(flavour, cloud_sandbox, dc_sandbox)
    async with direct_client(sandbox, deployment=None) as jira:
        before = server_info_requests(sandbox)
        assert server_info_requests(sandbox) == before  # nothing asked yet
        # Concurrent first requests share one serverInfo request.
        async with anyio.create_task_group() as tasks:
            for _ in range(5):
                tasks.start_soon(jira.myself)
        assert jira.deployment is Deployment(flavour)
        await jira.get_issue("PLAT-1", fields=["summary"])
        assert server_info_requests(sandbox) == before + 1
        assert jira.api == ("/rest/api/3" if flavour == "cloud" else "/rest/api/2")
        assert jira.is_cloud is (flavour == "cloud")


async def test_auto_deployment_through_the_server_start_up_path(dc_sandbox: Any) -> None:
    async with configured_client(environ_for(dc_sandbox, JIRA_DEPLOYMENT="auto")) as jira:
        before = server_info_requests(dc_sandbox)
        page = await jira.search("project = PLAT", fields=["summary"], limit=3)
        assert jira.deployment is Deployment.DC and page.total and len(page.issues) == 3
        assert server_info_requests(dc_sandbox) == before + 1  # "auto": asked at the first request


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_format_helpers_follow_the_deployment(flavour: str, cloud_sandbox: Any, dc_sandbox: Any) -> None:
    sandbox = sandbox_of(flavour, cloud_sandbox, dc_sandbox)
    markdown = "## Plan\n\n- **fix** the `parser`\n- see [docs](https://example.com)\n\n```python\nx = 1\n```"
    async with direct_client(sandbox) as jira:
        body = await jira.text_to_jira(markdown)
        assert jira.agile == "/rest/agile/1.0"
        if flavour == "cloud":
            assert body["type"] == "doc" and not list(adf_validator().iter_errors(body))
            assert jira.user_ref("5b10ac8d82e05b22cc7d4ef5") == {"accountId": "5b10ac8d82e05b22cc7d4ef5"}
        else:
            assert isinstance(body, str) and "h2. Plan" in body and "{code" in body
            assert jira.user_ref("ada") == {"name": "ada"}
        back = jira.text_from_jira(body)
        for fragment in ("## Plan", "**fix**", "`parser`", "[docs](https://example.com)", "```python"):
            assert fragment in back
        assert jira.text_from_jira(None) == ""
        with pytest.raises(JiraError, match="a user is required"):
            jira.user_ref("  ")


@pytest.mark.parametrize("path", ["/rest/api/3/issue/../../admin", "rest/api/3/myself", "/rest/api/3//myself",
                                  "/rest/api/3/issue/A-1?x=1", "/rest/api/3/issue/%2e%2e/x", "https://evil.example/x"])
async def test_request_refuses_paths_that_could_leave_the_rest_api(path: str, cloud_sandbox: Any) -> None:
    async with direct_client(cloud_sandbox) as jira:
        with pytest.raises(JiraError, match="is not a valid Jira REST path"):
            await jira.request("GET", path, operation="test.path")


async def test_issue_keys_with_path_tricks_are_refused_before_sending(cloud_sandbox: Any) -> None:
    async with direct_client(cloud_sandbox) as jira:
        with pytest.raises(JiraError, match="not a valid Jira issue key"):
            await jira.get_issue("PLAT-1/../../myself")


class Answering:
    """A middleware that records each request and answers it itself (nothing leaves the process)."""

    def __init__(self, body: bytes = b'{"accountId": "abc", "displayName": "OAuth App"}') -> None:
        self.requests: list[httpx2.Request] = []
        self.body = body

    def __call__(self, send: Any) -> Any:
        async def answer(request: httpx2.Request) -> httpx2.Response:
            self.requests.append(request)
            return httpx2.Response(200, content=self.body, headers={"content-type": "application/json"},
                                   request=request)

        return answer


async def test_oauth_requests_go_through_the_atlassian_gateway_as_cloud() -> None:
    answering = Answering()
    auth = JiraAuth.oauth("access-token-xyz", "c0ffee-1234")
    http = httpx2.AsyncClient(base_url="https://acme.atlassian.net")
    jira = JiraClient(http, base_url="https://acme.atlassian.net", deployment=None, auth=auth,
                      middlewares=[("answering", answering)])
    try:
        assert jira.is_cloud  # OAuth is Cloud-only: known before any request (the guess would be DC)
        me = await jira.myself()
        data, _ = await jira.download("https://acme.atlassian.net/rest/api/3/attachment/content/10001",
                                      operation="attachment.download", max_bytes=1000)
    finally:
        await http.aclose()
    assert me["displayName"] == "OAuth App" and data.startswith(b'{"accountId"')
    urls = [str(r.url) for r in answering.requests]
    assert urls == [
        "https://api.atlassian.com/ex/jira/c0ffee-1234/rest/api/3/myself",
        # An attachment link on the site is re-homed onto the gateway.
        "https://api.atlassian.com/ex/jira/c0ffee-1234/rest/api/3/attachment/content/10001",
    ]
    assert all(r.headers["authorization"] == "Bearer access-token-xyz" for r in answering.requests)
    assert jira.base_url == "https://acme.atlassian.net"  # browse links stay on the site


async def test_every_request_carries_its_operation_and_write_semantics(cloud_sandbox: Any) -> None:
    seen: list[Any] = []

    def recording(send: Any) -> Any:
        async def record(request: httpx2.Request) -> httpx2.Response:
            seen.append(request_info(request))
            return await send(request)

        return record

    async with direct_client(cloud_sandbox, middlewares=[("rec", recording)]) as jira:
        await jira.myself()
        await jira.search("project = PLAT", fields=["summary"], limit=1)
        with pytest.raises(JiraError):
            await jira.request("PUT", f"{jira.api}/issue/PLAT-99999", operation="issue.update",
                               json_body={"fields": {}}, touches=("issue:PLAT-99999",))
    assert [(i.operation, i.read_only, i.idempotent) for i in seen] == [
        ("myself.get", True, True), ("search.jql", True, True), ("issue.update", False, True)]
    assert seen[2].touches == ("issue:PLAT-99999",)
