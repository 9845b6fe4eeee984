"""The ``reports`` toolset and the smaller project/worklog tools, through the MCP client (Cloud and DC)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator

import pytest

from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.model import ChangeItem
from tests.tools.helpers import call, call_error, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module", params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox of each flavour for this module (tests touch different objects)."""
    with SandboxServer(flavour=request.param, seed=3, port=0) as server:
        yield server


async def test_project_issues_are_the_projects_newest_first(sandbox: SandboxServer) -> None:
    issues = sorted((i for i in sandbox.state.issues if i.key.startswith("PLAT-")),
                    key=lambda i: i.created, reverse=True)
    async with connect(sandbox) as client:
        first = await call(client, "jira_get_project_issues", project_key="plat", limit=2)
        second = await call(client, "jira_get_project_issues", project_key="PLAT", limit=2,
                            page_token=first["next_page_token"])
    got = [i["key"] for i in first["issues"] + second["issues"]]
    assert got == [i.key for i in issues[:4]]


async def test_time_in_status_reads_every_page_of_a_long_changelog(sandbox: SandboxServer) -> None:
    """130 status changes: more than one page (100) of Cloud's changelog."""
    issue = next(i for i in sandbox.state.issues if i.key.startswith("MOB-"))
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(hours=200)
    issue.created, issue.changelog = start, []
    author = sandbox.state.users[0]
    for hour in range(130):
        there, back = ("To Do", "In Progress") if hour % 2 == 0 else ("In Progress", "To Do")
        sandbox.state.record(issue, author, [ChangeItem("status", "jira", None, there, None, back)],
                             when=start + dt.timedelta(hours=hour + 1))
    async with connect(sandbox) as client:
        got = await call(client, "jira_get_issue_dates", issue_keys=[issue.key.lower()])
    [dates] = got["issues"]
    spent = {row["status"]: row for row in dates["time_in_status"]}
    assert dates["issue"] == issue.key and dates["created"]
    assert spent["In Progress"]["seconds"] == 65 * 3600 and spent["In Progress"]["times_entered"] == 65
    assert spent["To Do"]["times_entered"] == 66
    assert abs(spent["To Do"]["seconds"] - 135 * 3600) < 600  # 65 h of changes, then 70 h until now


async def test_get_one_worklog_by_id(sandbox: SandboxServer) -> None:
    issue = next(i for i in sandbox.state.issues if i.worklogs)
    worklog = issue.worklogs[0]
    async with connect(sandbox) as client:
        got = await call(client, "jira_get_worklog", issue_key=issue.key, worklog_id=worklog.id)
        bad = await call_error(client, "jira_get_worklog", issue_key=issue.key, worklog_id="x1")
    assert got["id"] == worklog.id and got["seconds"] == worklog.time_spent_seconds
    assert "not valid" in bad


async def test_create_several_versions_reports_each_outcome(sandbox: SandboxServer) -> None:
    async with connect(sandbox) as client:
        got = await call(client, "jira_create_versions", project_key="MOB", versions=[
            {"name": "7.0.0", "release_date": "2027-01-31"}, {"name": " "}, {"name": "7.1.0", "released": True}])
    stored = {v.name: v for v in sandbox.state.projects["MOB"].versions}
    assert [v["name"] for v in got["created"]] == ["7.0.0", "7.1.0"]
    assert [f["name"] for f in got["failed"]] == [" "] and "name is empty" in got["failed"][0]["error"]
    assert "7.0.0" in stored and stored["7.1.0"].released


async def test_epic_hierarchy_lists_each_epics_children_and_progress(sandbox: SandboxServer) -> None:
    issues = sandbox.state.issues
    epics = [i for i in issues if i.project_key == "PLAT" and i.issuetype.hierarchy_level == 1]
    assert epics, "the sandbox has no PLAT epics"
    async with connect(sandbox) as client:
        got = await call(client, "jira_get_epic_hierarchy", project_key="plat")
    by_key = {e["key"]: e for e in got["epics"]}
    assert set(by_key) == {e.key for e in epics}
    for epic in epics:
        children = [i for i in issues if i.parent_id == int(epic.id)]
        row = by_key[epic.key]
        assert sorted(c["key"] for c in row["children"]) == sorted(c.key for c in children)
        assert row["done"] == sum(c.status.category.key == "done" for c in children) and row["total"] == len(children)


async def test_dependencies_as_a_list_and_a_mermaid_graph(sandbox: SandboxServer) -> None:
    plat = [i.key for i in sandbox.state.issues if i.project_key == "PLAT"][-1]
    mob = [i.key for i in sandbox.state.issues if i.project_key == "MOB"][-2]
    async with connect(sandbox) as client:
        await call(client, "jira_create_issue_link", link_type="Blocks", from_key=plat, to_key=mob)
        got = await call(client, "jira_get_issue_dependencies", issue_keys=[mob])
    async with connect(sandbox, JIRA_PROJECTS_FILTER="MOB") as client:
        filtered = await call(client, "jira_get_issue_dependencies", issue_keys=[mob])
    assert {"blocker": plat, "blocked": mob, "cross_project": True} in got["dependencies"]
    assert got["mermaid"].startswith("graph LR") and f'{plat.replace("-", "_")}["{plat}: ' in got["mermaid"]
    assert f'-->|blocks| {mob.replace("-", "_")}' in got["mermaid"]
    assert plat not in str(filtered) and "outside JIRA_PROJECTS_FILTER" in filtered["hidden"]
