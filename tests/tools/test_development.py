"""The ``development`` toolset through the MCP client, against the sandbox's dev-status (Cloud and DC)."""

from __future__ import annotations

import pytest

from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.routes.devstatus import dev_info_of
from tests.tools.helpers import call, call_error, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["cloud", "dc"])
def shared(request: pytest.FixtureRequest, cloud_sandbox: SandboxServer, dc_sandbox: SandboxServer) -> SandboxServer:
    """The session's read-only sandbox of each flavour."""
    return cloud_sandbox if request.param == "cloud" else dc_sandbox


async def test_development_info_lists_what_the_connected_tool_holds(shared: SandboxServer) -> None:
    keys = [i.key for i in shared.state.issues if i.project_key == "PLAT"]
    with_data = next(k for k in keys if dev_info_of(k))
    without = next(k for k in keys if not dev_info_of(k))
    expected = dev_info_of(with_data)
    assert expected is not None
    async with connect(shared) as client:
        got = await call(client, "jira_get_development_info", issue_keys=[with_data.lower(), without])
    info, empty = got["issues"]
    pull = expected["pullrequest"][0]["pullRequests"][0]
    commit = expected["repository"][0]["repositories"][0]["commits"][0]
    assert info["issue"] == with_data
    assert info["pull_requests"] == [{"id": pull["id"], "title": pull["name"], "status": pull["status"],
                                      "author": "Ada Dev", "source": f"feature/{with_data}", "destination": "main",
                                      "updated": pull["lastUpdate"], "url": pull["url"]}]
    assert [(c["id"], c["url"]) for c in info["commits"]] == [(commit["displayId"], commit["url"])]
    assert [b["name"] for b in info["branches"]] == [f"feature/{with_data}"]
    assert info["builds"][0]["state"] == "SUCCESSFUL" and info["deployments"][0]["environment"] == "production"
    assert "note" not in info
    assert empty == {"issue": without, "note": empty["note"]} and "no source" in empty["note"]


async def test_development_info_stays_inside_the_projects_filter(shared: SandboxServer) -> None:
    key = next(i.key for i in shared.state.issues if i.project_key == "OPS")
    async with connect(shared, JIRA_PROJECTS_FILTER="PLAT") as client:
        error = await call_error(client, "jira_get_development_info", issue_keys=[key])
    assert "outside the projects this server may access" in error, error
