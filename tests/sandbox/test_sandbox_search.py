"""Search: Cloud enhanced search (nextPageToken), Data Center startAt paging, legacy 410."""

from __future__ import annotations

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from sandbox_helpers import client_for

GONE = {"errorMessages": ["The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
                          "A full migration guideline is available at "
                          "https://developer.atlassian.com/changelog/#CHANGE-2046"], "errors": {}}


def expected_keys(server: SandboxServer, projects: set[str]) -> list[str]:
    """Oracle for ``project in (...) ORDER BY key``: project key then number."""
    issues = [i for i in server.state.issues if i.project_key in projects]
    return [i.key for i in sorted(issues, key=lambda i: (i.project_key, i.number))]


# --------------------------------------------------------------------------- Cloud


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_cloud_pagination_walks_every_page(cloud_client: httpx2.Client, cloud: SandboxServer, method: str) -> None:
    jql = "project in (PLAT, MOB, OPS) ORDER BY key ASC"
    keys: list[str] = []
    token: str | None = None
    pages = 0
    while True:
        if method == "POST":
            payload = {"jql": jql, "maxResults": 37, "fields": ["summary", "status"]}
            if token:
                payload["nextPageToken"] = token
            response = cloud_client.post("/rest/api/3/search/jql", json=payload)
        else:
            params = {"jql": jql, "maxResults": "37", "fields": "summary,status"}
            if token:
                params["nextPageToken"] = token
            response = cloud_client.get("/rest/api/3/search/jql", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        pages += 1
        assert set(body) <= {"issues", "nextPageToken", "isLast", "names", "schema"}
        keys.extend(i["key"] for i in body["issues"])
        assert all(set(i["fields"]) == {"summary", "status"} for i in body["issues"])
        if body["isLast"]:
            assert "nextPageToken" not in body  # absent, never null, on the last page
            break
        assert isinstance(body["nextPageToken"], str) and body["nextPageToken"]
        assert len(body["issues"]) == 37
        token = body["nextPageToken"]
        assert pages < 50
    expected = expected_keys(cloud, {"PLAT", "MOB", "OPS"})
    assert keys == expected
    assert len(set(keys)) == len(keys)
    assert pages == -(-len(expected) // 37)


def test_cloud_single_page_is_last(cloud_client: httpx2.Client) -> None:
    body = cloud_client.post("/rest/api/3/search/jql", json={"jql": "key = PLAT-1", "fields": ["summary"]}).json()
    assert body["isLast"] is True and "nextPageToken" not in body
    assert [i["key"] for i in body["issues"]] == ["PLAT-1"]
    empty = cloud_client.post("/rest/api/3/search/jql", json={"jql": "project = PLAT AND labels = nothing"}).json()
    assert empty == {"issues": [], "isLast": True}


def test_cloud_default_fields_are_ids_only(cloud_client: httpx2.Client) -> None:
    body = cloud_client.get("/rest/api/3/search/jql", params={"jql": "project = OPS", "maxResults": "5"}).json()
    assert len(body["issues"]) == 5
    assert all(set(i) == {"id"} and isinstance(i["id"], str) for i in body["issues"])


def test_cloud_page_size_caps(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    jql = "project in (PLAT, MOB, OPS)"
    full = cloud_client.post("/rest/api/3/search/jql",
                             json={"jql": jql, "maxResults": 1000, "fields": ["summary"]}).json()
    assert len(full["issues"]) == 100 and full["isLast"] is False
    ids = cloud_client.post("/rest/api/3/search/jql", json={"jql": jql, "maxResults": 5000}).json()
    assert len(ids["issues"]) == len(cloud.state.issues) and ids["isLast"] is True
    default = cloud_client.post("/rest/api/3/search/jql", json={"jql": jql, "fields": ["key"]}).json()
    assert len(default["issues"]) == 50


def test_cloud_search_expand_and_fields(cloud_client: httpx2.Client) -> None:
    body = cloud_client.post("/rest/api/3/search/jql", json={
        "jql": "key = PLAT-2", "fields": ["*navigable"], "expand": "names,renderedFields"}).json()
    issue = body["issues"][0]
    assert "summary" in issue["fields"] and "comment" not in issue["fields"]
    assert body["names"]["summary"] == "Summary"
    assert "renderedFields" in issue


@pytest.mark.parametrize("extra", [{"startAt": 0}, {"startAt": 50}, {"validateQuery": True}])
def test_cloud_post_rejects_unknown_properties(cloud_client: httpx2.Client, extra: dict) -> None:
    response = cloud_client.post("/rest/api/3/search/jql", json={"jql": "project = PLAT", **extra})
    assert response.status_code == 400
    body = response.json()
    assert body["errors"] == {}
    assert f'"{next(iter(extra))}"' in body["errorMessages"][0]


def test_cloud_bad_requests(cloud_client: httpx2.Client) -> None:
    bad_token = cloud_client.post("/rest/api/3/search/jql", json={"jql": "project = PLAT", "nextPageToken": "xyz"})
    assert bad_token.status_code == 400
    unbounded = cloud_client.post("/rest/api/3/search/jql", json={"jql": "ORDER BY created DESC"})
    assert unbounded.status_code == 400
    assert unbounded.json()["errorMessages"] == [
        "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."]
    assert cloud_client.post("/rest/api/3/search/jql", json={"jql": ""}).status_code == 400
    assert cloud_client.post("/rest/api/3/search/jql", content=b"not json",
                             headers={"content-type": "application/json"}).status_code == 400
    assert cloud_client.post("/rest/api/3/search/jql", json={"jql": "project = PLAT", "maxResults": "x"}
                             ).status_code == 400


def test_cloud_token_is_bound_to_the_query(cloud_client: httpx2.Client) -> None:
    first = cloud_client.post("/rest/api/3/search/jql", json={"jql": "project = PLAT", "maxResults": 10}).json()
    response = cloud_client.post("/rest/api/3/search/jql", json={
        "jql": "project = MOB", "maxResults": 10, "nextPageToken": first["nextPageToken"]})
    assert response.status_code == 400


@pytest.mark.parametrize("version", ["2", "3"])
@pytest.mark.parametrize("method", ["GET", "POST"])
def test_cloud_legacy_search_is_gone(cloud_client: httpx2.Client, version: str, method: str) -> None:
    kwargs = {"json": {"jql": "project = PLAT"}} if method == "POST" else {"params": {"jql": "project = PLAT"}}
    response = cloud_client.request(method, f"/rest/api/{version}/search", **kwargs)
    assert response.status_code == 410
    assert response.json() == GONE


def test_cloud_approximate_count(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    body = cloud_client.post("/rest/api/3/search/approximate-count", json={"jql": "project = MOB"}).json()
    assert body == {"count": sum(1 for i in cloud.state.issues if i.project_key == "MOB")}


# --------------------------------------------------------------------------- Data Center


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_dc_pagination_with_start_at(dc_client: httpx2.Client, dc: SandboxServer, method: str) -> None:
    jql = "project in (PLAT, OPS) ORDER BY key"
    expected = expected_keys(dc, {"PLAT", "OPS"})
    keys: list[str] = []
    start = 0
    while True:
        if method == "GET":
            response = dc_client.get("/rest/api/2/search", params={"jql": jql, "startAt": start, "maxResults": 40,
                                                                   "fields": "summary"})
        else:
            response = dc_client.post("/rest/api/2/search", json={"jql": jql, "startAt": start, "maxResults": 40,
                                                                   "fields": ["summary"]})
        body = response.json()
        assert body["startAt"] == start and body["maxResults"] == 40
        assert body["total"] == len(expected)
        keys.extend(i["key"] for i in body["issues"])
        start += len(body["issues"])
        if not body["issues"] or start >= body["total"]:
            break
    assert keys == expected


def test_dc_search_details(dc_client: httpx2.Client, dc: SandboxServer) -> None:
    count_only = dc_client.get("/rest/api/2/search", params={"jql": "project = MOB", "maxResults": 0}).json()
    assert count_only["issues"] == [] and count_only["total"] == sum(1 for i in dc.state.issues
                                                                     if i.project_key == "MOB")
    default = dc_client.get("/rest/api/2/search", params={"jql": "key = PLAT-2"}).json()
    fields = default["issues"][0]["fields"]
    assert "summary" in fields and "description" in fields and "comment" not in fields
    assert isinstance(fields["description"], (str, type(None)))
    everything = dc_client.get("/rest/api/2/search", params={"jql": "", "maxResults": 5000, "fields": "key"}).json()
    assert everything["total"] == len(dc.state.issues) and everything["maxResults"] == 1000
    past_end = dc_client.get("/rest/api/2/search", params={"jql": "project = OPS", "startAt": 10000}).json()
    assert past_end["issues"] == [] and past_end["total"] > 0


def test_dc_post_rejects_unknown_properties(dc_client: httpx2.Client) -> None:
    response = dc_client.post("/rest/api/2/search", json={"jql": "project = PLAT", "nextPageToken": "abc"})
    assert response.status_code == 400
    assert '"nextPageToken"' in response.json()["errorMessages"][0]


def test_dc_has_no_enhanced_search(dc_client: httpx2.Client) -> None:
    assert dc_client.post("/rest/api/2/search/jql", json={"jql": "project = PLAT"}).status_code == 404


# --------------------------------------------------------------------------- permissions


def test_search_is_filtered_for_restricted_user(server: SandboxServer) -> None:
    user = next(u for u in server.users if u.projects is not None)
    expected = sorted(i.key for i in server.state.issues if i.project_key in user.projects)
    with client_for(server, user) as c:
        if server.flavour == "cloud":
            body = c.post("/rest/api/3/search/jql", json={
                "jql": "assignee is EMPTY OR assignee is not EMPTY", "maxResults": 5000, "fields": ["key"]}).json()
            assert body["isLast"] is True
        else:
            body = c.get("/rest/api/2/search", params={"jql": "", "maxResults": 1000, "fields": "key"}).json()
            assert body["total"] == len(expected)
        assert sorted(i["key"] for i in body["issues"]) == expected
        # Naming a hidden project is an error, as if it did not exist.
        hidden = c.post("/rest/api/3/search/jql", json={"jql": "project = OPS"}) if server.flavour == "cloud" \
            else c.get("/rest/api/2/search", params={"jql": "project = OPS"})
        assert hidden.status_code == 400
        assert hidden.json()["errorMessages"] == ["The value 'OPS' does not exist for the field 'project'."]
