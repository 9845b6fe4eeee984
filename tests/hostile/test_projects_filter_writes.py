"""``JIRA_PROJECTS_FILTER`` holds for every write, whatever tool or field carries the reference (issue 19).

The server is restricted to MOB (see ``harness``). Every tool that is not read-only, as
``tools/list`` announces it, must have cases here: a new write tool fails
:func:`test_every_write_tool_has_cases` until it is covered. Every field of the sandbox's
field list that holds a reference (by system id or custom type: Epic Link, Parent Link,
issue pickers, Sprint, version and project pickers, parent, project, fix/affects versions,
issue links) is sent pointing outside the filter through each tool that takes fields. Each
call goes through the real MCP client to the sandbox and must be refused by the filter, with
no write reaching Jira, the sandbox's state unchanged, and no other project's issue named
unless the caller named it. The same fields pointing inside the filter are not refused by it
(so a guard that refuses everything fails).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import httpx2
import pytest
from mcp.types import CallToolResult

from jiraplug import current_call, hookimpl
from jiraplug.sandbox.fields import catalogue
from jiraplug.sandbox.model import Issue
from tests.hostile.harness import HostileServer, hostile_server
from tests.hostile.strategies import ALLOWED

FOREIGN = "PLAT"
REFUSED = "outside the projects this server may access"
UNCHECKED = "cannot be checked against the projects filter"
FOREIGN_NAMES = re.compile(r"\b(?:PLAT|OPS)(?:-\d+)?\b")

# What holds a reference, in Jira's own vocabulary (independent of the server's classification).
REFERENCE_CUSTOM_TYPES = {
    "com.pyxis.greenhopper.jira:gh-epic-link": "epic",
    "com.atlassian.jpo:jpo-custom-field-parent": "epic",
    "com.atlassian.jira.plugin.system.customfieldtypes:issuepicker": "issue",
    "com.atlassian.jira.plugin.system.customfieldtypes:multiissuepicker": "issues",
    "com.pyxis.greenhopper.jira:gh-sprint": "sprint",
    "com.atlassian.jira.plugin.system.customfieldtypes:version": "version",
    "com.atlassian.jira.plugin.system.customfieldtypes:multiversion": "versions",
    "com.atlassian.jira.plugin.system.customfieldtypes:project": "project",
}
REFERENCE_SYSTEM_FIELDS = {"parent": "epic", "project": "project", "fixVersions": "versions", "versions": "versions",
                           "issuelinks": "links"}
FIELD_TOOLS = ("jira_update_issue", "jira_create_issue", "jira_batch_create_issues", "jira_transition_issue")


@dataclass
class World:
    """A server restricted to MOB, and ids in and outside the filter (``[0]`` outside, ``[1]`` inside)."""

    harness: HostileServer
    flavour: str
    epic: tuple[str, str]
    epic_id: str
    issue: tuple[str, str]
    sprint: tuple[int, int]
    board: int
    version: tuple[str, str]
    project_id: str
    cross_link: str
    foreign_comment: str

    @property
    def target(self) -> str:
        return self.harness.sentinel

    def values(self, kind: str) -> tuple[Any, Any]:
        """``(outside, inside)`` values for a reference of ``kind``."""
        if kind == "epic":
            return self.epic
        if kind == "issue":
            return self.issue
        if kind == "issues":
            return [self.issue[1], self.issue[0]], [self.issue[1]]
        if kind == "sprint":
            return self.sprint
        if kind == "version":
            return {"id": self.version[0]}, {"id": self.version[1]}
        if kind == "versions":
            return [{"id": self.version[1]}, {"id": self.version[0]}], [{"id": self.version[1]}]
        if kind == "project":
            return {"key": FOREIGN}, {"key": ALLOWED}
        if kind == "links":
            return ([{"type": {"name": "Blocks"}, "outwardIssue": {"key": self.issue[0]}}],
                    [{"type": {"name": "Blocks"}, "outwardIssue": {"key": self.issue[1]}}])
        raise AssertionError(kind)


def _world(harness: HostileServer, flavour: str) -> World:
    store = harness.sandbox.state
    with store.lock:
        def first(project: str, kind: str) -> Issue:
            return next(i for i in store.issues if i.project_key == project and i.issuetype.name == kind)

        def future_sprint(project: str) -> int:
            return next(s.id for s in store.projects[project].sprints if s.state == "future")

        epics = first(FOREIGN, "Epic"), first(ALLOWED, "Epic")
        tasks = first(FOREIGN, "Task"), first(ALLOWED, "Task")
        foreign_comment = next(c.id for i in store.issues if i.project_key == FOREIGN for c in i.comments)
    # A link across the filter's edge, made by an administrator outside this server.
    sandbox = harness.sandbox
    api = "/rest/api/3" if flavour == "cloud" else "/rest/api/2"
    user = sandbox.default_user
    auth: Any = (user.email, user.api_token) if flavour == "cloud" else None
    headers = {} if flavour == "cloud" else {"Authorization": f"Bearer {user.personal_token}"}
    with httpx2.Client(base_url=sandbox.url, auth=auth, headers=headers) as admin:
        made = admin.post(f"{api}/issueLink", json={"type": {"name": "Relates"}, "outwardIssue": {"key": tasks[1].key},
                                                     "inwardIssue": {"key": tasks[0].key}})
        assert made.status_code == 201, made.text
        links = admin.get(f"{api}/issue/{tasks[1].key}", params={"fields": "issuelinks"}).json()["fields"]["issuelinks"]
    cross = next(link["id"] for link in links if (link.get("inwardIssue") or link.get("outwardIssue"))["key"]
                 == tasks[0].key)
    return World(
        harness=harness, flavour=flavour, epic=(epics[0].key, epics[1].key), epic_id=str(epics[0].id),
        issue=(tasks[0].key, tasks[1].key), sprint=(future_sprint(FOREIGN), future_sprint(ALLOWED)),
        board=store.projects[FOREIGN].board_id,
        version=(store.projects[FOREIGN].versions[-1].id, store.projects[ALLOWED].versions[-1].id),
        project_id=store.projects[FOREIGN].id, cross_link=str(cross), foreign_comment=str(foreign_comment),
    )


@pytest.fixture(scope="module", params=["cloud", "dc"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    flavour = request.param
    with hostile_server(tmp_path_factory.mktemp(f"filter-{flavour}"), flavour=flavour) as harness:
        yield _world(harness, flavour)


def _write_tools(harness: HostileServer) -> set[str]:
    """Tools ``tools/list`` does not mark read-only: what the registry calls writes."""
    tools = harness.portal.call(harness.client.list_tools).tools
    return {t.name for t in tools if not (t.annotations and t.annotations.read_only_hint)}


def _state(harness: HostileServer) -> str:
    store = harness.sandbox.state
    with store.lock:
        return repr((sorted(store.issues, key=lambda i: i.id), store.projects, store.boards, store.sprints,
                     store.service_desk.requests))


def _text(result: CallToolResult) -> str:
    return "\n".join(getattr(c, "text", "") or "" for c in result.content)


def _transition(world: World) -> str:
    listed = world.harness.call("jira_get_transitions", {"issue_key": world.target})
    return str(listed.structured_content["transitions"][0]["id"])


def assert_refused(world: World, tool: str, arguments: dict[str, Any]) -> str:
    """Call ``tool``; it must be refused by the filter with nothing written. Returns the message."""
    harness = world.harness
    before, sent_before = _state(harness), len(harness.recorder.requests)
    result = harness.call(tool, arguments)
    text = _text(result)
    shown = json.dumps(arguments)[:300]
    assert result.is_error, f"{tool} {shown} was not refused: {text[:300]}"
    assert REFUSED in text or UNCHECKED in text, f"{tool} {shown} failed, but not by the filter: {text}"
    writes = [f"{r.method} {r.raw_path}" for r in harness.recorder.requests[sent_before:] if r.method != "GET"]
    assert not writes, f"{tool} {shown} sent writes to Jira: {writes}"
    assert _state(harness) == before, f"{tool} {shown} changed the sandbox"
    named = set(FOREIGN_NAMES.findall(text)) - set(FOREIGN_NAMES.findall(json.dumps(arguments)))
    assert not named, f"{tool} refusal names what the caller did not: {named}: {text}"
    return text


def assert_not_refused_by_the_filter(world: World, tool: str, arguments: dict[str, Any]) -> None:
    """The control: the same call inside the filter may fail in Jira, not in the filter."""
    text = _text(world.harness.call(tool, arguments))
    assert REFUSED not in text and UNCHECKED not in text, f"{tool} {json.dumps(arguments)[:300]}: {text}"


# ---------------------------------------------------------------- every write tool


def _tool_cases(w: World) -> dict[str, list[dict[str, Any]]]:
    """Arguments that point outside the filter, per write tool."""
    plat, mob = w.issue
    return {
        "jira_add_worklog": [{"issue_key": plat, "time_spent": "1h"}],
        "jira_update_worklog": [{"issue_key": plat, "worklog_id": "10001", "time_spent": "1h"}],
        "jira_delete_worklog": [{"issue_key": plat, "worklog_id": "10001"}],
        "jira_add_watcher": [{"issue_key": plat}],
        "jira_remove_watcher": [{"issue_key": plat}],
        "jira_transition_issue": [{"issue_key": plat, "transition": "In Progress"}],
        "jira_create_version": [{"project_key": FOREIGN, "name": "9.9"}],
        "jira_create_versions": [{"project_key": FOREIGN, "versions": [{"name": "9.9"}]}],
        "jira_update_version": [{"version_id": w.version[0], "name": "renamed"}],
        "jira_create_component": [{"project_key": FOREIGN, "name": "Leak"}],
        "jira_create_issue_link": [{"link_type": "Blocks", "from_key": mob, "to_key": plat},
                                   {"link_type": "Blocks", "from_key": plat, "to_key": mob}],
        "jira_remove_issue_link": [{"link_id": w.cross_link}],
        "jira_create_remote_link": [{"issue_key": plat, "url": "https://example.com", "title": "x"}],
        "jira_link_to_epic": [{"issue_key": mob, "epic_key": w.epic[0]}, {"issue_key": plat, "epic_key": w.epic[1]}],
        "jira_create_issue": [{"project_key": FOREIGN, "summary": "x"},
                              {"project_key": ALLOWED, "summary": "x", "parent": w.epic[0]}],
        "jira_batch_create_issues": [{"issues": [{"project_key": ALLOWED, "summary": "fine"},
                                                 {"project_key": FOREIGN, "summary": "x"}]},
                                     {"issues": [{"project_key": ALLOWED, "summary": "x", "parent": w.epic[0]}]}],
        "jira_update_issue": [{"issue_key": plat, "fields": {"summary": "x"}}],
        "jira_delete_issue": [{"issue_key": plat}],
        "jira_assign_issue": [{"issue_key": plat, "assignee": None}],
        "jira_clone_issue": [{"issue_key": plat}, {"issue_key": mob, "project_key": FOREIGN}],
        "jira_add_comment": [{"issue_key": plat, "body": "x"}],
        "jira_edit_comment": [{"issue_key": plat, "comment_id": w.foreign_comment, "body": "x"}],
        "jira_delete_comment": [{"issue_key": plat, "comment_id": w.foreign_comment}],
        "jira_upload_attachment": [{"issue_key": plat, "filename": "a.txt", "content_base64": "eA=="}],
        "jira_delete_attachment": [{"issue_key": plat, "attachment_id": "10001"}],
        "jira_create_sprint": [{"board_id": w.board, "name": "Leak"}],
        "jira_update_sprint": [{"sprint_id": w.sprint[0], "name": "renamed"}],
        "jira_start_sprint": [{"sprint_id": w.sprint[0]}],
        "jira_close_sprint": [{"sprint_id": w.sprint[0] - 1}],  # the active one
        "jira_add_issues_to_sprint": [{"sprint_id": w.sprint[0], "issue_keys": [mob]},
                                      {"sprint_id": w.sprint[1], "issue_keys": [mob, plat]}],
        "jira_move_issues_to_backlog": [{"issue_keys": [mob, plat]}],
        # The sandbox's service desk (id 1) is the HELP project's, outside the filter.
        "jira_create_request": [{"service_desk_id": "1", "request_type_id": "1", "fields": {"summary": "x"}}],
        "jira_add_request_comment": [{"issue_key": "HELP-2", "body": "x", "public": False}],
        "jira_answer_approval": [{"issue_key": "HELP-3", "approval_id": "1", "decision": "approve"}],
        "jira_transition_request": [{"issue_key": "HELP-2", "transition_id": "21"}],
        "jira_edit_request_participants": [{"issue_key": "HELP-2", "add": [w.harness.sandbox.default_user.name]}],
        "jira_update_form": [{"issue_key": plat, "form_id": "f", "action": "submit"}],
    }


def test_every_write_tool_has_cases(world: World) -> None:
    """The registry decides what a write is: a new write tool must bring its cases here."""
    assert _write_tools(world.harness) == set(_tool_cases(world))


def test_every_write_tool_refuses_references_outside_the_filter(world: World) -> None:
    for tool, cases in sorted(_tool_cases(world).items()):
        for arguments in cases:
            assert_refused(world, tool, arguments)


def test_refusals_do_not_name_what_they_found(world: World) -> None:
    """A link given by id: the refusal must not name the other project's issue (it was never given)."""
    text = assert_refused(world, "jira_remove_issue_link", {"link_id": world.cross_link})
    assert world.issue[0] not in text and FOREIGN not in text.replace(f"({ALLOWED})", "")
    for tool, arguments in (("jira_update_issue", {"issue_key": world.target, "fields": {"Sprint": world.sprint[0]}}),
                            ("jira_update_version", {"version_id": world.version[0], "name": "x"}),
                            ("jira_start_sprint", {"sprint_id": world.sprint[0]})):
        assert FOREIGN not in assert_refused(world, tool, arguments)


# ---------------------------------------------------------------- every reference-holding field


def _reference_fields(flavour: str) -> list[tuple[str, str, str]]:
    """``(field id, name, kind)`` of every field in the sandbox's list that holds a reference."""
    out = []
    for field in catalogue(flavour):
        custom = (field.schema or {}).get("custom")
        kind = REFERENCE_SYSTEM_FIELDS.get(field.id) if not field.custom else REFERENCE_CUSTOM_TYPES.get(custom or "")
        if kind:
            out.append((field.id, field.display_name(flavour), kind))
    return out


def test_the_sandbox_lists_every_reference_field_type() -> None:
    for flavour in ("cloud", "dc"):
        types = {(f.schema or {}).get("custom") for f in catalogue(flavour)}
        expected = set(REFERENCE_CUSTOM_TYPES) - ({"com.pyxis.greenhopper.jira:gh-epic-link"} if flavour == "cloud"
                                                  else set())
        assert expected <= types, (flavour, expected - types)
        assert set(REFERENCE_SYSTEM_FIELDS) <= {f.id for f in catalogue(flavour)}


def _field_call(world: World, tool: str, name: str, value: Any) -> dict[str, Any]:
    if tool == "jira_update_issue":
        return {"issue_key": world.target, "fields": {name: value}}
    if tool == "jira_transition_issue":
        return {"issue_key": world.target, "transition": _transition(world), "fields": {name: value}}
    issue = {"project_key": ALLOWED, "summary": "reference test", "custom_fields": {name: value}}
    if tool == "jira_create_issue":
        return issue
    return {"issues": [{"project_key": ALLOWED, "summary": "fine"}, issue]}


@pytest.mark.parametrize("tool", FIELD_TOOLS)
def test_every_reference_field_is_guarded_in_every_tool_that_takes_fields(world: World, tool: str) -> None:
    fields = _reference_fields(world.flavour)
    assert {kind for _, _, kind in fields} >= {"epic", "issue", "issues", "sprint", "version", "versions", "project",
                                                "links"}
    for field_id, name, kind in fields:
        if tool in ("jira_create_issue", "jira_batch_create_issues") and field_id in ("project", "parent"):
            continue  # their own arguments (project_key, parent), covered above
        outside, inside = world.values(kind)
        for label in (name, field_id):
            assert_refused(world, tool, _field_call(world, tool, label, outside))
        if kind == "epic":  # an issue by numeric id: the filter looks its project up
            assert_refused(world, tool, _field_call(world, tool, name, world.epic_id))
        if kind == "project":
            assert_refused(world, tool, _field_call(world, tool, name, {"id": world.project_id}))
        assert_not_refused_by_the_filter(world, tool, _field_call(world, tool, name, inside))


# ---------------------------------------------------------------- a tool that writes on its own


class RoguePlugin:
    """A third-party tool that sends whatever write it is given, past every toolset's own checks."""

    @hookimpl
    def register_tools(self, registry: Any, settings: Any) -> None:
        async def rogue_write(method: str, path: str, body: dict[str, Any] | None = None) -> dict[str, Any]:
            """Send one write to Jira as given."""
            await current_call().jira.request(method, path, operation="rogue.write", json_body=body)
            return {"sent": True}

        registry.add(rogue_write, name="rogue_write")


@pytest.fixture(scope="module")
def rogue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    with hostile_server(tmp_path_factory.mktemp("filter-rogue"), plugins={"rogue": RoguePlugin()}) as harness:
        yield _world(harness, "cloud")


def test_the_filter_sits_on_the_request_path_not_in_the_tools(rogue: World) -> None:
    """A tool the filter knows nothing about is still held to it, in any body shape Jira takes."""
    issue = f"/rest/api/3/issue/{rogue.target}"
    for method, path, body in (
        ("PUT", issue, {"update": {"parent": [{"set": {"id": rogue.epic_id}}]}}),
        ("PUT", issue, {"fields": {"customfield_10020": rogue.sprint[0]}}),
        ("PUT", issue, {"update": {"issuelinks": [{"add": {"type": {"name": "Blocks"},
                                                             "inwardIssue": {"key": rogue.issue[0]}}}]}}),
        ("POST", f"{issue}/transitions", {"transition": {"id": "21"}, "fields": {"fixVersions": [{"id": rogue.version[0]}]}}),
        ("POST", "/rest/api/3/issue", {"fields": {"project": {"id": rogue.project_id}, "summary": "x",
                                                  "issuetype": {"name": "Task"}}}),
        ("POST", "/rest/agile/1.0/sprint", {"name": "x", "originBoardId": rogue.board}),
        ("POST", "/rest/agile/1.0/epic/none/issue", {"issues": [rogue.issue[1], rogue.issue[0]]}),
        ("DELETE", f"/rest/api/3/issueLink/{rogue.cross_link}", None),
        ("POST", "/rest/api/3/filter", {"name": "all of it", "jql": "project = PLAT"}),  # unknown: refused
        ("DELETE", "/rest/api/3/attachment/10001", None),  # names no issue: refused
        ("POST", "/rest/servicedeskapi/request", {"serviceDeskId": "1", "requestTypeId": "1",
                                                  "requestFieldValues": {"summary": "x"}}),  # HELP's desk
        ("POST", "/rest/servicedeskapi/request/HELP-2/comment", {"body": "x", "public": True}),
        ("POST", "/rest/servicedeskapi/request/HELP-3/approval/1", {"decision": "approve"}),
    ):
        assert_refused(rogue, "rogue_write", {"method": method, "path": path, "body": body})
    assert_not_refused_by_the_filter(rogue, "rogue_write", {"method": "PUT", "path": issue,
                                                            "body": {"fields": {"customfield_10020": rogue.sprint[1]}}})
