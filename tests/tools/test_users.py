"""The ``users`` toolset (users and fields) through the MCP client, against the sandbox."""

from __future__ import annotations

import pytest

from jiraplug.sandbox import SandboxServer, SandboxUser
from tests.tools.helpers import call, call_error, connect, tool_names

pytestmark = pytest.mark.anyio


@pytest.fixture(params=["cloud", "dc"])
def shared(request: pytest.FixtureRequest, cloud_sandbox: SandboxServer, dc_sandbox: SandboxServer) -> SandboxServer:
    return cloud_sandbox if request.param == "cloud" else dc_sandbox


def ident(sandbox: SandboxServer, user: SandboxUser) -> str:
    """What tools call a user's id: the account id on Cloud, the username on Data Center."""
    return user.account_id if sandbox.flavour == "cloud" else user.name


async def test_current_user_is_the_configured_account(shared: SandboxServer) -> None:
    me = shared.default_user
    async with connect(shared) as client:
        got = await call(client, "jira_get_current_user")
    assert got["id"] == ident(shared, me)
    assert got["name"] == me.display_name and got["email"] == me.email


async def test_search_users_finds_by_name_and_pages(shared: SandboxServer) -> None:
    bob = shared.users[1]
    async with connect(shared) as client:
        found = await call(client, "jira_search_users", query="bob")
        ids: list[str] = []
        start: int | None = 0
        for _ in range(10):
            # "example.com" is in every sandbox user's email
            page = await call(client, "jira_search_users", query="example.com", start_at=start, limit=2)
            ids += [u["id"] for u in page["users"]]
            start = page["next_start_at"]
            if start is None:
                break
        empty = await call_error(client, "jira_search_users", query="  ")
    assert [u["id"] for u in found["users"]] == [ident(shared, bob)]
    assert found["users"][0]["name"] == bob.display_name
    assert sorted(ids) == sorted(ident(shared, u) for u in shared.users)
    assert "query is empty" in empty


async def test_assignable_users_for_a_project_and_an_issue(shared: SandboxServer) -> None:
    erin = next(u for u in shared.users if u.name == "erin")  # may edit MOB only
    async with connect(shared) as client:
        plat = await call(client, "jira_search_assignable_users", project_key="PLAT", limit=100)
        mob = await call(client, "jira_search_assignable_users", issue_key="MOB-1", limit=100)
        neither = await call_error(client, "jira_search_assignable_users")
        both = await call_error(client, "jira_search_assignable_users", project_key="PLAT", issue_key="PLAT-1")
    assert ident(shared, erin) not in {u["id"] for u in plat["users"]}
    assert ident(shared, erin) in {u["id"] for u in mob["users"]}
    assert ident(shared, shared.default_user) in {u["id"] for u in plat["users"]}
    assert "exactly one of" in neither and "exactly one of" in both


async def test_get_user_and_an_unknown_one(shared: SandboxServer) -> None:
    carol = shared.users[2]
    async with connect(shared) as client:
        got = await call(client, "jira_get_user", user=ident(shared, carol))
        missing = await call_error(client, "jira_get_user", user="nobody-here")
    assert got == {"id": ident(shared, carol), "name": carol.display_name, "email": carol.email, "active": True}
    assert "404" in missing


async def test_search_fields_by_name_and_kind(shared: SandboxServer) -> None:
    async with connect(shared) as client:
        points = await call(client, "jira_search_fields", query="story points")
        custom = await call(client, "jira_search_fields", custom=True, limit=100)
        system = await call(client, "jira_search_fields", custom=False, limit=100)
        paged = await call(client, "jira_search_fields", limit=3)
    assert points["fields"][0] == {"id": "customfield_10016", "name": "Story Points", "custom": True,
                                   "type": "number"}
    assert custom["fields"] and all(f["custom"] for f in custom["fields"])
    assert {"summary", "priority"} <= {f["id"] for f in system["fields"]}
    assert not any(f["custom"] for f in system["fields"])
    assert len(paged["fields"]) == 3 and paged["next_start_at"] == 3


async def test_field_options_of_a_select_field_and_a_system_field(shared: SandboxServer) -> None:
    async with connect(shared) as client:
        severity = await call(client, "jira_get_field_options", field="Severity", project_key="PLAT",
                              issue_type="Bug")
        priority = await call(client, "jira_get_field_options", field="priority", project_key="PLAT")
        free_text = await call_error(client, "jira_get_field_options", field="Summary", project_key="PLAT")
        unknown = await call_error(client, "jira_get_field_options", field="Severty", project_key="PLAT")
    assert [o["value"] for o in severity["options"]] == ["Critical", "Major", "Minor", "Trivial"]
    assert severity["field"] == {"id": "customfield_10030", "name": "Severity"}
    assert [o["value"] for o in priority["options"]] == ["Highest", "High", "Medium", "Low", "Lowest"]
    assert "free input" in free_text
    assert "unknown field" in unknown and "Severity" in unknown


async def test_site_wide_options_of_a_custom_field_use_each_flavours_endpoint(shared: SandboxServer) -> None:
    async with connect(shared) as client:
        first = await call(client, "jira_get_field_options", field="customfield_10030", limit=3)
        rest = await call(client, "jira_get_field_options", field="Severity", start_at=first["next_start_at"])
        system = await call_error(client, "jira_get_field_options", field="Priority")
    assert [o["value"] for o in first["options"] + rest["options"]] == ["Critical", "Major", "Minor", "Trivial"]
    assert first["next_start_at"] == 3 and rest["next_start_at"] is None
    assert [o["id"] for o in first["options"]] == ["10040", "10041", "10042"]
    assert "system field" in system and "project_key" in system
    options_path = "/field/customfield_10030/context/" if shared.flavour == "cloud" else "/customFields/10030/options"
    assert any(options_path in record.path for record in shared.request_log.snapshot())


async def test_projects_filter_applies_to_project_and_issue_arguments(shared: SandboxServer) -> None:
    async with connect(shared, JIRA_PROJECTS_FILTER="PLAT") as client:
        errors = [
            await call_error(client, "jira_search_assignable_users", project_key="OPS"),
            await call_error(client, "jira_search_assignable_users", issue_key="OPS-1"),
            await call_error(client, "jira_get_field_options", field="priority", project_key="MOB"),
        ]
    assert all("outside the projects" in text for text in errors), errors


async def test_every_tool_is_read_only(shared: SandboxServer) -> None:
    mine = {"jira_get_current_user", "jira_search_users", "jira_search_assignable_users", "jira_get_user",
            "jira_search_fields", "jira_get_field_options"}
    async with connect(shared, READ_ONLY_MODE="true") as client:
        assert mine <= await tool_names(client)
