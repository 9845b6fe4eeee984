"""Issue writes: create (single and bulk), edit, delete, assign, changelog, edit/create metadata.

Every JSON response here is validated against the flavour's OpenAPI spec by the ``jira``
client (``spec_checked_client``).
"""

from __future__ import annotations

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from sandbox_helpers import create_issue, rest, rich, user_named, user_ref
from sandbox_spec_tools import adf_errors, spec_checked_client

MISSING_SUMMARY = {"errorMessages": [], "errors": {"summary": "You must specify a summary of the issue."}}


def jql_keys(client: httpx2.Client, server: SandboxServer, jql: str) -> list[str]:
    if server.flavour == "cloud":
        body = client.post("/rest/api/3/search/jql", json={"jql": jql, "fields": ["key"], "maxResults": 100}).json()
    else:
        body = client.get("/rest/api/2/search", params={"jql": jql, "fields": "key"}).json()
    return [i["key"] for i in body["issues"]]


# --------------------------------------------------------------------------- create


def test_create_issue_round_trip(jira: httpx2.Client, wserver: SandboxServer) -> None:
    bob = user_named(wserver, "bob")
    project = wserver.state.projects["PLAT"]
    before = project.last_issue_number
    description = rich(wserver, "Steps: run the *job* twice")
    response = jira.post(f"{rest(wserver)}/issue", json={"fields": {
        "project": {"key": "PLAT"}, "issuetype": {"name": "Bug"}, "summary": "Checkout double-charges",
        "description": description, "assignee": user_ref(wserver, bob), "priority": {"name": "High"},
        "labels": ["billing", "regression"], "components": [{"name": "Billing"}], "fixVersions": [{"name": "2026.3"}],
        "duedate": "2026-12-24", "customfield_10016": 3, "customfield_10030": {"value": "Critical"},
        "timetracking": {"originalEstimate": "1d"}}})
    assert response.status_code == 201
    created = response.json()
    key = created["key"]
    assert key == f"PLAT-{before + 1}" and set(created) == {"id", "key", "self"}
    assert created["self"].endswith(f"{rest(wserver)}/issue/{created['id']}")
    issue = wserver.state.issue_by_key(key)
    assert issue.summary == "Checkout double-charges" and issue.assignee is bob and issue.reporter.name == "alice"
    assert issue.status.name == "To Do" and issue.priority.name == "High" and issue.severity == "10040"
    assert issue.original_estimate == issue.remaining_estimate == 8 * 3600
    fields = jira.get(f"{rest(wserver)}/issue/{key}").json()["fields"]
    assert fields["description"] == description  # read back exactly as written (ADF or wiki)
    assert fields["labels"] == ["billing", "regression"] and fields["components"][0]["name"] == "Billing"
    assert fields["fixVersions"][0]["name"] == "2026.3" and fields["duedate"] == "2026-12-24"
    assert fields["customfield_10016"] == 3 and fields["customfield_10030"]["value"] == "Critical"
    assert fields["timetracking"]["originalEstimate"] == "1d"
    assert fields["created"] == fields["updated"] > "2026-11-20T12:00:00.000+0000"
    assert {w["displayName"] for w in jira.get(f"{rest(wserver)}/issue/{key}/watchers").json()["watchers"]} == \
        {"Alice Nguyen", "Bob Okafor"}
    assert key in jql_keys(jira, wserver, 'project = PLAT AND summary ~ "double-charges" AND labels = billing')
    assert ("POST", f"{rest(wserver)}/issue", 201) in wserver.request_log


def test_cloud_v2_writes_wiki_and_v3_reads_adf(wcloud: SandboxServer) -> None:
    with spec_checked_client(wcloud) as client:
        response = client.post("/rest/api/2/issue", json={"fields": {
            "project": {"key": "MOB"}, "issuetype": {"name": "Story"}, "summary": "Wiki via v2",
            "description": "h3. Goal\n* one\n* two"}})
        assert response.status_code == 201
        key = response.json()["key"]
        adf = client.get(f"/rest/api/3/issue/{key}").json()["fields"]["description"]
        assert [n["type"] for n in adf["content"]] == ["heading", "bulletList"] and adf_errors(adf) == []
        assert client.get(f"/rest/api/2/issue/{key}").json()["fields"]["description"] == "h3. Goal\n* one\n* two"
        bad = client.post("/rest/api/3/issue", json={"fields": {
            "project": {"key": "MOB"}, "issuetype": {"name": "Story"}, "summary": "x", "description": "plain"}})
        assert bad.status_code == 400
        assert bad.json()["errors"] == {
            "description": "Operation value must be an Atlassian Document (see the Atlassian Document Format)"}


def test_create_errors_name_the_field(jira: httpx2.Client, wserver: SandboxServer) -> None:
    url = f"{rest(wserver)}/issue"
    base = {"project": {"key": "PLAT"}, "issuetype": {"name": "Task"}}
    missing = jira.post(url, json={"fields": base})
    assert missing.status_code == 400 and missing.json() == MISSING_SUMMARY
    unknown = jira.post(url, json={"fields": {**base, "summary": "x", "customfield_99999": 1}})
    assert unknown.status_code == 400
    assert unknown.json()["errors"] == {"customfield_99999": "Field 'customfield_99999' cannot be set. It is not on "
                                                             "the appropriate screen, or unknown."}
    several = jira.post(url, json={"fields": {**base, "summary": "x", "priority": {"name": "Urgent!"},
                                              "labels": ["has space"], "duedate": "next week",
                                              "customfield_10030": {"value": "Critical"}}}).json()
    assert set(several["errors"]) == {"priority", "labels", "duedate", "customfield_10030"}
    assert several["errors"]["labels"] == "The label 'has space' contains spaces which is invalid."
    assert "not on the appropriate screen" in several["errors"]["customfield_10030"]  # Severity is a Bug field
    no_project = jira.post(url, json={"fields": {"summary": "x", "issuetype": {"name": "Task"}}}).json()
    assert no_project["errors"] == {"project": "Specify a valid project ID or key"}
    no_type = jira.post(url, json={"fields": {"summary": "x", "project": {"key": "PLAT"}}}).json()
    assert no_type["errors"] == {"issuetype": "Specify an issue type"}
    erin = user_named(wserver, "erin")
    not_assignable = jira.post(url, json={"fields": {**base, "summary": "x", "assignee": user_ref(wserver, erin)}})
    assert not_assignable.json()["errors"] == {"assignee": "User 'Erin Walsh' cannot be assigned issues."}
    assert jira.post(url, content=b"{not json").status_code == 400
    assert wserver.state.projects["PLAT"].last_issue_number == max(
        i.number for i in wserver.state.issues if i.project_key == "PLAT")  # failed creates burn no keys


def test_create_permissions(wserver: SandboxServer) -> None:
    erin = user_named(wserver, "erin")
    url = f"{rest(wserver)}/issue"
    with spec_checked_client(wserver, erin) as client:
        for project, status in (("MOB", 201), ("PLAT", 403), ("OPS", 400)):
            response = client.post(url, json={"fields": {"project": {"key": project}, "issuetype": {"name": "Task"},
                                                         "summary": "Erin's task"}})
            assert response.status_code == status, project
        assert client.post(url, json={"fields": {"project": {"key": "PLAT"}, "issuetype": {"name": "Task"},
                                                 "summary": "x"}}).json()["errorMessages"] == \
            ["You do not have permission to create issues in this project."]
    assert httpx2.post(wserver.url + url, json={"fields": {}}).status_code == 401


def test_subtasks_epics_and_sprint_field(jira: httpx2.Client, wserver: SandboxServer) -> None:
    store = wserver.state
    url = f"{rest(wserver)}/issue"
    parent_key = create_issue(jira, wserver, summary="Parent task")
    orphan = jira.post(url, json={"fields": {"project": {"key": "PLAT"}, "issuetype": {"name": "Sub-task"},
                                             "summary": "No parent"}})
    assert orphan.status_code == 400 and "parent" in orphan.json()["errors"]
    active = next(s for s in store.projects["PLAT"].sprints if s.state == "active")
    jira.put(f"{url}/{parent_key}", json={"fields": {"customfield_10020": active.id}})
    sub_key = create_issue(jira, wserver, issuetype="Sub-task", summary="Child", parent={"key": parent_key})
    parent = jira.get(f"{url}/{parent_key}").json()["fields"]
    assert [s["key"] for s in parent["subtasks"]] == [sub_key]
    assert store.issue_by_key(sub_key).sprint_ids == [active.id]  # sub-tasks live in their parent's sprint
    assert sub_key in jql_keys(jira, wserver, f"parent = {parent_key}")
    assert parent_key in jql_keys(jira, wserver, f"sprint = {active.id} AND key = {parent_key}")
    epic = next(i for i in store.issues if i.project_key == "PLAT" and i.issuetype.name == "Epic")
    field = "parent" if wserver.flavour == "cloud" else "customfield_10014"
    value = {"key": epic.key} if wserver.flavour == "cloud" else epic.key
    story = create_issue(jira, wserver, issuetype="Story", summary="Under the epic", **{field: value})
    assert store.parent_of(store.issue_by_key(story)) is epic
    wrong = jira.post(url, json={"fields": {"project": {"key": "PLAT"}, "issuetype": {"name": "Story"},
                                            "summary": "x", field: {"key": parent_key} if field == "parent"
                                            else parent_key}})
    assert wrong.status_code == 400 and field in wrong.json()["errors"]


def test_bulk_create_reports_each_failure(jira: httpx2.Client, wserver: SandboxServer) -> None:
    url = f"{rest(wserver)}/issue/bulk"
    good = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}, "summary": "Bulk one"}}
    bad = {"fields": {"project": {"key": "OPS"}, "issuetype": {"name": "Task"}}}
    response = jira.post(url, json={"issueUpdates": [good, bad, good]})
    assert response.status_code == 201
    body = response.json()
    assert len(body["issues"]) == 2 and all(i["key"].startswith("OPS-") for i in body["issues"])
    assert body["errors"] == [{"status": 400, "elementErrors": MISSING_SUMMARY, "failedElementNumber": 1}]
    all_bad = jira.post(url, json={"issueUpdates": [bad]})
    assert all_bad.status_code == 400 and all_bad.json()["issues"] == []
    assert jira.post(url, json={"issueUpdates": []}).status_code == 400


# --------------------------------------------------------------------------- edit / delete / assign


def test_edit_fields_and_update_operations(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver, labels=["a", "b"], components=[{"name": "Search"}])
    issue = wserver.state.issue_by_key(key)
    stamp = issue.updated
    url = f"{rest(wserver)}/issue/{key}"
    response = jira.put(url, json={
        "fields": {"summary": "Renamed", "description": rich(wserver, "New text")},
        "update": {"labels": [{"add": "c"}, {"remove": "a"}], "components": [{"set": [{"name": "Billing"}]}],
                   "comment": [{"add": {"body": rich(wserver, "Edited via update")}}]}})
    assert response.status_code == 204 and response.content == b""
    assert issue.summary == "Renamed" and issue.labels == ["b", "c"]
    assert [c.name for c in issue.components] == ["Billing"] and issue.updated > stamp
    assert issue.comments[-1].author.name == "alice"
    items = {(i.field, i.from_string, i.to_string) for h in issue.changelog for i in h.items}
    assert ("summary", "Sandbox test issue", "Renamed") in items
    assert ("labels", "a b", "b c") in items
    assert ("Component", "Search", None) in items and ("Component", None, "Billing") in items
    both = jira.put(url, json={"fields": {"labels": ["x"]}, "update": {"labels": [{"add": "y"}]}})
    assert both.status_code == 400 and "labels" in both.json()["errors"]
    bad_op = jira.put(url, json={"update": {"summary": [{"add": "x"}]}})
    assert bad_op.json()["errors"] == {"summary": "Field does not support update 'add'"}
    assert issue.summary == "Renamed"  # nothing applied from rejected requests
    returned = jira.put(url, params={"returnIssue": "true"}, json={"fields": {"priority": {"id": "1"}}})
    assert returned.status_code == 200 and returned.json()["fields"]["priority"]["name"] == "Highest"


def test_edit_permissions(wserver: SandboxServer) -> None:
    erin = user_named(wserver, "erin")
    mob = next(i for i in wserver.state.issues if i.project_key == "MOB")
    with spec_checked_client(wserver, erin) as client:
        assert client.put(f"{rest(wserver)}/issue/PLAT-3", json={"fields": {"summary": "x"}}).status_code == 403
        assert client.put(f"{rest(wserver)}/issue/OPS-3", json={"fields": {"summary": "x"}}).status_code == 404
        assert client.put(f"{rest(wserver)}/issue/{mob.key}", json={"fields": {"labels": ["erin"]}}).status_code == 204
        assert client.delete(f"{rest(wserver)}/issue/PLAT-3").status_code == 403
    assert wserver.state.issue_by_key("PLAT-3").summary != "x" and mob.labels == ["erin"]


def test_delete_issue(jira: httpx2.Client, wserver: SandboxServer) -> None:
    store = wserver.state
    parent = create_issue(jira, wserver, summary="Doomed parent")
    sub = create_issue(jira, wserver, issuetype="Sub-task", summary="Doomed child", parent={"key": parent})
    other = create_issue(jira, wserver, summary="Survivor")
    jira.post(f"{rest(wserver)}/issueLink", json={"type": {"name": "Blocks"}, "outwardIssue": {"key": parent},
                                                  "inwardIssue": {"key": other}})
    assert store.issue_by_key(other).links
    refused = jira.delete(f"{rest(wserver)}/issue/{parent}")
    assert refused.status_code == 400 and "deleteSubtasks" in refused.json()["errorMessages"][0]
    assert jira.delete(f"{rest(wserver)}/issue/{parent}", params={"deleteSubtasks": "true"}).status_code == 204
    assert store.issue_by_key(parent) is None and store.issue_by_key(sub) is None
    assert jira.get(f"{rest(wserver)}/issue/{parent}").status_code == 404
    assert store.issue_by_key(other).links == []
    assert parent not in jql_keys(jira, wserver, "project = PLAT AND summary ~ Doomed")
    assert create_issue(jira, wserver, summary="After delete") != parent  # keys are never reused


def test_assign(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver, project="MOB")
    issue = wserver.state.issue_by_key(key)
    url = f"{rest(wserver)}/issue/{key}/assignee"
    erin = user_named(wserver, "erin")
    assert jira.put(url, json=user_ref(wserver, erin)).status_code == 204 and issue.assignee is erin
    ident = "accountId" if wserver.flavour == "cloud" else "name"
    assert jira.put(url, json={ident: None}).status_code == 204 and issue.assignee is None
    assert jira.put(url, json={ident: "-1"}).status_code == 204 and issue.assignee is None
    unknown = jira.put(url, json={ident: "nobody-here"})
    assert unknown.status_code == 400 and "assignee" in unknown.json()["errors"]
    plat = create_issue(jira, wserver)
    refused = jira.put(f"{rest(wserver)}/issue/{plat}/assignee", json=user_ref(wserver, erin))
    assert refused.json()["errors"] == {"assignee": "User 'Erin Walsh' cannot be assigned issues."}
    assignee_items = [i for h in issue.changelog for i in h.items if i.field == "assignee"]
    assert assignee_items[0].to_string == "Erin Walsh" and assignee_items[1].to_string is None
    if wserver.flavour == "cloud":
        assert jira.put(url, json={"name": "bob"}).status_code == 400  # GDPR: Cloud names users by accountId


# --------------------------------------------------------------------------- changelog and metadata


def test_changelog_paging_cloud(wcloud: SandboxServer) -> None:
    with spec_checked_client(wcloud) as client:
        key = create_issue(client, wcloud)
        for n in range(3):
            client.put(f"/rest/api/3/issue/{key}", json={"fields": {"summary": f"Version {n}"}})
        first = client.get(f"/rest/api/3/issue/{key}/changelog", params={"maxResults": 2}).json()
        assert first["total"] == 3 and first["isLast"] is False and len(first["values"]) == 2
        assert first["values"][0]["items"][0]["toString"] == "Version 0"  # oldest first
        rest_page = client.get(f"/rest/api/3/issue/{key}/changelog", params={"startAt": 2}).json()
        assert rest_page["isLast"] is True and rest_page["values"][0]["items"][0]["toString"] == "Version 2"
        fetched = client.post("/rest/api/3/changelog/bulkfetch", json={
            "issueIdsOrKeys": [key, "PLAT-2", "NOPE-1"], "fieldIds": ["summary"], "maxResults": 2}).json()
        assert [c["issueId"] for c in fetched["issueChangeLogs"]] == [str(wcloud.state.issue_by_key(key).id)]
        assert fetched["nextPageToken"]
        more = client.post("/rest/api/3/changelog/bulkfetch", json={
            "issueIdsOrKeys": [key], "fieldIds": ["summary"], "nextPageToken": fetched["nextPageToken"]}).json()
        assert sum(len(c["changeHistories"]) for c in more["issueChangeLogs"]) == 1 and "nextPageToken" not in more
        assert client.post("/rest/api/3/changelog/bulkfetch", json={"issueIdsOrKeys": []}).status_code == 400
        assert client.post("/rest/api/3/changelog/bulkfetch", json={"issueIds": [key]}).status_code == 400


def test_dc_has_no_changelog_endpoint(wdc: SandboxServer) -> None:
    with spec_checked_client(wdc) as client:
        assert client.get("/rest/api/2/issue/PLAT-2/changelog").status_code == 404
        assert client.get("/rest/api/2/issue/PLAT-2", params={"expand": "changelog"}).json()["changelog"]["total"] > 0


def test_editmeta(jira: httpx2.Client, wserver: SandboxServer) -> None:
    bug = next(i for i in wserver.state.issues if i.project_key == "PLAT" and i.issuetype.name == "Bug")
    fields = jira.get(f"{rest(wserver)}/issue/{bug.key}/editmeta").json()["fields"]
    assert {"summary", "description", "assignee", "labels", "priority", "customfield_10030", "comment"} <= set(fields)
    assert fields["summary"]["required"] is True and fields["labels"]["operations"] == ["add", "set", "remove"]
    assert [v["name"] for v in fields["priority"]["allowedValues"]] == ["Highest", "High", "Medium", "Low", "Lowest"]
    assert {v["name"] for v in fields["components"]["allowedValues"]} == \
        {c.name for c in wserver.state.projects["PLAT"].components}
    assert [v["value"] for v in fields["customfield_10030"]["allowedValues"]] == ["Critical", "Major", "Minor",
                                                                                 "Trivial"]
    with spec_checked_client(wserver, user_named(wserver, "erin")) as client:
        assert client.get(f"{rest(wserver)}/issue/{bug.key}/editmeta").json() == {"fields": {}}


def test_createmeta(jira: httpx2.Client, wserver: SandboxServer) -> None:
    types = jira.get(f"{rest(wserver)}/issue/createmeta/PLAT/issuetypes").json()
    listed = types["issueTypes"] if wserver.flavour == "cloud" else types["values"]
    assert [t["name"] for t in listed] == ["Epic", "Story", "Task", "Bug", "Sub-task"] and types["total"] == 5
    sub = next(t for t in listed if t["subtask"])
    page = jira.get(f"{rest(wserver)}/issue/createmeta/PLAT/issuetypes/{sub['id']}").json()
    metas = {m["fieldId"]: m for m in (page["fields"] if wserver.flavour == "cloud" else page["values"])}
    assert metas["parent"]["required"] is True and metas["summary"]["required"] is True
    assert metas["project"]["allowedValues"][0]["key"] == "PLAT"
    assert "customfield_10020" not in metas  # sub-tasks follow their parent's sprint
    assert jira.get(f"{rest(wserver)}/issue/createmeta/PLAT/issuetypes/999").status_code == 404
    assert jira.get(f"{rest(wserver)}/issue/createmeta/NOPE/issuetypes").status_code == 404
    with spec_checked_client(wserver, user_named(wserver, "erin")) as client:
        none = client.get(f"{rest(wserver)}/issue/createmeta/PLAT/issuetypes").json()
        assert none["total"] == 0


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_writes_only_touch_their_issue(flavour: str, request: pytest.FixtureRequest) -> None:
    server: SandboxServer = request.getfixturevalue("w" + flavour)
    store = server.state
    snapshot = {i.key: (i.updated, len(i.changelog)) for i in store.issues if i.project_key == "OPS"}
    with spec_checked_client(server) as client:
        key = create_issue(client, server, project="MOB")
        client.put(f"{rest(server)}/issue/{key}", json={"fields": {"summary": "Only me"}})
    assert {i.key: (i.updated, len(i.changelog)) for i in store.issues if i.key in snapshot} == snapshot
