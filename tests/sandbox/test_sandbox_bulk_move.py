"""Cloud's bulk issue move in the sandbox: a task that moves issues as polls advance it, in the spec's shapes."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from sandbox_helpers import client_for
from sandbox_spec_tools import spec_checked_client

MOVE, QUEUE = "/rest/api/3/bulk/issues/move", "/rest/api/3/bulk/queue"


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(flavour="cloud", seed=2, port=0) as server:
        yield server


def _mapping(target: str, keys: list[str]) -> dict[str, object]:
    return {"sendBulkNotification": False, "targetToSourcesMapping": {target: {
        "issueIdsOrKeys": keys, "inferFieldDefaults": True, "inferStatusDefaults": True,
        "inferSubtaskTypeDefault": True, "inferClassificationDefaults": True}}}


def _run(client: httpx2.Client, body: dict[str, object]) -> list[dict[str, object]]:
    submitted = client.post(MOVE, json=body)
    assert submitted.status_code == 201, submitted.text
    polls = []
    while not polls or polls[-1]["status"] != "COMPLETE":
        polls.append(client.get(f"{QUEUE}/{submitted.json()['taskId']}").json())
        assert len(polls) < 10
    return polls


def test_a_task_moves_issues_over_a_few_polls_and_old_keys_still_lead_to_them(sandbox: SandboxServer) -> None:
    state = sandbox.state
    stories = [i for i in state.issues if i.project_key == "MOB" and i.issuetype.name == "Story"
               and not state.subtasks_of(i)][:4]
    old = [i.key for i in stories]
    with_version = next((i for i in stories if i.fix_versions), None)
    with spec_checked_client(sandbox) as client:  # every answer is checked against the Cloud spec
        polls = _run(client, _mapping("PLAT,10002", [*old, "NOPE-1"]))
        moved = client.get(f"/rest/api/3/issue/{old[0]}", params={"fields": "project,issuetype", "expand":
                                                                    "changelog"}).json()
    assert [p["status"] for p in polls][0] == "RUNNING" and len(polls) >= 3
    percents = [p["progressPercent"] for p in polls]
    assert percents == sorted(percents) and percents[-1] == 100 and len(set(percents)) >= 3
    final = polls[-1]
    assert sorted(final["processedAccessibleIssues"]) == sorted(i.id for i in stories)
    assert final["failedAccessibleIssues"] == {} and final["invalidOrInaccessibleIssueCount"] == 1
    assert final["totalIssueCount"] == 5
    assert all(i.project_key == "PLAT" and i.issuetype.name == "Task" for i in stories)
    assert moved["key"] == stories[0].key != old[0] and moved["fields"]["project"]["key"] == "PLAT"
    last = moved["changelog"]["histories"][-1]["items"]
    key_change = next(i for i in last if i["field"] == "Key")
    assert (key_change["fromString"], key_change["toString"]) == (old[0], stories[0].key)
    assert {i["field"] for i in last} >= {"project", "Key", "issuetype"}
    if with_version is not None:
        assert with_version.fix_versions == []  # versions belong to the project left behind


def test_sub_tasks_follow_their_parent_and_a_lone_sub_task_fails(sandbox: SandboxServer) -> None:
    state = sandbox.state
    parent = next(i for i in state.issues if i.project_key == "MOB" and state.subtasks_of(i))
    children = state.subtasks_of(parent)
    lone = next(i for i in state.issues if i.project_key == "MOB" and i.issuetype.subtask and i.parent_id != parent.id)
    body = _mapping("OPS,10003", [parent.key])
    body["targetToSourcesMapping"]["OPS,10004"] = {"issueIdsOrKeys": [lone.key]}  # a sub-task, its parent stays
    with spec_checked_client(sandbox) as client:
        final = _run(client, body)[-1]
    assert set(final["processedAccessibleIssues"]) == {parent.id, *(c.id for c in children)}
    assert list(final["failedAccessibleIssues"]) == [str(lone.id)]
    assert "not moved with it" in final["failedAccessibleIssues"][str(lone.id)][0]
    assert all(c.project_key == "OPS" and c.parent_id == parent.id and c.issuetype.subtask for c in children)
    assert lone.project_key == "MOB"


def test_refused_requests_answer_in_the_bulk_error_shape(sandbox: SandboxServer) -> None:
    erin = next(u for u in sandbox.state.users if u.name == "erin")
    key = next(i.key for i in sandbox.state.issues if i.project_key == "MOB")
    with spec_checked_client(sandbox) as client, spec_checked_client(sandbox, erin) as theirs:
        bad_type = client.post(MOVE, json=_mapping("PLAT,999", [key]))
        bad_key = client.post(MOVE, json=_mapping("PLAT", [key]))
        empty = client.post(MOVE, json={"targetToSourcesMapping": {}})
        unknown = client.post(MOVE, json={**_mapping("PLAT,10002", [key]), "notify": True})
        not_theirs = theirs.post(MOVE, json=_mapping("PLAT,10002", [key]))
        task = client.post(MOVE, json=_mapping("MOB,10003", [key])).json()["taskId"]
        foreign_poll = theirs.get(f"{QUEUE}/{task}")
        missing = client.get(f"{QUEUE}/99999")
    for response, words in ((bad_type, "issue type '999'"), (bad_key, "<project ID or key>"),
                            (empty, "targetToSourcesMapping"), (unknown, "'notify'"),
                            (not_theirs, "permission to create issues")):
        assert response.status_code == 400 and words in response.json()["errors"][0]["message"], response.text
    assert foreign_poll.status_code == missing.status_code == 404
    assert sandbox.state.issue_by_key(key).issuetype.name != "Bug"  # never polled by its owner: not moved yet


def test_data_center_has_no_bulk_move(dc: SandboxServer) -> None:
    with client_for(dc) as client:
        assert client.post("/rest/api/2/bulk/issues/move", json=_mapping("PLAT,10002", ["MOB-1"])).status_code == 404
        assert client.get("/rest/api/2/bulk/queue/10001").status_code == 404
