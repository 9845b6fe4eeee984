"""Compact issues and the client's decoding, on the sandbox and on the specs' own example responses."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jiraplug.jira.compact import compact_issue, render_field, render_text
from jiraplug.jira.paging import decode_cloud_search, decode_dc_search, decode_offset_page
from tests.jira.conftest import direct_client
from tests.spec_contract import (
    CLOUD_AGILE,
    CLOUD_PLATFORM,
    DC_SOFTWARE,
    ExampleResponder,
    SpecContract,
    operation_example,
)

pytestmark = pytest.mark.anyio
BASE = "https://your-domain.atlassian.net"
NOISE = ("avatarUrls", "/rest/api/", "iconUrl", '"self"')


def assert_compact(issue: dict[str, Any]) -> None:
    text = json.dumps(issue)
    assert not any(noise in text for noise in NOISE), text[:400]


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_all_fields_of_a_sandbox_issue_become_a_small_readable_dict(
    flavour: str, cloud_sandbox: Any, dc_sandbox: Any
) -> None:
    sandbox = cloud_sandbox if flavour == "cloud" else dc_sandbox
    async with direct_client(sandbox) as jira:
        raw = await jira.get_issue("PLAT-5", fields=["*all"])
    issue = compact_issue(raw, jira.base_url)
    assert_compact(issue)
    assert len(json.dumps(issue)) * 4 < len(json.dumps(raw))
    assert issue["key"] == "PLAT-5" and issue["url"] == f"{sandbox.url}/browse/PLAT-5"
    for name in ("status", "priority", "issuetype", "assignee", "reporter"):
        assert isinstance(issue[name], str) and issue[name]
    assert all(isinstance(c, str) for c in issue["components"])
    assert all(isinstance(v, str) for v in issue["fixVersions"])
    assert issue["description"].startswith("The webhook dispatcher") and "```python" in issue["description"]
    assert "### Steps to reproduce" in issue["description"]  # a heading, from ADF or from wiki markup
    assert all(set(c) >= {"author", "body", "created"} and isinstance(c["body"], str) for c in issue["comment"])
    # Custom fields appear under their names (the client fetched the field list once).
    assert issue["Story Points"] == 13 and "customfield_10016" not in issue


async def test_requested_fields_only_by_id_or_name(cloud_sandbox: Any) -> None:
    async with direct_client(cloud_sandbox) as jira:
        raw = await jira.get_issue("PLAT-5", fields=["*all"])
    assert set(compact_issue(raw, BASE, fields=["summary", "Story Points"])) == {"key", "url", "summary",
                                                                                "Story Points"}
    dropped = compact_issue(raw, BASE, fields=["*all", "-comment", "-description"])
    assert "comment" not in dropped and "description" not in dropped and "summary" in dropped


async def test_search_results_name_custom_fields_too(dc_sandbox: Any) -> None:
    async with direct_client(dc_sandbox) as jira:
        page = await jira.search("project = PLAT ORDER BY key ASC", fields=["summary", "customfield_10016"], limit=20)
    rendered = [compact_issue(issue, jira.base_url) for issue in page.issues]
    assert page.names.get("customfield_10016") == "Story Points"
    assert any("Story Points" in issue for issue in rendered)
    assert not any("customfield_10016" in issue for issue in rendered)


def test_render_text_handles_adf_wiki_and_nothing() -> None:
    adf = {"type": "doc", "version": 1, "content": [
        {"type": "heading", "attrs": {"level": 2}, "content": [{"type": "text", "text": "Plan"}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "bold", "marks": [{"type": "strong"}]}]}]}
    assert render_text(adf) == "## Plan\n\n**bold**"
    assert render_text("h2. Plan\n\n*bold*") == "## Plan\n\n**bold**"
    assert render_text(None) == ""


def test_work_ratio_is_left_out_when_jira_has_no_estimate_to_compare_with() -> None:
    """Jira sends ``workratio: -1`` on every issue without an original estimate: not a ratio."""
    issue = {"key": "P-1", "fields": {"summary": "s", "workratio": -1}}
    assert "workratio" not in compact_issue(issue, BASE)
    estimated = {"key": "P-2", "fields": {"summary": "s", "workratio": 0, "timeoriginalestimate": 3600}}
    assert compact_issue(estimated, BASE)["workratio"] == 0
    assert render_field("workratio", 150) == 150


def test_sprint_fields_show_names_and_states() -> None:
    cloud = [{"id": 1, "name": "Sprint 7", "state": "active", "boardId": 3}]
    dc = ["com.atlassian.greenhopper.service.sprint.Sprint@1f[id=7,rapidViewId=3,state=CLOSED,name=Sprint 6,"
          "startDate=2026-01-01]"]
    assert render_field("customfield_10020", cloud) == ["Sprint 7 (active)"]
    assert render_field("customfield_10020", dc) == ["Sprint 6 (closed)"]


# ---------------------------------------------------------------------------- the specs' examples


@pytest.mark.parametrize(
    ("spec", "method", "path"),
    [
        (CLOUD_PLATFORM, "GET", "/rest/api/3/issue/EX-1"),
        (CLOUD_AGILE, "GET", "/rest/agile/1.0/sprint/1/issue"),  # the spec documents an issue here
        (DC_SOFTWARE, "GET", "/api/2/issue/EX-1"),
    ],
)
def test_spec_example_issues_compact_cleanly(spec: str, method: str, path: str) -> None:
    raw = operation_example(spec, method, path)
    issue = compact_issue(raw, BASE)
    assert_compact(issue)
    assert issue.get("key") and issue["url"].endswith(f"/browse/{issue['key']}")
    assert len(json.dumps(issue)) < len(json.dumps(raw))
    for value in issue.values():  # every nested object became a name or a small flat record
        if isinstance(value, list):
            assert all(not isinstance(item, dict) or all(not isinstance(v, dict) for v in item.values())
                       for item in value)


def test_spec_example_search_pages_decode_and_compact() -> None:
    for method in ("GET", "POST"):
        page = decode_cloud_search(operation_example(CLOUD_PLATFORM, method, "/rest/api/3/search/jql"))
        assert page.next_page_token is None and page.issues  # the example's isLast is true
        for raw in page.issues:
            assert_compact(compact_issue(raw, BASE))
    dc = decode_dc_search(operation_example(DC_SOFTWARE, "GET", "/api/2/search"), 0)
    assert dc.issues and dc.total == 1 and dc.next_page_token is None


@pytest.mark.parametrize(
    ("spec", "path", "key", "field"),
    [
        (CLOUD_PLATFORM, "/rest/api/3/issue/EX-1/comment", "comments", "comment"),
        (CLOUD_PLATFORM, "/rest/api/3/issue/EX-1/worklog", "worklogs", "worklog"),
        (DC_SOFTWARE, "/api/2/issue/EX-1/comment", "comments", "comment"),
    ],
)
def test_spec_example_comment_and_worklog_pages(spec: str, path: str, key: str, field: str) -> None:
    data = operation_example(spec, "GET", path)
    page = decode_offset_page(data, key, 0, 50)
    assert page.items and page.next_start_at is None and page.total == len(page.items)
    rendered = render_field(field, data)
    assert rendered and all(isinstance(item["author"], str) for item in rendered)
    text_key = "body" if field == "comment" else "comment"
    assert all(isinstance(item.get(text_key, ""), str) for item in rendered)
    assert_compact({"items": rendered})


def test_spec_example_transitions_name_their_target_status() -> None:
    data = operation_example(CLOUD_PLATFORM, "GET", "/rest/api/3/issue/EX-1/transitions")
    targets = [render_field("to", t["to"]) for t in data["transitions"]]
    assert targets and all(isinstance(name, str) and name for name in targets)


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_the_client_decodes_what_the_specs_document(flavour: str, cloud_sandbox: Any) -> None:
    # The client runs its real code path; the answers are the specs' examples, not the sandbox's.
    responder = ExampleResponder(flavour)
    contract = SpecContract(flavour)
    async with direct_client(cloud_sandbox, deployment=flavour,
                             middlewares=[("contract", contract.middleware), ("examples", responder)]) as jira:
        issue = await jira.get_issue("EX-1")
        page = await jira.search("project = EX", fields=["summary"], limit=10)
        comments = await jira.paginate(f"{jira.api}/issue/EX-1/comment", operation="comment.list",
                                       items_key="comments", limit=10)
        if flavour == "cloud":
            boards = await jira.paginate(f"{jira.agile}/board", operation="board.list", limit=2)
            fields = await jira.field_list()
            # The example is a middle page: startAt 1, two values, isLast false -> next at 3.
            assert len(boards.items) == 2 and boards.next_start_at == 3 and boards.total == 5
            assert jira.field_names and all(isinstance(name, str) for name in jira.field_names.values())
            assert len(fields) == len(jira.field_names)
    assert compact_issue(issue, jira.base_url)["key"]
    assert page.issues and page.next_page_token is None
    assert comments.items and comments.next_start_at is None
    contract.assert_clean(at_least=3)
