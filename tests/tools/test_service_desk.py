"""The ``service_desk`` toolset (Jira Service Management) through the MCP client, Cloud and Data Center."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jiraplug.sandbox import SandboxServer, SandboxUser
from tests.tools.helpers import call, call_error, connect, tool_names

pytestmark = pytest.mark.anyio

WRITES = {"jira_create_request", "jira_add_request_comment", "jira_answer_approval", "jira_transition_request",
          "jira_edit_request_participants"}


@pytest.fixture(scope="module", params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    with SandboxServer(flavour=request.param, seed=5, port=0) as server:
        yield server


def user(sandbox: SandboxServer, name: str) -> SandboxUser:
    return next(u for u in sandbox.users if u.name == name)


def ident(sandbox: SandboxServer, name: str) -> str:
    found = user(sandbox, name)
    return found.account_id if sandbox.flavour == "cloud" else found.name


def as_user(sandbox: SandboxServer, name: str) -> dict[str, str]:
    """Environment for connecting as ``name`` instead of the default user."""
    found = user(sandbox, name)
    if sandbox.flavour == "cloud":
        return {"JIRA_USERNAME": found.email, "JIRA_API_TOKEN": found.api_token}
    return {"JIRA_PERSONAL_TOKEN": found.personal_token}


async def test_desks_queues_request_types_and_fields(sandbox: SandboxServer) -> None:
    async with connect(sandbox) as client:
        desks = await call(client, "jira_list_service_desks")
        of_help = await call(client, "jira_list_service_desks", project_key="help")
        of_mob = await call(client, "jira_list_service_desks", project_key="MOB")
        queues = await call(client, "jira_list_queues", service_desk_id="1")
        support = await call(client, "jira_get_queue_issues", service_desk_id="1", queue_id="2")
        types = await call(client, "jira_get_request_types", service_desk_id="1")
        fields = await call(client, "jira_get_request_types", service_desk_id="1", request_type_id="2")
    assert desks["items"] == [{"id": "1", "project_key": "HELP", "project": "Help Desk"}] == of_help["items"]
    assert of_mob["items"] == []
    assert {q["name"]: q["count"] for q in queues["items"]} == {"All open": 3, "Waiting for support": 1, "Resolved": 0}
    assert [i["key"] for i in support["items"]] == ["HELP-2"]
    assert [t["name"] for t in types["items"]] == ["Get IT help", "Request new hardware"]
    hardware = next(f for f in fields["fields"] if f["id"] == "customfield_10700")
    assert hardware["required"] and [v["label"] for v in hardware["valid_values"]] == ["Laptop", "Monitor", "Keyboard"]
    assert fields["can_raise_on_behalf_of"] is True


async def test_request_with_slas_approvals_and_participants(sandbox: SandboxServer) -> None:
    async with connect(sandbox) as client:
        old = await call(client, "jira_get_request", issue_key="HELP-1")
        late = await call(client, "jira_get_request", issue_key="HELP-2")
        laptop = await call(client, "jira_get_request", issue_key="HELP-3")
    first, resolution = old["slas"]
    assert first["completed"] and not first["breached"] and first["elapsed"] == "1h"
    assert resolution["paused"] and not resolution["completed"]
    assert late["slas"][0]["breached"] and late["slas"][0]["remaining"].startswith("-")
    assert late["participants"] == ["Frank Moreau"] and late["reporter"] == "Dave Kowalski"
    assert laptop["status"] == "Waiting for approval" and laptop["fields"]["customfield_10700"]["value"] == "Laptop"
    assert laptop["approvals"][0]["approvers"] == ["Carol Díaz"] and laptop["approvals"][0]["decision"] == "pending"
    assert {t["name"] for t in late["transitions"]} == {"Respond to customer", "Resolve"}


async def test_create_comment_transition_participants(sandbox: SandboxServer) -> None:
    desk = sandbox.state.service_desk
    async with connect(sandbox) as client:
        made = await call(client, "jira_create_request", service_desk_id="1", request_type_id="1",
                          fields={"summary": "Monitor flickers", "description": "since Monday"},
                          on_behalf_of=ident(sandbox, "frank"), participants=[ident(sandbox, "dave")])
        key = made["key"]
        request = desk.request(key)
        assert request.reporter.name == "frank" and [u.name for u in request.participants] == ["dave"]
        assert request.values["summary"] == "Monitor flickers" and made["status"] == "Waiting for support"
        before = await call(client, "jira_get_request", issue_key=key)
        await call(client, "jira_add_request_comment", issue_key=key, body="checking logs", public=False)
        assert request.comments[-1].public is False and request.first_response is None
        await call(client, "jira_add_request_comment", issue_key=key, body="Try another cable")
        assert request.first_response is not None
        after = await call(client, "jira_get_request", issue_key=key)
        await call(client, "jira_transition_request", issue_key=key, transition_id="21", comment="fixed")
        assert request.status == "Resolved" and request.comments[-1].body == "fixed"
        edited = await call(client, "jira_edit_request_participants", issue_key=key,
                            add=[ident(sandbox, "bob")], remove=[ident(sandbox, "dave")])
        assert [u.name for u in request.participants] == ["bob"] and edited["participants"] == ["Bob Okafor"]
        missing = await call_error(client, "jira_create_request", service_desk_id="1", request_type_id="2",
                                   fields={"summary": "x", "customfield_10700": "Tablet"})
        wrong = await call_error(client, "jira_transition_request", issue_key=key, transition_id="11")
    assert not before["slas"][0]["completed"] and after["slas"][0]["completed"]
    assert "Tablet" in missing and "not available" in wrong


async def test_approval_by_the_approver_only(sandbox: SandboxServer) -> None:
    desk = sandbox.state.service_desk
    async with connect(sandbox) as client:
        made = await call(client, "jira_create_request", service_desk_id="1", request_type_id="2",
                          fields={"summary": "Second monitor", "customfield_10700": "Monitor"})
        refused = await call_error(client, "jira_answer_approval", issue_key=made["key"], approval_id="2",
                                   decision="approve")
    async with connect(sandbox, **as_user(sandbox, "carol")) as client:
        answered = await call(client, "jira_answer_approval", issue_key=made["key"], approval_id="2",
                              decision="decline")
    assert "not an approver" in refused
    assert answered["decision"] == "declined" and desk.request(made["key"]).status == "Declined"


async def test_a_customer_sees_only_their_requests_and_no_queues(sandbox: SandboxServer) -> None:
    async with connect(sandbox, **as_user(sandbox, "frank")) as client:
        own = await call(client, "jira_get_request", issue_key="HELP-1")
        other = await call(client, "jira_get_request", issue_key="HELP-2")  # a participant
        queues = await call_error(client, "jira_list_queues", service_desk_id="1")
        internal = await call_error(client, "jira_add_request_comment", issue_key="HELP-1", body="x", public=False)
        on_behalf = await call_error(client, "jira_create_request", service_desk_id="1", request_type_id="1",
                                     fields={"summary": "x"}, on_behalf_of=ident(sandbox, "dave"))
    async with connect(sandbox, **as_user(sandbox, "dave")) as client:
        hidden = await call_error(client, "jira_get_request", issue_key="HELP-1")
    async with connect(sandbox, **as_user(sandbox, "erin")) as client:
        no_desk = await call(client, "jira_list_service_desks")
    assert own["key"] == "HELP-1" and other["key"] == "HELP-2" and own["transitions"] == []
    assert "agent" in queues and "internal" in internal and "on behalf" in on_behalf
    assert "does not exist" in hidden and no_desk["items"] == []


async def test_read_only_hides_writes_and_the_toolset_can_be_switched_off(sandbox: SandboxServer) -> None:
    async with connect(sandbox, READ_ONLY_MODE="true") as client:
        read_only = await tool_names(client)
    async with connect(sandbox, TOOLSETS="issues") as client:
        without = await tool_names(client)
    assert "jira_get_request" in read_only and not WRITES & read_only
    assert not {"jira_get_request", "jira_list_queues"} & without


async def test_the_projects_filter_refuses_the_help_desk(sandbox: SandboxServer) -> None:
    async with connect(sandbox, JIRA_PROJECTS_FILTER="MOB") as client:
        desks = await call(client, "jira_list_service_desks")
        queues = await call_error(client, "jira_list_queues", service_desk_id="1")
        request = await call_error(client, "jira_get_request", issue_key="HELP-1")
    assert desks["items"] == []
    assert "outside the projects" in queues and "outside the projects" in request


async def test_the_filter_lets_writes_to_a_desk_inside_it_through(sandbox: SandboxServer) -> None:
    """The request guard knows the servicedeskapi writes (an unknown write is refused while a filter is set)."""
    desk = sandbox.state.service_desk
    async with connect(sandbox, JIRA_PROJECTS_FILTER="HELP") as client:
        made = await call(client, "jira_create_request", service_desk_id="1", request_type_id="1",
                          fields={"summary": "Inside the filter"})
        await call(client, "jira_add_request_comment", issue_key=made["key"], body="on it")
        await call(client, "jira_edit_request_participants", issue_key=made["key"], add=[ident(sandbox, "dave")])
    request = desk.request(made["key"])
    assert request.comments[-1].body == "on it" and [u.name for u in request.participants] == ["dave"]
