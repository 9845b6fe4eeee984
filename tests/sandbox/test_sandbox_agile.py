"""Jira Software (agile) API: boards, backlog, sprints and their life cycle, in both flavours."""

from __future__ import annotations

import httpx2
from jiraplug.sandbox import SandboxServer
from sandbox_helpers import create_issue, rest, user_named
from sandbox_spec_tools import spec_checked_client

AGILE = "/rest/agile/1.0"


def search_keys(client: httpx2.Client, server: SandboxServer, jql: str) -> list[str]:
    if server.flavour == "cloud":
        body = client.post("/rest/api/3/search/jql", json={"jql": jql, "fields": ["key"], "maxResults": 100}).json()
    else:
        body = client.get("/rest/api/2/search", params={"jql": jql, "fields": "key", "maxResults": 100}).json()
    return sorted(i["key"] for i in body["issues"])


# --------------------------------------------------------------------------- boards (read-only, shared servers)


def test_boards(client: httpx2.Client, server: SandboxServer) -> None:
    boards = client.get(f"{AGILE}/board").json()
    assert boards["total"] == 4 and boards["isLast"] is True
    assert [(b["id"], b["type"]) for b in boards["values"]] == [(1, "scrum"), (2, "scrum"), (3, "scrum"),
                                                                (4, "kanban")]
    assert boards["values"][0]["location"]["projectKey"] == "PLAT"
    assert [b["id"] for b in client.get(f"{AGILE}/board", params={"projectKeyOrId": "OPS"}).json()["values"]] == [3, 4]
    assert [b["id"] for b in client.get(f"{AGILE}/board", params={"type": "kanban"}).json()["values"]] == [4]
    assert [b["id"] for b in client.get(f"{AGILE}/board", params={"name": "mob"}).json()["values"]] == [2]
    page = client.get(f"{AGILE}/board", params={"startAt": 1, "maxResults": 2}).json()
    assert [b["id"] for b in page["values"]] == [2, 3] and page["isLast"] is False
    assert client.get(f"{AGILE}/board/1").json()["name"] == "PLAT board"
    assert client.get(f"{AGILE}/board/99").status_code == 404
    assert client.get(f"{AGILE}/board", params={"type": "round"}).status_code == 400


def test_board_issues_backlog_and_sprints(client: httpx2.Client, server: SandboxServer) -> None:
    store = server.state
    plat = [i for i in store.issues if i.project_key == "PLAT"]
    issues = client.get(f"{AGILE}/board/1/issue", params={"maxResults": 1000, "fields": "summary"}).json()
    assert issues["total"] == len(plat) and set(issues["issues"][0]["fields"]) == {"summary"}
    ranks = [store.issue_by_key(i["key"]).rank for i in issues["issues"]]
    assert ranks == sorted(ranks)  # boards are ordered by rank
    bugs = client.get(f"{AGILE}/board/1/issue", params={"jql": "issuetype = Bug", "maxResults": 1000}).json()
    assert bugs["total"] == sum(1 for i in plat if i.issuetype.name == "Bug")
    assert client.get(f"{AGILE}/board/1/issue", params={"jql": "nonsense ="}).status_code == 400
    open_ids = store.open_sprint_ids()
    expected = {i.key for i in plat if i.status.category.key != "done" and not open_ids & set(i.sprint_ids)}
    backlog = client.get(f"{AGILE}/board/1/backlog", params={"maxResults": 1000}).json()
    assert {i["key"] for i in backlog["issues"]} == expected and expected
    sprints = client.get(f"{AGILE}/board/1/sprint").json()["values"]
    assert [s["state"] for s in sprints] == ["closed", "closed", "closed", "active", "future"]
    assert sprints[3]["startDate"] < sprints[3]["endDate"] and sprints[3]["originBoardId"] == 1
    open_only = client.get(f"{AGILE}/board/1/sprint", params={"state": "active,future"}).json()["values"]
    assert [s["state"] for s in open_only] == ["active", "future"]
    assert client.get(f"{AGILE}/board/4/sprint").json()["errorMessages"] == ["The board does not support sprints"]
    active = sprints[3]
    in_sprint = client.get(f"{AGILE}/sprint/{active['id']}/issue", params={"maxResults": 1000}).json()
    assert {i["key"] for i in in_sprint["issues"]} == {i.key for i in plat if active["id"] in i.sprint_ids}
    assert client.get(f"{AGILE}/sprint/{active['id']}").json()["name"] == active["name"]


def test_agile_visibility(server: SandboxServer) -> None:
    with spec_checked_client(server, user_named(server, "erin")) as c:
        assert [b["id"] for b in c.get(f"{AGILE}/board").json()["values"]] == [1, 2]
        assert c.get(f"{AGILE}/board/3").status_code == 404
        ops_sprint = next(s for s in server.state.sprints.values() if s.project_key == "OPS")
        assert c.get(f"{AGILE}/sprint/{ops_sprint.id}").status_code == 404


# --------------------------------------------------------------------------- sprint life cycle (writable)


def test_sprint_life_cycle(jira: httpx2.Client, wserver: SandboxServer) -> None:
    store = wserver.state
    board = 2  # MOB
    created = jira.post(f"{AGILE}/sprint", json={"name": "MOB Sprint 6", "originBoardId": board,
                                                   "goal": "Ship offline sync"})
    assert created.status_code == 201
    sprint = created.json()
    assert sprint["state"] == "future" and sprint["goal"] == "Ship offline sync" and "startDate" not in sprint
    sid = sprint["id"]
    a, b = create_issue(jira, wserver, project="MOB", summary="Sprint work A"), \
        create_issue(jira, wserver, project="MOB", summary="Sprint work B")
    sub = create_issue(jira, wserver, project="MOB", issuetype="Sub-task", summary="Part of A", parent={"key": a})
    assert jira.post(f"{AGILE}/sprint/{sid}/issue", json={"issues": [a, b]}).status_code == 204
    assert store.issue_by_key(sub).sprint_ids == [sid]  # sub-tasks follow their parent
    field = jira.get(f"{rest(wserver)}/issue/{a}", params={"fields": "customfield_10020"}).json()["fields"]
    (value,) = field["customfield_10020"]
    if wserver.flavour == "cloud":
        assert value["id"] == sid and value["state"] == "future"
    else:
        assert f"id={sid}," in value and "state=FUTURE" in value
    assert search_keys(jira, wserver, f"sprint = {sid}") == sorted([a, b, sub])
    assert a in search_keys(jira, wserver, "sprint in futureSprints() AND project = MOB")
    active_only = "sprint in openSprints() AND sprint not in futureSprints() AND project = MOB"
    assert a not in search_keys(jira, wserver, active_only)
    not_yet = jira.post(f"{AGILE}/sprint/{sid}", json={"state": "active"})
    assert not_yet.status_code == 400 and "start date" in not_yet.json()["errorMessages"][0]
    busy = jira.post(f"{AGILE}/sprint/{sid}", json={"state": "active", "startDate": "2026-11-21T09:00:00.000Z",
                                                     "endDate": "2026-12-05T09:00:00.000Z"})
    assert busy.status_code == 400 and "already active" in busy.json()["errorMessages"][0]
    current = next(s for s in store.sprints.values() if s.board_id == board and s.state == "active")
    unfinished = [i.key for i in store.issues if current.id in i.sprint_ids and i.status.category.key != "done"]
    closed = jira.post(f"{AGILE}/sprint/{current.id}", json={"state": "closed"})
    assert closed.status_code == 200 and closed.json()["state"] == "closed" and "completeDate" in closed.json()
    backlog = {i["key"] for i in jira.get(f"{AGILE}/board/{board}/backlog", params={"maxResults": 1000}).json()[
        "issues"]}
    assert set(unfinished) <= backlog  # unfinished work falls back to the backlog, history kept
    assert all(current.id in store.issue_by_key(k).sprint_ids for k in unfinished)
    started = jira.post(f"{AGILE}/sprint/{sid}", json={"state": "active", "startDate": "2026-11-21T09:00:00.000Z",
                                                        "endDate": "2026-12-05T09:00:00.000Z"})
    assert started.status_code == 200 and started.json()["state"] == "active"
    assert a in search_keys(jira, wserver, active_only) and a not in search_keys(
        jira, wserver, "sprint in futureSprints() AND project = MOB")
    assert jira.post(f"{AGILE}/sprint/{current.id}", json={"state": "active"}).status_code == 400  # no reopening
    assert jira.post(f"{AGILE}/sprint/{current.id}", json={"goal": "Retro notes"}).status_code == 200
    assert jira.delete(f"{AGILE}/sprint/{sid}").status_code == 400  # active
    assert jira.post(f"{AGILE}/backlog/issue", json={"issues": [b]}).status_code == 204
    assert sid not in store.issue_by_key(b).sprint_ids and b in {
        i["key"] for i in jira.get(f"{AGILE}/board/{board}/backlog", params={"maxResults": 1000}).json()["issues"]}
    sprint_items = [i for h in store.issue_by_key(b).changelog for i in h.items if i.field == "Sprint"]
    assert [(i.from_id, i.to_id) for i in sprint_items] == [(None, str(sid)), (str(sid), None)]


def test_sprint_create_update_delete(jira: httpx2.Client, wserver: SandboxServer) -> None:
    store = wserver.state
    bad = jira.post(f"{AGILE}/sprint", json={"originBoardId": 3})
    assert bad.status_code == 400 and set(bad.json()["errors"]) == {"name"}
    assert jira.post(f"{AGILE}/sprint", json={"name": "x" * 31, "originBoardId": 3}).status_code == 400
    assert jira.post(f"{AGILE}/sprint", json={"name": "K", "originBoardId": 4}).status_code == 400  # kanban
    assert jira.post(f"{AGILE}/sprint", json={"name": "K", "originBoardId": 3, "state": "active"}).status_code == 400
    sprint = jira.post(f"{AGILE}/sprint", json={"name": "OPS Sprint 6", "originBoardId": 3,
                                                "startDate": "2026-12-07T09:00:00.000Z",
                                                "endDate": "2026-12-21T09:00:00.000Z"}).json()
    put = jira.put(f"{AGILE}/sprint/{sprint['id']}", json={"name": "OPS Sprint 6b", "state": "future"})
    assert put.status_code == 200 and put.json()["name"] == "OPS Sprint 6b" and "startDate" not in put.json()
    assert jira.post(f"{AGILE}/sprint/{sprint['id']}", json={"state": "closed"}).status_code == 400
    key = create_issue(jira, wserver, project="OPS")
    jira.post(f"{AGILE}/sprint/{sprint['id']}/issue", json={"issues": [key]})
    assert jira.delete(f"{AGILE}/sprint/{sprint['id']}").status_code == 204
    assert sprint["id"] not in store.sprints and store.issue_by_key(key).sprint_ids == []
    assert jira.get(f"{AGILE}/sprint/{sprint['id']}").status_code == 404


def test_move_rules_and_rank(jira: httpx2.Client, wserver: SandboxServer) -> None:
    store = wserver.state
    future = next(s for s in store.sprints.values() if s.board_id == 1 and s.state == "future")
    closed = next(s for s in store.sprints.values() if s.board_id == 1 and s.state == "closed")
    first, second = create_issue(jira, wserver, summary="Rank me 1"), create_issue(jira, wserver, summary="Rank me 2")
    sub = create_issue(jira, wserver, issuetype="Sub-task", summary="Sub", parent={"key": first})
    url = f"{AGILE}/sprint/{future.id}/issue"
    assert jira.post(url, json={"issues": [sub]}).status_code == 400
    assert jira.post(url, json={"issues": ["PLAT-99999"]}).status_code == 400
    assert jira.post(url, json={"issues": [first] * 51}).status_code == 400
    assert jira.post(f"{AGILE}/sprint/{closed.id}/issue", json={"issues": [first]}).status_code == 400
    assert jira.post(url, json={"issues": [second], "rankBeforeIssue": first}).status_code == 204
    assert store.issue_by_key(second).rank < store.issue_by_key(first).rank
    with spec_checked_client(wserver, user_named(wserver, "erin")) as client:
        assert client.post(url, json={"issues": [first]}).status_code == 403
        assert client.post(f"{AGILE}/sprint", json={"name": "Erin's", "originBoardId": 1}).status_code == 403
        assert client.post(f"{AGILE}/sprint/{future.id}", json={"goal": "x"}).status_code == 403
