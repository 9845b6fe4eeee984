"""Service Management field values and Cloud's app noise through an MCP client (issue 14, points 4 and 5).

The sandbox serves the ``HELP`` project's requests as issues with the SLA, approval, request
type, participant, satisfaction and organization fields real sites send (Cloud and Data
Center); Cloud issues also carry a Parent Link with its licence error, Service Management error
objects, an empty ``issuerestriction``, the Development string, Time in Status and Rank.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.devinfo import dev_info_of
from tests.tools.helpers import call, connect

pytestmark = pytest.mark.anyio

DESK_FIELDS = ("summary,Time to first response,Time to resolution,Approvals,Request participants,Satisfaction,"
               "Organizations")


@pytest.fixture(scope="module", params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(flavour=request.param, seed=3, port=0) as server:
        yield server


def raw_issue(sandbox: SandboxServer, key: str) -> dict[str, Any]:
    """The sandbox's own answer, as Jira sends it, for ``fields=*all``."""
    user = sandbox.default_user
    cloud = sandbox.flavour == "cloud"
    headers = {} if cloud else {"Authorization": f"Bearer {user.personal_token}"}
    with httpx2.Client(base_url=sandbox.url, auth=(user.email, user.api_token) if cloud else None,
                       headers=headers) as http:
        response = http.get(f"/rest/api/{3 if cloud else 2}/issue/{key}", params={"fields": "*all"})
    assert response.status_code == 200, response.text[:200]
    return response.json()


async def test_service_requests_keep_their_sla_approval_and_request_state(sandbox: SandboxServer) -> None:
    request_type = "Request Type" if sandbox.flavour == "cloud" else "Customer Request Type"
    async with connect(sandbox) as client:
        old, late, laptop, done = [await call(client, "jira_get_issue", issue_key=f"HELP-{n}", fields="*all")
                                   for n in (1, 2, 3, 4)]
        by_name = await call(client, "jira_get_issue", issue_key="HELP-2", fields=f"{DESK_FIELDS},{request_type}")
    assert old["Time to resolution"] == {"goal": "24h", "remaining": "23h", "breached": False, "paused": True}
    assert old["Time to first response"] == {"goal": "4h", "elapsed": "1h", "breached": False,
                                             "completed_cycles": 1, "breached_cycles": 0}
    assert late["Time to first response"]["breached"] is True and late["Time to first response"]["remaining"] == "-2h"
    assert late[request_type] == {"name": "Get IT help", "status": "Waiting for support"}
    assert late["Request participants"] == ["Frank Moreau"] and late["Organizations"] == ["Acme Corp", "Globex"]
    assert laptop["Approvals"] == [{"name": "Waiting for approval", "decision": "pending",
                                    "approvers": {"Carol Díaz": "pending"}}]
    assert done["Satisfaction"] == "5/5: Quick fix, thanks!" and done["status"] == "Resolved"
    assert done["Time to first response"] == {"goal": "4h", "elapsed": "5h", "breached": True,
                                              "completed_cycles": 1, "breached_cycles": 1}
    # Asked for by name, the same fields come back the same way (HELP-2 has no approval nor rating).
    assert {k: v for k, v in late.items() if k in by_name} == by_name
    assert set(by_name) == {"key", "url", "summary", "Time to first response", "Time to resolution",
                            "Request participants", "Organizations", request_type}


async def test_a_decided_approval_shows_in_the_issue() -> None:
    with SandboxServer(flavour="dc", seed=3, port=0) as sandbox:
        carol = next(u for u in sandbox.users if u.name == "carol")
        async with connect(sandbox, JIRA_PERSONAL_TOKEN=carol.personal_token) as client:
            await call(client, "jira_answer_approval", issue_key="HELP-3", approval_id="1", decision="approve")
            laptop = await call(client, "jira_get_issue", issue_key="HELP-3", fields="Approvals,Customer Request Type")
    assert laptop["Approvals"] == [{"name": "Waiting for approval", "decision": "approved",
                                    "approvers": {"Carol Díaz": "approved"}}]
    assert laptop["Customer Request Type"] == {"name": "Request new hardware", "status": "Waiting for support"}


def status_reads(sandbox: SandboxServer) -> int:
    return sum(1 for record in sandbox.request_log.snapshot() if record.path.endswith("/status"))


async def test_cloud_noise_is_left_out_and_development_shows_its_counts(sandbox: SandboxServer) -> None:
    with_dev = next(i.key for i in sandbox.state.issues if dev_info_of(i.key))
    without_dev = next(i.key for i in sandbox.state.issues if not dev_info_of(i.key))
    raw = json.dumps(raw_issue(sandbox, with_dev)["fields"])
    status_reads_before = status_reads(sandbox)
    async with connect(sandbox) as client:
        issue = await call(client, "jira_get_issue", issue_key=with_dev, fields="*all")
        bare = await call(client, "jira_get_issue", issue_key=without_dev, fields="*all")
        found = await call(client, "jira_search", jql=f"key = {with_dev}", fields="*all")
        board = await call(client, "jira_get_board_issues", board_id=1, fields="*all", limit=3)
    shown = json.dumps([issue, bare, found, board], ensure_ascii=False)
    # Jira sent Rank on both flavours, and Cloud its app noise; none of it reaches the client.
    assert '"customfield_10019": "0|i' in raw and "0|i" not in shown and "Rank" not in shown
    for noise in ("PLUGIN_LICENSE_ERROR", "The service project you are trying to view", "issuerestriction"):
        assert (noise in raw) == (sandbox.flavour == "cloud") and noise not in shown
    assert "Parent Link" not in shown and "Time to first response" not in shown and "errorMessage" not in shown
    if sandbox.flavour == "dc":
        return
    state = dev_info_of(with_dev)["pullrequest"][0]["pullRequests"][0]["status"].lower()  # type: ignore[index]
    assert issue["Development"] == found["issues"][0]["Development"] == {
        "pull_requests": 1, "pull_request_state": state, "commits": 1, "branches": 1, "builds": 1, "deployments": 1}
    assert "Development" not in bare  # its raw value is "{}"
    # Time in Status names the statuses (read once, with GET /status) in every view of the issue.
    times = issue["Time in Status"]
    assert times and set(times) <= {status.name for status in sandbox.state.statuses}, times
    assert all("(entered " in value for value in times.values())
    assert found["issues"][0]["Time in Status"].keys() == times.keys()
    assert all(set(shown["Time in Status"]) <= {status.name for status in sandbox.state.statuses}
               for shown in board["issues"] if "Time in Status" in shown)
    assert status_reads(sandbox) - status_reads_before == 1  # one read for the four calls
