"""The ``projects`` toolset through the MCP client, against the sandbox (Cloud and Data Center)."""

from __future__ import annotations

from collections.abc import Iterator
import pytest

from jiraplug.sandbox import SandboxServer
from tests.tools.helpers import call, call_error, connect, tool_names

pytestmark = pytest.mark.anyio

WRITE_TOOLS = {"jira_create_version", "jira_update_version", "jira_create_component"}


@pytest.fixture(params=["cloud", "dc"])
def shared(request: pytest.FixtureRequest, cloud_sandbox: SandboxServer, dc_sandbox: SandboxServer) -> SandboxServer:
    """The session's read-only sandbox of each flavour."""
    return cloud_sandbox if request.param == "cloud" else dc_sandbox


@pytest.fixture(scope="module", params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox of each flavour for this module's writes (tests touch different objects)."""
    with SandboxServer(flavour=request.param, seed=3, port=0) as server:
        yield server


async def test_list_projects_pages_through_every_visible_project(shared: SandboxServer) -> None:
    expected = sorted(shared.state.projects)
    async with connect(shared) as client:
        everything = await call(client, "jira_list_projects")
        keys: list[str] = []
        start: int | None = 0
        for _ in range(10):
            page = await call(client, "jira_list_projects", start_at=start, limit=1)
            keys += [p["key"] for p in page["projects"]]
            start = page["next_start_at"]
            if start is None:
                break
        matching = await call(client, "jira_list_projects", query="plat")
    assert sorted(p["key"] for p in everything["projects"]) == expected
    assert everything["next_start_at"] is None
    assert sorted(keys) == expected and len(keys) == len(set(keys))
    assert [p["key"] for p in matching["projects"]] == ["PLAT"]
    assert matching["projects"][0]["name"] == shared.state.projects["PLAT"].name


async def test_get_project_shows_lead_components_and_open_versions(shared: SandboxServer) -> None:
    project = shared.state.projects["PLAT"]
    async with connect(shared) as client:
        got = await call(client, "jira_get_project", project_key="plat")
    assert got["key"] == "PLAT" and got["name"] == project.name
    assert got["lead"] == project.lead.display_name
    assert got["components"] == [c.name for c in project.components]
    assert got["unreleased_versions"] == [v.name for v in project.versions if not v.released and not v.archived]
    assert "Bug" in got["issue_types"] and got["url"].endswith("/browse/PLAT")


async def test_issue_types_and_create_metadata(shared: SandboxServer) -> None:
    async with connect(shared) as client:
        types = await call(client, "jira_get_project_issue_types", project_key="PLAT")
        meta = await call(client, "jira_get_create_metadata", project_key="PLAT", issue_type="bug")
        required = await call(client, "jira_get_create_metadata", project_key="PLAT", issue_type="Bug",
                              required_only=True)
        unknown = await call_error(client, "jira_get_create_metadata", project_key="PLAT", issue_type="Saga")
    names = {t["name"] for t in types["issue_types"]}
    assert {"Bug", "Task", "Story", "Epic"} <= names
    assert types["next_start_at"] is None
    assert meta["issue_type"]["name"] == "Bug"
    fields = {f["id"]: f for f in meta["fields"]}
    assert fields["summary"]["required"] is True
    assert {"High", "Low"} <= {v["value"] for v in fields["priority"]["allowed_values"]}
    assert required["fields"] and all(f["required"] for f in required["fields"])
    assert len(required["fields"]) < len(meta["fields"])
    assert "Saga" in unknown and "Bug" in unknown  # says what was wrong and what exists


async def test_versions_list_and_filter_by_release_state(shared: SandboxServer) -> None:
    project = shared.state.projects["PLAT"]
    async with connect(shared) as client:
        everything = await call(client, "jira_list_project_versions", project_key="PLAT")
        released = await call(client, "jira_list_project_versions", project_key="PLAT", released=True)
        first = await call(client, "jira_list_project_versions", project_key="PLAT", limit=1)
    assert [v["name"] for v in everything["versions"]] == [v.name for v in project.versions]
    assert [v["name"] for v in released["versions"]] == [v.name for v in project.versions if v.released]
    assert len(first["versions"]) == 1 and first["next_start_at"] == 1


async def test_create_and_update_a_version(sandbox: SandboxServer) -> None:
    async with connect(sandbox) as client:
        created = await call(client, "jira_create_version", project_key="MOB", name="6.0.0",
                             description="Big one", release_date="2027-02-01")
        bad_date = await call_error(client, "jira_create_version", project_key="MOB", name="6.1.0",
                                    release_date="01/02/2027")
        updated = await call(client, "jira_update_version", version_id=created["id"], released=True,
                             name="6.0.1")
        nothing = await call_error(client, "jira_update_version", version_id=created["id"])
    stored = {v.name: v for v in sandbox.state.projects["MOB"].versions}
    assert created["name"] == "6.0.0" and created["release_date"] == "2027-02-01"
    assert "release_date" in bad_date and "YYYY-MM-DD" in bad_date
    assert "6.1.0" not in stored  # a refused call writes nothing
    assert "6.0.0" not in stored and stored["6.0.1"].released is True
    assert str(stored["6.0.1"].release_date) == "2027-02-01"
    assert updated["released"] is True and updated["name"] == "6.0.1"
    assert "nothing to change" in nothing


async def test_components_list_and_create(sandbox: SandboxServer) -> None:
    bob = sandbox.users[1]
    lead = bob.account_id if sandbox.flavour == "cloud" else bob.name
    async with connect(sandbox) as client:
        listed = await call(client, "jira_list_project_components", project_key="OPS")
        created = await call(client, "jira_create_component", project_key="OPS", name="Storage",
                             description="Disks and buckets", lead=lead)
        after = await call(client, "jira_list_project_components", project_key="OPS", limit=100)
    names = [c.name for c in sandbox.state.projects["OPS"].components]
    assert [c["name"] for c in listed["components"]] == names[: len(listed["components"])]
    assert created["name"] == "Storage" and created["lead"] == bob.display_name
    assert "Storage" in names and "Storage" in [c["name"] for c in after["components"]]
    stored = next(c for c in sandbox.state.projects["OPS"].components if c.name == "Storage")
    assert stored.lead is not None and stored.lead.name == "bob"


async def test_projects_filter_hides_and_refuses_other_projects(shared: SandboxServer) -> None:
    async with connect(shared, JIRA_PROJECTS_FILTER="PLAT") as client:
        listed = await call(client, "jira_list_projects")
        refusals = [
            await call_error(client, "jira_get_project", project_key="OPS"),
            await call_error(client, "jira_get_project_issue_types", project_key="MOB"),
            await call_error(client, "jira_list_project_versions", project_key="OPS"),
            await call_error(client, "jira_create_version", project_key="OPS", name="x"),
            await call_error(client, "jira_get_create_metadata", project_key="OPS", issue_type="Bug"),
        ]
        version = shared.state.projects["OPS"].versions[0]
        refusals.append(await call_error(client, "jira_update_version", version_id=version.id, name="x"))
    assert [p["key"] for p in listed["projects"]] == ["PLAT"]
    assert all("outside the projects" in text for text in refusals), refusals
    assert shared.state.projects["OPS"].versions[0].name == version.name


async def test_read_only_mode_hides_write_tools(shared: SandboxServer) -> None:
    async with connect(shared) as client:
        everything = await tool_names(client)
    async with connect(shared, READ_ONLY_MODE="true") as client:
        visible = await tool_names(client)
    assert WRITE_TOOLS <= everything
    assert not WRITE_TOOLS & visible
    assert {"jira_list_projects", "jira_get_create_metadata", "jira_list_project_versions"} <= visible
