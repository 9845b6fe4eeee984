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
