"""Changelogs of long-lived issues (issue 14, point 2): the newest entries, and how many there are.

Cloud pages ``/issue/{key}/changelog`` oldest first, 100 histories a page; Data Center embeds
every history in ``expand=changelog``. Both must show the *latest* changes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.model import ChangeItem
from tests.tools.helpers import call, connect

pytestmark = pytest.mark.anyio

HISTORIES = 250  # three Cloud pages: the newest are on the last, the first alone is not enough


@pytest.fixture(params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(flavour=request.param, seed=7, port=0) as sb:
        yield sb


def long_lived(sandbox: SandboxServer) -> str:
    """An issue given HISTORIES histories: summary v0 -> v1 -> ..., with a label change every 10th."""
    store = sandbox.state
    issue = next(i for i in store.issues if not i.changelog)
    author = store.default_user
    start = dt.datetime(2025, 1, 1, tzinfo=dt.timezone.utc)
    for n in range(HISTORIES):
        items = [ChangeItem("summary", "jira", None, f"v{n}", None, f"v{n + 1}")]
        if n % 10 == 0:
            items.append(ChangeItem("labels", "jira", None, "", None, f"l{n}"))
        store.record(issue, author, items, when=start + dt.timedelta(minutes=n))
    return issue.key


async def test_batch_changelogs_show_the_newest_changes_and_the_counts(sandbox: SandboxServer) -> None:
    key = long_lived(sandbox)
    async with connect(sandbox) as client:
        result = await call(client, "jira_batch_get_changelogs", issue_keys=[key], fields="summary", limit=20)
        labels = await call(client, "jira_batch_get_changelogs", issue_keys=[key], fields="labels", limit=100)
    found = result["changelogs"][key]
    assert [c["to"] for c in found["changes"]] == [f"v{n}" for n in range(HISTORIES - 19, HISTORIES + 1)]
    assert found["changes_shown"] == 20 and found["histories_total"] == HISTORIES
    if sandbox.flavour == "cloud":  # the last page was enough: the answer says how much was read
        assert found["histories_read"] == 100
    # Only 25 label changes exist: older pages are read to find them, back to the first history.
    tagged = labels["changelogs"][key]
    assert [c["to"] for c in tagged["changes"]] == [f"l{n}" for n in range(0, HISTORIES, 10)]
    assert tagged["histories_total"] == HISTORIES and "histories_read" not in tagged  # all were read


async def test_get_issue_changelog_is_the_latest_changes(sandbox: SandboxServer) -> None:
    key = long_lived(sandbox)
    async with connect(sandbox) as client:
        issue = await call(client, "jira_get_issue", issue_key=key, changelog=True, comment_limit=0)
    summaries = [c["to"] for c in issue["changelog"] if c["field"] == "summary"]
    assert summaries[-1] == f"v{HISTORIES}" and summaries == sorted(summaries, key=lambda v: int(v[1:]))
    assert len(issue["changelog"]) == 50
    assert issue["changelog_counts"]["changes_shown"] == 50
    assert issue["changelog_counts"]["histories_total"] == HISTORIES


async def test_cloud_changelog_pages_like_cloud(sandbox: SandboxServer) -> None:
    """The sandbox's changelog list is paged oldest first, with total and nextPage, as the spec shows."""
    if sandbox.flavour != "cloud":
        pytest.skip("the changelog list is Cloud's")
    key = long_lived(sandbox)
    user = sandbox.default_user
    with httpx2.Client(base_url=sandbox.url, auth=(user.email, user.api_token)) as http:
        first = http.get(f"/rest/api/3/issue/{key}/changelog").json()
        last = http.get(f"/rest/api/3/issue/{key}/changelog", params={"startAt": 100, "maxResults": 100}).json()
        tail = http.get(f"/rest/api/3/issue/{key}/changelog", params={"startAt": 200, "maxResults": 100}).json()
    assert (first["startAt"], first["maxResults"], first["total"], first["isLast"]) == (0, 100, HISTORIES, False)
    assert len(first["values"]) == 100 and "startAt=100" in first["nextPage"]
    assert first["values"][0]["items"][0]["toString"] == "v1"
    assert (last["startAt"], last["isLast"], len(last["values"])) == (100, False, 100)
    assert (tail["isLast"], len(tail["values"])) == (True, 50) and "nextPage" not in tail
    assert tail["values"][-1]["items"][0]["toString"] == f"v{HISTORIES}"
