"""Responses checked against Atlassian's OpenAPI specs and the ADF JSON schema."""

from __future__ import annotations

import json
from typing import Any

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from sandbox_spec_tools import CLOUD_SPEC, DC_SPEC, adf_errors, schema_errors

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
