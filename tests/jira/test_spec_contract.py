"""Every request the client sends is held to Atlassian's specs; these tests prove the check bites,
and that the client's requests (through the MCP server too) pass it in both flavours."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from mcp import Client

from jiraplug.bootstrap import bootstrap
from jiraplug.sandbox import SandboxServer
from jiraplug.server.build import build_server
from tests.jira.conftest import direct_client, environ_for
from tests.spec_contract import SpecContract

pytestmark = pytest.mark.anyio


def request(method: str, url: str, **kwargs: Any) -> httpx2.Request:
    headers = {"Authorization": "Basic dTpw", **kwargs.pop("headers", {})}
    return httpx2.Request(method, url, headers=headers, **kwargs)


def test_a_body_the_spec_forbids_is_rejected() -> None:
    contract = SpecContract("cloud")
    outcome = contract.check(request("POST", "https://acme.atlassian.net/rest/api/3/search/jql",
                                     json={"jql": "project = PLAT", "startAt": 50}))
    assert any("'startAt' was unexpected" in problem for problem in outcome.problems)
    with pytest.raises(pytest.fail.Exception, match="requests rejected by Atlassian's specs"):
        contract.assert_clean()


@pytest.mark.parametrize(
    ("flavour", "made", "expected"),
    [
        ("dc", request("GET", "http://jira.local/rest/api/2/search?jql=x&maxResults=lots"), "maxResults"),
        ("cloud", request("GET", "https://acme.atlassian.net/rest/api/3/no/such/thing"), "PathNotFound"),
        ("cloud", request("DELETE", "https://acme.atlassian.net/rest/api/3/serverInfo"), "OperationNotFound"),
        ("cloud", httpx2.Request("GET", "https://acme.atlassian.net/rest/api/3/myself"), "no Basic or Bearer"),
        ("cloud", request("POST", "https://acme.atlassian.net/rest/api/3/issue/A-1/attachments",
                          files={"file": ("a.txt", b"x")}), "X-Atlassian-Token"),
        ("cloud", request("POST", "https://acme.atlassian.net/rest/api/3/issue/A-1/attachments",
                          files={"upload": ("a.txt", b"x")}, headers={"X-Atlassian-Token": "no-check"}),
         'part named "file"'),
        ("cloud", request("POST", "https://acme.atlassian.net/rest/api/3/issue/A-1/comment",
                          json={"body": {"type": "doc", "version": 1, "content": [{"type": "no-such-node"}]}}),
         "ADF at body invalid"),
        ("cloud", request("POST", "https://acme.atlassian.net/rest/api/3/issue/A-1/transitions",
                          json={"transition": "31"}), "InvalidRequestBody"),
    ],
)
def test_the_contract_bites(flavour: str, made: httpx2.Request, expected: str) -> None:
    outcome = SpecContract(flavour).check(made)
    assert any(expected in problem for problem in outcome.problems), outcome.problems


def test_well_formed_requests_pass() -> None:
    contract = SpecContract("cloud")
    contract.check(request("POST", "https://acme.atlassian.net/rest/api/3/search/jql",
                           json={"jql": "project = PLAT", "maxResults": 5, "fields": ["summary"]}))
    contract.check(request("GET", "https://api.atlassian.com/ex/jira/abc/rest/api/3/issue/PLAT-1?fields=summary"))
    contract.check(request("GET", "https://acme.atlassian.net/rest/agile/1.0/board?startAt=0&maxResults=5"))
    contract.check(request("POST", "https://acme.atlassian.net/rest/api/3/issue/A-1/transitions",
                           json={"transition": {"id": "31"}}))
    contract.assert_clean(at_least=4)


@pytest.fixture(scope="module", params=["cloud", "dc"])
def writable(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(flavour=request.param, seed=7, port=0) as sandbox:
        yield sandbox


async def test_the_clients_requests_pass_the_specs(writable: SandboxServer) -> None:
    contract = SpecContract(writable.flavour)
    async with direct_client(writable, deployment=None, middlewares=[("contract", contract.middleware)]) as jira:
        await jira.ready()
        await jira.server_info()
        await jira.myself()
        await jira.field_list()
        await jira.get_issue("PLAT-2", fields=["summary", "description", "comment"], expand=["names", "changelog"])
        await jira.search("project = PLAT ORDER BY key", fields=["summary", "status"], limit=5, expand=["names"])
        long_jql = "project = PLAT AND (" + " OR ".join(f'summary ~ "word{i}"' for i in range(120)) + ")"
        await jira.search(long_jql, fields=["summary"], limit=5)  # a POST body on DC
        await jira.search_all("project = PLAT", 30, fields=["summary"], page_size=10)
        await jira.paginate(f"{jira.agile}/board", operation="board.list", limit=10, page_size=2)
        await jira.paginate(f"{jira.api}/issue/PLAT-2/comment", operation="comment.list", items_key="comments",
                            limit=5, page_size=2)
        await jira.paginate(f"{jira.api}/issue/PLAT-2/worklog", operation="worklog.list", items_key="worklogs",
                            limit=5)
        body = await jira.text_to_jira("A **comment** with `code`, a [link](https://example.com) and\n\n- a\n- list")
        await jira.request("POST", f"{jira.api}/issue/PLAT-2/comment", operation="comment.add",
                           json_body={"body": body}, touches=("issue:PLAT-2",))
        await jira.upload(f"{jira.api}/issue/PLAT-2/attachments", "trace.txt", b"trace", operation="attachment.upload")
    contract.assert_clean(at_least=16)
    if writable.flavour == "dc":
        assert any(c.method == "POST" and c.path == "/rest/api/2/search" for c in contract.checked)


async def test_the_plugin_checks_requests_made_by_tools_over_mcp(writable: SandboxServer) -> None:
    contract = SpecContract(writable.flavour)
    app = bootstrap(environ=environ_for(writable), extra_plugins={"spec_contract": contract})
    server = build_server(app.settings, app.plugins)
    async with Client(server, cache=None) as client:
        issue = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
        found = await client.call_tool("jira_search", {"jql": "project = PLAT", "limit": 3})
    assert not issue.is_error and not found.is_error
    assert json.loads(found.content[0].text)["issues"]
    contract.assert_clean(at_least=2)
