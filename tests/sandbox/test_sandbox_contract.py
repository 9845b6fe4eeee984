"""Responses checked against Atlassian's OpenAPI specs and the ADF JSON schema."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from sandbox_spec_tools import (
    CLOUD_SPEC, DC_SPEC, adf_errors, find_operation, response_errors, schema_errors, spec_checked_client,
)

CLOUD_CASES = [
    ("/rest/api/3/serverInfo", "ServerInformation"),
    ("/rest/api/3/myself", "User"),
    ("/rest/api/3/issue/PLAT-1", "IssueBean"),
    ("/rest/api/3/issue/PLAT-2?expand=renderedFields,names,schema,changelog,transitions", "IssueBean"),
    ("/rest/api/2/issue/PLAT-3?expand=names", "IssueBean"),
    ("/rest/api/3/project/PLAT", "Project"),
    ("/rest/api/3/project/OPS", "Project"),
]
DC_CASES = [
    ("/rest/api/2/serverInfo", "ServerInfoBean"),
    ("/rest/api/2/myself", "UserBean"),
    ("/rest/api/2/issue/PLAT-2?expand=renderedFields,names,schema,changelog,transitions", "IssueBean"),
    ("/rest/api/2/project/PLAT", "ProjectBean"),
]


@pytest.mark.parametrize(("path", "component"), CLOUD_CASES)
def test_cloud_responses_match_spec(cloud_client: httpx2.Client, path: str, component: str) -> None:
    response = cloud_client.get(path)
    assert response.status_code == 200
    assert schema_errors(CLOUD_SPEC, component, response.json()) == []


@pytest.mark.parametrize(("path", "component"), DC_CASES)
def test_dc_responses_match_spec(dc_client: httpx2.Client, path: str, component: str) -> None:
    response = dc_client.get(path)
    assert response.status_code == 200
    assert schema_errors(DC_SPEC, component, response.json()) == []


def test_list_endpoints_match_spec(cloud_client: httpx2.Client, dc_client: httpx2.Client) -> None:
    for item in cloud_client.get("/rest/api/3/field").json():
        assert schema_errors(CLOUD_SPEC, "FieldDetails", item) == [], item["id"]
    for item in cloud_client.get("/rest/api/3/project").json():
        assert schema_errors(CLOUD_SPEC, "Project", item) == []
    for item in dc_client.get("/rest/api/2/field").json():
        assert schema_errors(DC_SPEC, "FieldBean", item) == [], item["id"]
    for item in dc_client.get("/rest/api/2/project").json():
        assert schema_errors(DC_SPEC, "ProjectBean", item) == []


def test_search_results_match_spec(cloud_client: httpx2.Client, dc_client: httpx2.Client) -> None:
    for payload in ({"jql": "project = PLAT", "maxResults": 20, "fields": ["*all"], "expand": "names,schema"},
                    {"jql": "project = MOB"}):
        body = cloud_client.post("/rest/api/3/search/jql", json=payload).json()
        assert schema_errors(CLOUD_SPEC, "SearchAndReconcileResults", body) == []
    body = dc_client.get("/rest/api/2/search", params={"jql": "project = OPS", "expand": "names,schema"}).json()
    assert schema_errors(DC_SPEC, "SearchResultsBean", body) == []


def test_error_bodies_match_spec(cloud_client: httpx2.Client) -> None:
    for response in (cloud_client.get("/rest/api/3/issue/NOPE-1"),
                     cloud_client.post("/rest/api/3/search/jql", json={"jql": "foo = bar"}),
                     cloud_client.get("/rest/api/3/search")):
        assert schema_errors(CLOUD_SPEC, "ErrorCollection", response.json()) == []


def _shape(node: Any) -> Any:
    """The document with its texts blanked (validation depends on structure, and texts are non-empty)."""
    if isinstance(node, dict):
        if node.get("type") == "text":
            assert isinstance(node.get("text"), str) and node["text"], "ADF text nodes must not be empty"
        return {k: ("x" if k == "text" else _shape(v)) for k, v in node.items()}
    if isinstance(node, list):
        return [_shape(v) for v in node]
    return node


def test_every_adf_document_is_valid(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    """Every description and comment body the Cloud sandbox serves validates against ADF.

    The ADF schema is slow to evaluate, so each distinct document structure is validated once.
    """
    token = None
    checked = 0
    shapes: dict[str, Any] = {}
    while True:
        payload = {"jql": "project in (PLAT, MOB, OPS)", "maxResults": 100, "fields": ["description", "comment"]}
        if token:
            payload["nextPageToken"] = token
        body = cloud_client.post("/rest/api/3/search/jql", json=payload).json()
        for issue in body["issues"]:
            documents = [issue["fields"]["description"]] + [c["body"] for c in issue["fields"]["comment"]["comments"]]
            for document in documents:
                if document is not None:
                    shape = _shape(document)
                    shapes.setdefault(json.dumps(shape, sort_keys=True), (issue["key"], document))
                    checked += 1
        token = body.get("nextPageToken")
        if body["isLast"]:
            break
    assert checked > len(cloud.state.issues)
    assert len(shapes) >= 5
    for key, document in shapes.values():
        assert adf_errors(document) == [], key


# --------------------------------------------------------------------------- per-operation checks

#: Sandbox paths that are not part of the REST APIs (downloads, the signed media URL, admin).
_NOT_REST = ("/secure/", "/sandbox-media/", "/__sandbox__/")
#: APIs no spec in ../shared/specs describes (see SOURCES.md there), each checked by its toolset's tests:
#: Jira Service Management's ``/rest/servicedeskapi`` (tests/tools/test_service_desk.py), dev-status (the
#: development panel's API) and Jira Forms (``/jira/forms/cloud/...``, with ``/_edge/tenant_info`` for the
#: cloud id).
_NO_SPEC = ("/rest/servicedeskapi/", "/rest/dev-status/", "/jira/forms/", "/_edge/")
#: Operations one flavour answers with Jira's 404 because only the other flavour has them (a path: every
#: method of it; "METHOD path": that method only).
_FLAVOUR_ONLY = {
    "cloud": {"/rest/api/{version}/customFields/{field}/options"},
    "dc": {"/rest/api/{version}/search/jql", "/rest/api/{version}/search/approximate-count",
           "/rest/api/{version}/project/search", "/rest/api/{version}/changelog/bulkfetch",
           "/rest/api/{version}/issue/{key}/changelog", "/rest/api/{version}/attachment/content/{id}",
           "/rest/api/{version}/field/{field}/context", "/rest/api/{version}/field/{field}/context/{context}/option",
           "/rest/api/{version}/jql/parse", "POST /rest/api/{version}/jql/autocompletedata"},
}


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_every_sandbox_operation_exists_in_the_spec(flavour: str) -> None:
    """Each REST route the sandbox serves is an operation of the flavour's spec (Cloud, Agile or DC)."""
    import re

    from jiraplug.sandbox import create_app
    from sandbox_spec_tools import find_operation

    version = "3" if flavour == "cloud" else "2"
    checked = 0
    for route in create_app(flavour).routes:
        path = route.path
        if path.startswith(_NOT_REST + _NO_SPEC) or path in _FLAVOUR_ONLY[flavour]:
            continue
        concrete = re.sub(r"\{(\w+)\}", lambda m: version if m.group(1) == "version" else "1", path)
        for method in sorted(route.methods - {"HEAD"}):
            if f"{method} {path}" in _FLAVOUR_ONLY[flavour]:
                continue
            find_operation(flavour, method, concrete)  # raises if the spec has no such operation
            checked += 1
    assert checked >= 60


def test_response_check_bites(cloud: SandboxServer) -> None:
    """The per-operation check rejects bodies that break the spec (so passing tests mean something)."""
    from sandbox_spec_tools import response_errors

    good = {"id": "1", "key": "PLAT-1", "self": "http://x/rest/api/3/issue/1"}
    assert response_errors("cloud", "POST", "/rest/api/3/issue", 201, good) == []
    assert response_errors("cloud", "POST", "/rest/api/3/issue", 201, {**good, "extra": 1})
    assert response_errors("cloud", "GET", "/rest/api/3/issue/PLAT-1/worklog", 200, {"worklogs": [{"timeSpentSeconds":
                                                                                                   "1h"}]})
    assert response_errors("dc", "GET", "/rest/agile/1.0/sprint/1", 200, {"id": "not-a-number"})
    assert response_errors("cloud", "GET", "/rest/agile/1.0/sprint/1", 200, {"id": 1, "colour": "red"})
    assert response_errors("cloud", "GET", "/rest/api/3/issue/PLAT-1", 404, {"errorMessages": "one"})
    with pytest.raises(AssertionError):
        response_errors("cloud", "GET", "/rest/api/3/no/such/operation", 200, {})


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_server_info_answers_anonymous_callers(flavour: str, request: pytest.FixtureRequest) -> None:
    """Jira serves ``serverInfo`` without credentials (clients probe the deployment with it); nothing else."""
    server: SandboxServer = request.getfixturevalue(flavour)
    version = "3" if flavour == "cloud" else "2"
    path = f"/rest/api/{version}/serverInfo"
    if flavour == "cloud":  # the Cloud spec says so: an empty security requirement means anonymous
        assert {} in find_operation(flavour, "GET", path)[2]["security"]
    anonymous = httpx2.get(server.url + path)
    assert anonymous.status_code == 200, anonymous.text
    assert response_errors(flavour, "GET", path, 200, anonymous.json()) == []
    with spec_checked_client(server) as client:
        signed_in = client.get(path).json()
    assert {**anonymous.json(), "serverTime": None} == {**signed_in, "serverTime": None}
    # A credential that is sent must still be valid, and the rest of the API stays closed.
    assert httpx2.get(server.url + path, headers={"Authorization": "Bearer not-a-token"}).status_code == 401
    for other in (f"/rest/api/{version}/myself", f"/rest/api/{version}/field", f"/rest/api/{version}/serverInfo/x",
                  f"/rest/api/{version}/issue/PLAT-1"):
        assert httpx2.get(server.url + other).status_code == 401, other
    assert httpx2.post(server.url + path, json={}).status_code in (401, 405)
