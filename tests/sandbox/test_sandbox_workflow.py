"""Transitions, comments and worklogs: the day-to-day writes, in both flavours."""

from __future__ import annotations

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from sandbox_helpers import create_issue, rest, rich, user_named
from sandbox_spec_tools import adf_errors, spec_checked_client


def transition_ids(client: httpx2.Client, server: SandboxServer, key: str) -> dict[str, str]:
    body = client.get(f"{rest(server)}/issue/{key}/transitions").json()
    return {t["to"]["name"]: t["id"] for t in body["transitions"]}


# --------------------------------------------------------------------------- transitions


def test_workflow_walk_with_resolution_and_comment(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver)
    issue = wserver.state.issue_by_key(key)
    url = f"{rest(wserver)}/issue/{key}/transitions"
    assert transition_ids(jira, wserver, key) == {"In Progress": "21"}
    assert jira.post(url, json={"transition": {"id": "21"}}).status_code == 204
    assert transition_ids(jira, wserver, key) == {"To Do": "11", "In Review": "31", "Done": "41"}
    assert jira.post(url, json={"transition": {"id": "31"}}).status_code == 204
    response = jira.post(url, json={"transition": {"id": "41"}, "fields": {"resolution": {"name": "Won't Do"}},
                                    "update": {"comment": [{"add": {"body": rich(wserver, "Closing: duplicate")}}]}})
    assert response.status_code == 204
    assert issue.status.name == "Done" and issue.resolution.name == "Won't Do" and issue.resolutiondate is not None
    assert issue.comments[-1].body.blocks  # the comment went on with the transition
    fields = jira.get(f"{rest(wserver)}/issue/{key}").json()["fields"]
    assert fields["status"]["statusCategory"]["key"] == "done" and fields["resolution"]["name"] == "Won't Do"
    statuses = [(i.from_string, i.to_string) for h in issue.changelog for i in h.items if i.field == "status"]
    assert statuses == [("To Do", "In Progress"), ("In Progress", "In Review"), ("In Review", "Done")]
    reopen = jira.post(url, json={"transition": {"id": "11"}})
    assert reopen.status_code == 204 and issue.resolution is None and issue.resolutiondate is None
    search = {"jql": f"key = {key} AND status = 'To Do' AND resolution = Unresolved"}
    if wserver.flavour == "cloud":
        found = jira.post("/rest/api/3/search/jql", json={**search, "fields": ["key"]}).json()["issues"]
    else:
        found = jira.get("/rest/api/2/search", params={**search, "fields": "key"}).json()["issues"]
    assert [i["key"] for i in found] == [key]


def test_transition_errors(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver)
    url = f"{rest(wserver)}/issue/{key}/transitions"
    skip = jira.post(url, json={"transition": {"id": "41"}})  # To Do cannot jump to Done
    assert skip.status_code == 400
    assert skip.json() == {"errorMessages": ["Transition id '41' is not valid for this issue."], "errors": {}}
    assert jira.post(url, json={"transition": {"id": "99"}}).status_code == 400
    as_string = jira.post(url, json={"transition": "21"})
    assert as_string.status_code == 400 and "must be an object" in as_string.json()["errorMessages"][0]
    assert jira.post(url, json={}).json()["errorMessages"] == ["Missing 'transition' identifier"]
    resolution = jira.post(url, json={"transition": {"id": "21"}, "fields": {"resolution": {"name": "Done"}}})
    assert resolution.status_code == 400 and "resolution" in resolution.json()["errors"]
    assert wserver.state.issue_by_key(key).status.name == "To Do"
    assert jira.get(f"{rest(wserver)}/issue/NOPE-1/transitions").status_code == 404


def test_transition_fields_expand(jira: httpx2.Client, wserver: SandboxServer) -> None:
    issue = next(i for i in wserver.state.issues if i.status.name == "In Review" and i.project_key == "OPS")
    body = jira.get(f"{rest(wserver)}/issue/{issue.key}/transitions",
                    params={"expand": "transitions.fields"}).json()
    done = next(t for t in body["transitions"] if t["to"]["name"] == "Done")
    assert {v["name"] for v in done["fields"]["resolution"]["allowedValues"]} == {"Done", "Won't Do", "Duplicate"}
    only = jira.get(f"{rest(wserver)}/issue/{issue.key}/transitions", params={"transitionId": "21"}).json()
    assert [t["id"] for t in only["transitions"]] == ["21"]


def test_read_only_user_cannot_transition(wserver: SandboxServer) -> None:
    issue = next(i for i in wserver.state.issues if i.project_key == "PLAT" and i.status.name == "To Do")
    with spec_checked_client(wserver, user_named(wserver, "erin")) as client:
        url = f"{rest(wserver)}/issue/{issue.key}/transitions"
        assert client.get(url).json()["transitions"] == []
        refused = client.post(url, json={"transition": {"id": "21"}})
        assert refused.status_code == 403
        assert refused.json()["errorMessages"] == ["You do not have permission to transition issues in this project."]
    assert issue.status.name == "To Do"


# --------------------------------------------------------------------------- comments


def test_comment_lifecycle(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver, project="OPS")
    issue = wserver.state.issue_by_key(key)
    url = f"{rest(wserver)}/issue/{key}/comment"
    body = rich(wserver, "Rotated the certificates on the gateway")
    created = jira.post(url, json={"body": body})
    assert created.status_code == 201
    comment = created.json()
    assert comment["body"] == body and comment["author"]["displayName"] == "Alice Nguyen"
    if wserver.flavour == "cloud":
        assert adf_errors(comment["body"]) == []
    assert [c.id for c in wserver.state.comments_of(key)] == [comment["id"]]
    assert issue.updated >= issue.created
    second = jira.post(url, json={"body": rich(wserver, "Second")}).json()
    page = jira.get(url, params={"orderBy": "-created", "maxResults": 1, "expand": "renderedBody"}).json()
    assert page["total"] == 2 and [c["id"] for c in page["comments"]] == [second["id"]]
    assert page["comments"][0]["renderedBody"] == "<p>Second</p>"
    assert jira.get(url, params={"startAt": 1}).json()["comments"][0]["id"] == second["id"]
    edited = jira.put(f"{url}/{comment['id']}", json={"body": rich(wserver, "Rotated and verified")})
    assert edited.status_code == 200 and edited.json()["updated"] > edited.json()["created"]
    assert jira.get(f"{url}/{comment['id']}").json()["body"] == rich(wserver, "Rotated and verified")
    search = {"jql": f'comment ~ "verified" AND key = {key}'}
    found = jira.post("/rest/api/3/search/jql", json={**search, "fields": ["key"]}).json()["issues"] \
        if wserver.flavour == "cloud" else jira.get("/rest/api/2/search", params=search).json()["issues"]
    assert [i["key"] for i in found] == [key]
    assert jira.delete(f"{url}/{comment['id']}").status_code == 204
    assert jira.get(f"{url}/{comment['id']}").status_code == 404
    assert [c.id for c in issue.comments] == [second["id"]]


def test_comment_errors_and_permissions(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver, project="MOB")
    url = f"{rest(wserver)}/issue/{key}/comment"
    for payload in ({}, {"body": ""}):
        empty = jira.post(url, json=payload)
        assert empty.status_code == 400 and empty.json() == {"errorMessages": [],
                                                             "errors": {"comment": "Comment body can not be empty!"}}
    if wserver.flavour == "cloud":
        assert jira.post(url, json={"body": "plain text on v3"}).status_code == 400
        assert jira.post(url, json={"body": {"type": "doc", "version": 1, "content": [
            {"type": "paragraph", "content": [{"type": "text", "text": ""}]}]}}).status_code == 400
        assert jira.post(f"/rest/api/2/issue/{key}/comment", json={"body": "wiki on v2"}).status_code == 201
    assert jira.get(f"{url}/999999").status_code == 404
    alice_comment = jira.post(url, json={"body": rich(wserver, "Alice's note")}).json()
    bob, erin = user_named(wserver, "bob"), user_named(wserver, "erin")
    with spec_checked_client(wserver, bob) as client:
        assert client.put(f"{url}/{alice_comment['id']}", json={"body": rich(wserver, "hijack")}).status_code == 403
        assert client.delete(f"{url}/{alice_comment['id']}").status_code == 403
        own = client.post(url, json={"body": rich(wserver, "Bob's note")}).json()
    assert jira.put(f"{url}/{own['id']}", json={"body": rich(wserver, "Admin edit")}).status_code == 200
    with spec_checked_client(wserver, erin) as client:
        assert client.post(f"{rest(wserver)}/issue/PLAT-4/comment",
                           json={"body": rich(wserver, "x")}).status_code == 403
        assert client.get(f"{rest(wserver)}/issue/PLAT-4/comment").status_code == 200
        assert client.post(url, json={"body": rich(wserver, "Erin in MOB")}).status_code == 201


# --------------------------------------------------------------------------- worklogs


def test_seeded_worklogs_and_time_tracking(client: httpx2.Client, server: SandboxServer) -> None:
    issue = next(i for i in server.state.issues if len(i.worklogs) >= 2 and i.original_estimate)
    page = client.get(f"{rest(server)}/issue/{issue.key}/worklog").json()
    assert page["total"] == len(issue.worklogs) == len(page["worklogs"])
    assert sum(w["timeSpentSeconds"] for w in page["worklogs"]) == issue.time_spent
    fields = client.get(f"{rest(server)}/issue/{issue.key}", params={"fields": "timetracking,worklog,progress"})
    tracking = fields.json()["fields"]["timetracking"]
    assert tracking["timeSpentSeconds"] == issue.time_spent
    assert tracking["originalEstimateSeconds"] == issue.original_estimate
    assert fields.json()["fields"]["worklog"]["total"] == len(issue.worklogs)
    assert client.get(f"{rest(server)}/issue/{issue.key}/worklog",
                      params={"startAt": 1, "maxResults": 1}).json()["worklogs"][0]["id"] == issue.worklogs[1].id


def test_worklog_lifecycle_and_estimates(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver, timetracking={"originalEstimate": "1d"})
    issue = wserver.state.issue_by_key(key)
    url = f"{rest(wserver)}/issue/{key}/worklog"
    first = jira.post(url, json={"timeSpent": "1h 30m", "started": "2026-11-19T09:00:00.000+0000",
                                 "comment": rich(wserver, "Pairing")})
    assert first.status_code == 201
    worklog = first.json()
    assert worklog["timeSpentSeconds"] == 5400 and worklog["timeSpent"] == "1h 30m"
    assert worklog["started"] == "2026-11-19T09:00:00.000+0000" and worklog["issueId"] == str(issue.id)
    assert worklog["comment"] == rich(wserver, "Pairing")
    assert issue.time_spent == 5400 and issue.remaining_estimate == 8 * 3600 - 5400  # adjustEstimate=auto
    jira.post(url, params={"adjustEstimate": "new", "newEstimate": "2h"}, json={"timeSpentSeconds": 1800})
    assert issue.time_spent == 7200 and issue.remaining_estimate == 7200
    jira.post(url, params={"adjustEstimate": "leave"}, json={"timeSpent": "1d"})
    assert issue.remaining_estimate == 7200 and issue.time_spent == 7200 + 8 * 3600
    jira.post(url, params={"adjustEstimate": "manual", "reduceBy": "30m"}, json={"timeSpent": "15m"})
    assert issue.remaining_estimate == 5400
    updated = jira.put(f"{url}/{worklog['id']}", json={"timeSpent": "2h"})
    assert updated.status_code == 200 and updated.json()["timeSpentSeconds"] == 7200
    assert issue.remaining_estimate == 5400 - 1800
    assert jira.delete(f"{url}/{worklog['id']}").status_code == 204  # auto: time goes back to the estimate
    assert issue.remaining_estimate == 3600 + 7200 and jira.get(f"{url}/{worklog['id']}").status_code == 404
    fields = jira.get(f"{rest(wserver)}/issue/{key}", params={"fields": "timetracking"}).json()["fields"]
    assert fields["timetracking"]["remainingEstimate"] == "3h"
    assert {i.field for h in issue.changelog for i in h.items} >= {"timespent", "timeestimate", "WorklogId"}


@pytest.mark.parametrize(("payload", "params", "field"), [
    ({}, {}, "timeLogged"),
    ({"timeSpent": "soon"}, {}, "timeLogged"),
    ({"timeSpentSeconds": -5}, {}, "timeLogged"),
    ({"timeSpent": "1h", "started": "yesterday"}, {}, "started"),
    ({"timeSpent": "1h"}, {"adjustEstimate": "new"}, "newEstimate"),
    ({"timeSpent": "1h"}, {"adjustEstimate": "manual"}, "reduceBy"),
])
def test_worklog_errors(jira: httpx2.Client, wserver: SandboxServer, payload: dict, params: dict, field: str) -> None:
    response = jira.post(f"{rest(wserver)}/issue/MOB-2/worklog", params=params, json=payload)
    assert response.status_code == 400 and field in response.json()["errors"]


def test_worklog_permissions(jira: httpx2.Client, wserver: SandboxServer) -> None:
    key = create_issue(jira, wserver, project="MOB")
    alice_log = jira.post(f"{rest(wserver)}/issue/{key}/worklog", json={"timeSpent": "1h"}).json()
    with spec_checked_client(wserver, user_named(wserver, "erin")) as client:
        assert client.post(f"{rest(wserver)}/issue/PLAT-5/worklog", json={"timeSpent": "1h"}).status_code == 403
        assert client.post(f"{rest(wserver)}/issue/OPS-5/worklog", json={"timeSpent": "1h"}).status_code == 404
        assert client.put(f"{rest(wserver)}/issue/{key}/worklog/{alice_log['id']}",
                          json={"timeSpent": "5h"}).status_code == 403
        assert client.post(f"{rest(wserver)}/issue/{key}/worklog", json={"timeSpent": "2h"}).status_code == 201
    assert wserver.state.issue_by_key(key).time_spent == 3 * 3600
