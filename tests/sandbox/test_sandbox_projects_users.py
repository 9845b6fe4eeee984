"""Projects, versions, components, issue types, users and custom field options."""

from __future__ import annotations

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from sandbox_helpers import create_issue, rest, user_named
from sandbox_spec_tools import spec_checked_client


@pytest.fixture
def checked(server: SandboxServer):
    with spec_checked_client(server) as c:
        yield c


# --------------------------------------------------------------------------- projects (read-only)


def test_project_search_cloud(cloud: SandboxServer) -> None:
    with spec_checked_client(cloud) as c:
        everything = c.get("/rest/api/3/project/search").json()
        assert [p["key"] for p in everything["values"]] == ["MOB", "OPS", "PLAT"] and everything["isLast"] is True
        assert [p["key"] for p in c.get("/rest/api/3/project/search", params={"query": "mobile"}).json()[
            "values"]] == ["MOB"]
        page = c.get("/rest/api/3/project/search", params={"maxResults": 1, "orderBy": "-name"}).json()
        assert [p["key"] for p in page["values"]] == ["PLAT"] and page["total"] == 3 and "nextPage" in page
        assert [p["key"] for p in c.get("/rest/api/3/project/search", params=[("keys", "OPS"), ("keys", "MOB")])
                .json()["values"]] == ["MOB", "OPS"]
        assert c.get("/rest/api/3/project/search", params={"orderBy": "lead"}).status_code == 400
    with spec_checked_client(cloud, user_named(cloud, "erin")) as c:
        assert [p["key"] for p in c.get("/rest/api/3/project/search").json()["values"]] == ["MOB", "PLAT"]


def test_project_children(checked: httpx2.Client, server: SandboxServer) -> None:
    base = rest(server)
    plat = server.state.projects["PLAT"]
    assert [v["name"] for v in checked.get(f"{base}/project/PLAT/versions").json()] == [v.name for v in plat.versions]
    components = checked.get(f"{base}/project/PLAT/components").json()
    assert [c["name"] for c in components] == [c.name for c in plat.components] and "lead" in components[0]
    statuses = checked.get(f"{base}/project/PLAT/statuses").json()
    assert {t["name"] for t in statuses} == {"Epic", "Story", "Task", "Bug", "Sub-task"}
    assert [s["name"] for s in statuses[0]["statuses"]] == ["To Do", "In Progress", "In Review", "Done"]
    every = checked.get(f"{base}/status").json()
    assert [(s["id"], s["name"]) for s in every] == [(s.id, s.name) for s in server.state.statuses]
    assert [t["name"] for t in checked.get(f"{base}/issuetype").json()] == ["Epic", "Story", "Task", "Bug",
                                                                             "Sub-task"]
    assert checked.get(f"{base}/project/NOPE/versions").status_code == 404
    component = plat.components[0]
    assert checked.get(f"{base}/component/{component.id}").json()["name"] == component.name
    assert checked.get(f"{base}/version/{plat.versions[0].id}").json()["name"] == plat.versions[0].name


# --------------------------------------------------------------------------- versions and components (writable)


def test_versions(jira: httpx2.Client, wserver: SandboxServer) -> None:
    base = rest(wserver)
    created = jira.post(f"{base}/version", json={"name": "2027.2", "project": "PLAT", "description": "Spring",
                                                 "releaseDate": "2027-04-01"})
    assert created.status_code == 201
    version = created.json()
    assert version["name"] == "2027.2" and version["released"] is False and version["releaseDate"] == "2027-04-01"
    assert version["name"] in [v["name"] for v in jira.get(f"{base}/project/PLAT/versions").json()]
    duplicate = jira.post(f"{base}/version", json={"name": "2027.2", "project": "PLAT"})
    assert duplicate.json()["errors"] == {"name": "A version with this name already exists in this project."}
    assert set(jira.post(f"{base}/version", json={"project": "PLAT"}).json()["errors"]) == {"name"}
    assert set(jira.post(f"{base}/version", json={"name": "x"}).json()["errors"]) == {"project"}
    released = jira.put(f"{base}/version/{version['id']}", json={"released": True, "releaseDate": "2026-11-20"})
    assert released.status_code == 200 and released.json()["released"] is True
    key = create_issue(jira, wserver, fixVersions=[{"name": "2027.2"}])
    search = {"jql": 'fixVersion = "2027.2"'}
    found = jira.post("/rest/api/3/search/jql", json={**search, "fields": ["key"]}).json()["issues"] \
        if wserver.flavour == "cloud" else jira.get("/rest/api/2/search", params=search).json()["issues"]
    assert [i["key"] for i in found] == [key]
    with spec_checked_client(wserver, user_named(wserver, "erin")) as c:
        assert c.post(f"{base}/version", json={"name": "e", "project": "PLAT"}).status_code == 403
        assert c.put(f"{base}/version/{version['id']}", json={"name": "e"}).status_code == 403
        assert c.post(f"{base}/version", json={"name": "e", "project": "OPS"}).status_code == 400


def test_components(jira: httpx2.Client, wserver: SandboxServer) -> None:
    base = rest(wserver)
    bob = user_named(wserver, "bob")
    lead = {"leadAccountId": bob.account_id} if wserver.flavour == "cloud" else {"leadUserName": bob.name}
    created = jira.post(f"{base}/component", json={"name": "Payments API", "project": "OPS",
                                                   "description": "Edge payments", **lead})
    assert created.status_code == 201 and created.json()["lead"]["displayName"] == "Bob Okafor"
    assert jira.post(f"{base}/component", json={"name": "Payments API", "project": "OPS"}).status_code == 400
    key = create_issue(jira, wserver, project="OPS", components=[{"name": "Payments API"}])
    assert wserver.state.issue_by_key(key).components[0].id == created.json()["id"]
    with spec_checked_client(wserver, user_named(wserver, "erin")) as c:
        assert c.post(f"{base}/component", json={"name": "E", "project": "PLAT"}).status_code == 403


# --------------------------------------------------------------------------- users


def test_get_and_search_users(checked: httpx2.Client, server: SandboxServer) -> None:
    base = rest(server)
    bob = user_named(server, "bob")
    if server.flavour == "cloud":
        assert checked.get(f"{base}/user", params={"accountId": bob.account_id}).json()["displayName"] == "Bob Okafor"
        assert checked.get(f"{base}/user").status_code == 400
        assert checked.get(f"{base}/user", params={"accountId": "nope"}).status_code == 404
        found = checked.get(f"{base}/user/search", params={"query": "okafor"}).json()
        assert checked.get(f"{base}/user/search").status_code == 400
    else:
        assert checked.get(f"{base}/user", params={"username": "bob"}).json()["key"] == bob.key
        assert checked.get(f"{base}/user", params={"key": bob.key}).json()["name"] == "bob"
        assert checked.get(f"{base}/user", params={"username": "nope"}).status_code == 404
        found = checked.get(f"{base}/user/search", params={"username": "bob"}).json()
        assert len(checked.get(f"{base}/user/search", params={"username": "."}).json()) == len(server.users)
    assert [u["displayName"] for u in found] == ["Bob Okafor"]


def test_assignable_users(checked: httpx2.Client, server: SandboxServer) -> None:
    url = f"{rest(server)}/user/assignable/search"
    names = lambda params: [u["displayName"] for u in checked.get(url, params=params).json()]  # noqa: E731
    assert "Erin Walsh" not in names({"project": "PLAT"})  # read-only in PLAT
    assert "Erin Walsh" in names({"project": "MOB"}) and "Erin Walsh" in names({"issueKey": "MOB-1"})
    term = "query" if server.flavour == "cloud" else "username"
    assert names({"project": "MOB", term: "car"}) == ["Carol Díaz"]
    assert checked.get(url).status_code == 400
    assert checked.get(url, params={"issueKey": "NOPE-1"}).status_code == 404


# --------------------------------------------------------------------------- custom field options


def test_field_options_cloud(cloud: SandboxServer) -> None:
    with spec_checked_client(cloud) as c:
        contexts = c.get("/rest/api/3/field/customfield_10030/context").json()["values"]
        assert len(contexts) == 1 and contexts[0]["isGlobalContext"] is True
        options = c.get(f"/rest/api/3/field/customfield_10030/context/{contexts[0]['id']}/option").json()
        assert [o["value"] for o in options["values"]] == ["Critical", "Major", "Minor", "Trivial"]
        assert c.get("/rest/api/3/field/customfield_10030/context/1/option").status_code == 404
        points = c.get("/rest/api/3/field/customfield_10016/context").json()["values"][0]["id"]
        assert c.get(f"/rest/api/3/field/customfield_10016/context/{points}/option").status_code == 400
        assert c.get("/rest/api/3/field/summary/context").status_code == 404
        assert c.get("/rest/api/3/customFieldOption/10041").json()["value"] == "Major"


def test_field_options_dc(dc: SandboxServer) -> None:
    with spec_checked_client(dc) as c:
        options = c.get("/rest/api/2/customFields/customfield_10030/options").json()
        assert options["total"] == 4 and options["options"][0] == {
            "id": 10040, "self": f"{dc.url}/rest/api/2/customFieldOption/10040", "value": "Critical",
            "disabled": False}
        assert c.get("/rest/api/2/customFields/10030/options").json() == options
        assert c.get("/rest/api/2/customFields/10016/options").status_code == 400
        assert c.get("/rest/api/2/customFieldOption/10043").json()["value"] == "Trivial"
        assert c.get("/rest/api/2/customFieldOption/1").status_code == 404
