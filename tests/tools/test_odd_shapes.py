"""Answers of unexpected shapes through an MCP client (issue 14, point 6, and its clean-ups).

Real Jira answers are not always what the spec shows: Jira 5 carries ``changelog`` as a
string, apps put a list where the link type object belongs, and an attachment or project may
lack fields. A plugin's middleware rewrites the sandbox's real answers into those shapes;
the tools must still answer, or fail with a clear error naming the endpoint, never with
"Error executing tool ...".
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

import httpx2
import pytest

from jiraplug import hookimpl
from jiraplug.sandbox import SandboxServer
from tests.tools.helpers import call, call_error, connect

pytestmark = pytest.mark.anyio

Rewrite = Callable[[str, Any], Any]


@pytest.fixture(params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(flavour=request.param, seed=7, port=0) as sb:
        yield sb


class Reshape:
    """A plugin whose middleware rewrites JSON answers: ``rewrite(path, body) -> body``."""

    def __init__(self, rewrite: Rewrite) -> None:
        self.rewrite = rewrite

    @hookimpl
    def jira_request_middleware(self, runtime):  # type: ignore[no-untyped-def]
        def wrap(send):  # type: ignore[no-untyped-def]
            async def reshaping(request: httpx2.Request) -> httpx2.Response:
                response = await send(request)
                if response.status_code != 200 or "json" not in response.headers.get("content-type", ""):
                    return response
                await response.aread()
                body = self.rewrite(request.url.path, json.loads(response.content))
                return httpx2.Response(200, json=body, request=request)

            return reshaping

        return wrap


def reshaped(sandbox: SandboxServer, rewrite: Rewrite) -> Any:
    # No cache or rate limit between the rewrite and the tool: every answer is rewritten.
    return connect(sandbox, plugins={"reshape": Reshape(rewrite)}, JIRAPLUG_DISABLE_PLUGINS="cache,ratelimit")


def _issue_with_links_and_attachments(sandbox: SandboxServer) -> str:
    return next(i.key for i in sandbox.state.issues if i.links and i.attachments)


async def test_a_string_changelog_and_a_list_link_type_do_not_break_get_issue(sandbox: SandboxServer) -> None:
    key = _issue_with_links_and_attachments(sandbox)

    def jira5(path: str, body: Any) -> Any:
        if path.endswith(f"/issue/{key}"):
            body["changelog"] = "com.atlassian.jira.issue.changehistory.ChangeHistory@1f2e"  # Jira 5
            for link in body.get("fields", {}).get("issuelinks", []):
                link["type"] = [link["type"]]  # a list where the object belongs
            for attachment in body.get("fields", {}).get("attachment", []):
                attachment.pop("id", None)
        return body

    async with reshaped(sandbox, jira5) as client:
        issue = await call(client, "jira_get_issue", issue_key=key, fields="summary,issuelinks,attachment",
                           changelog=sandbox.flavour == "dc")
    assert issue["summary"] and issue["issuelinks"]
    assert all("key" in link and "type" not in link for link in issue["issuelinks"])
    assert issue["attachment"] and all("id" not in item and item["filename"] for item in issue["attachment"])
    if sandbox.flavour == "dc":  # the changelog is read from the expansion, which here is a string
        assert issue["changelog"] == [] and issue["changelog_counts"] == {"changes_shown": 0, "histories_read": 0}


async def test_an_answer_of_the_wrong_kind_is_a_clear_error(sandbox: SandboxServer) -> None:
    def listed(path: str, body: Any) -> Any:
        if path.endswith("/issueLinkType"):
            return body["issueLinkTypes"]  # a bare list instead of {"issueLinkTypes": [...]}
        if path.endswith("/changelog"):
            return "no changelog here"
        return body

    key = next(i.key for i in sandbox.state.issues if i.changelog)
    async with reshaped(sandbox, listed) as client:
        link_types = await call_error(client, "jira_list_link_types")
        changelog = (await call_error(client, "jira_batch_get_changelogs", issue_keys=[key])
                     if sandbox.flavour == "cloud" else "issue.changelog expected")
    assert "issueLinkType.list" in link_types and "a list" in link_types and "expected" in link_types
    assert "issue.changelog" in changelog and "expected" in changelog


async def test_projects_without_id_or_type_show_no_nulls(sandbox: SandboxServer) -> None:
    def bare(path: str, body: Any) -> Any:
        projects = body if isinstance(body, list) else body.get("values", []) if isinstance(body, dict) else []
        if path.endswith(("/project", "/project/search")):
            for project in projects:
                project.pop("id", None)
                project.pop("projectTypeKey", None)
        return body

    async with reshaped(sandbox, bare) as client:
        found = await call(client, "jira_list_projects")
    assert found["projects"] and all(project["key"] and project["name"] for project in found["projects"])
    assert all(None not in project.values() for project in found["projects"])


async def test_board_issues_show_the_sprint_with_its_state(sandbox: SandboxServer) -> None:
    store = sandbox.state
    issue = next(i for i in store.issues if any(store.sprints[s].state == "active" for s in i.sprint_ids))
    sprint = next(store.sprints[s] for s in issue.sprint_ids if store.sprints[s].state == "active")
    async with connect(sandbox) as client:
        found = await call(client, "jira_get_board_issues", board_id=sprint.board_id, jql=f"key = {issue.key}",
                           fields="summary,sprint")
    assert found["issues"][0]["sprint"] == f"{sprint.name} (active)"
