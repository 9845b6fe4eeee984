"""JQL help endpoints: Cloud's parser (/jql/parse), autocomplete data and suggestions, DC validation by search.

Every response goes through the spec-checking clients (sandbox_spec_tools), so each test also
holds the shapes to Atlassian's specs.
"""

from __future__ import annotations

import httpx2
import pytest


def _parse(client: httpx2.Client, *queries: str, validation: str = "strict") -> list[dict]:
    response = client.post("/rest/api/3/jql/parse", params={"validation": validation}, json={"queries": list(queries)})
    assert response.status_code == 200, response.text
    return response.json()["queries"]


def test_parse_returns_the_structure_of_a_valid_query(cloud_client: httpx2.Client) -> None:
    [parsed] = _parse(cloud_client, 'project = PLAT AND (labels in (urgent, "two words") OR assignee = currentUser()) '
                                    "AND NOT resolution IS EMPTY ORDER BY updated DESC")
    assert "errors" not in parsed
    where = parsed["structure"]["where"]
    assert where["operator"] == "and"
    project, either, negated = where["clauses"]
    assert project == {"field": {"name": "project", "encodedName": "project"}, "operator": "=",
                       "operand": {"value": "PLAT", "encodedValue": "PLAT"}}
    labels, assignee = either["clauses"]
    assert labels["operator"] == "in"
    assert [v["encodedValue"] for v in labels["operand"]["values"]] == ["urgent", '"two words"']
    assert assignee["operand"] == {"function": "currentUser", "arguments": [], "encodedOperand": "currentUser()"}
    assert negated == {"operator": "not", "clauses": [{"field": {"name": "resolution", "encodedName": "resolution"},
                                                       "operator": "is", "operand": {"keyword": "empty"}}]}
    assert parsed["structure"]["orderBy"] == {"fields": [{"field": {"name": "updated", "encodedName": "updated"},
                                                          "direction": "desc"}]}


def test_parse_reports_syntax_and_meaning_errors_with_positions(cloud_client: httpx2.Client) -> None:
    syntax, unknown_field, unknown_value = _parse(cloud_client, "project = PLAT AND status foo Done",
                                                  "projekt = PLAT", "project = NOPE")
    assert "structure" not in syntax
    assert syntax["errors"] == ["Error in the JQL Query: Expecting operator but got 'foo'. The valid operators are "
                                "'=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. "
                                "(line 1, character 27)"]
    assert unknown_field["errors"] == ["Field 'projekt' does not exist or you do not have permission to view it."]
    assert unknown_value["errors"] == ["The value 'NOPE' does not exist for the field 'project'."]


def test_parse_validation_modes(cloud_client: httpx2.Client) -> None:
    [warned] = _parse(cloud_client, "project = NOPE", validation="warn")
    assert warned["warnings"] == ["The value 'NOPE' does not exist for the field 'project'."]
    assert "errors" not in warned and warned["structure"]["where"]["field"]["name"] == "project"
    [unchecked] = _parse(cloud_client, "projekt = NOPE", validation="none")
    assert "errors" not in unchecked and "warnings" not in unchecked
    [still_syntax] = _parse(cloud_client, "status = ", validation="none")
    assert still_syntax["errors"] == ["Error in the JQL Query: Expecting either a value, list or function before the "
                                      "end of the query."]


@pytest.mark.parametrize("body", [{}, {"queries": []}, {"queries": [""]}, {"queries": ["x = 1"], "extra": 1}])
def test_parse_rejects_bad_requests(cloud_client: httpx2.Client, body: dict) -> None:
    assert cloud_client.post("/rest/api/3/jql/parse", json=body).status_code == 400
    assert cloud_client.post("/rest/api/3/jql/parse", params={"validation": "lax"},
                             json={"queries": ["x = 1"]}).status_code == 400


def test_parse_is_cloud_only(dc_client: httpx2.Client) -> None:
    assert dc_client.post("/rest/api/2/jql/parse", json={"queries": ["project = PLAT"]}).status_code == 404


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_autocomplete_data_lists_fields_operators_and_functions(flavour: str, request: pytest.FixtureRequest) -> None:
    client: httpx2.Client = request.getfixturevalue(f"{flavour}_client")
    version = "3" if flavour == "cloud" else "2"
    data = client.get(f"/rest/api/{version}/jql/autocompletedata").json()
    fields = {f["displayName"]: f for f in data["visibleFieldNames"]}
    assert fields["status"]["operators"] == ["=", "!=", "is", "is not", "in", "not in"]
    assert set(fields["summary"]["operators"]) == {"~", "!~", "is", "is not"}
    assert fields["sprint - cf[10020]"]["cfid"] == "cf[10020]"
    assert fields["Story Points - cf[10016]"]["value"] == '"Story Points"'
    assert ("Epic Link - cf[10014]" in fields) == (flavour == "dc")
    assert len(fields) == len({f["value"] for f in data["visibleFieldNames"]})  # one entry per field
    functions = {f["value"] for f in data["visibleFunctionNames"]}
    assert {"currentUser()", "openSprints()", "startOfWeek()"} <= functions
    assert {"and", "or", "empty", "order"} <= set(data["jqlReservedWords"])


def test_autocomplete_data_post_for_projects(cloud_client: httpx2.Client) -> None:
    response = cloud_client.post("/rest/api/3/jql/autocompletedata", json={"projectIds": [10000]})
    assert response.status_code == 200 and response.json()["visibleFieldNames"]
    assert cloud_client.post("/rest/api/3/jql/autocompletedata", json={"projectIds": ["PLAT"]}).status_code == 400


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_suggestions_match_word_starts_and_mark_them(flavour: str, request: pytest.FixtureRequest) -> None:
    client: httpx2.Client = request.getfixturevalue(f"{flavour}_client")
    version = "3" if flavour == "cloud" else "2"

    def suggest(field: str, value: str) -> list[dict]:
        return client.get(f"/rest/api/{version}/jql/autocompletedata/suggestions",
                          params={"fieldName": field, "fieldValue": value}).json()["results"]

    projects = suggest("project", "pl")
    assert projects and all("<b>" in p["displayName"] for p in projects)
    assert any(p["displayName"].endswith("(PLAT)") for p in projects)
    assert [s["value"] for s in suggest("status", "in p")] == ["In Progress"]
    assert suggest("status", "in p")[0]["displayName"] == "<b>In P</b>rogress"
    assert {s["value"] for s in suggest("priority", "")} >= {"High", "Low"}
    assert suggest("summary", "a") == [] and suggest("nosuchfield", "a") == []
    assert len(suggest("labels", "")) <= 15


def test_dc_validates_by_searching_for_no_issues(dc_client: httpx2.Client) -> None:
    """DC has no /jql/parse: a search with maxResults=0 validates (400 with Jira's messages)."""
    ok = dc_client.get("/rest/api/2/search", params={"jql": "project = PLAT", "maxResults": 0})
    assert ok.status_code == 200 and ok.json()["issues"] == [] and ok.json()["total"] > 0
    bad = dc_client.get("/rest/api/2/search", params={"jql": "projekt = PLAT", "maxResults": 0})
    assert bad.status_code == 400
    assert bad.json()["errorMessages"] == ["Field 'projekt' does not exist or you do not have permission to view it."]
    lenient = dc_client.post("/rest/api/2/search", json={"jql": "project = PLAT OR status = Nope",
                                                         "maxResults": 0, "validateQuery": False})
    assert lenient.status_code == 200, lenient.text
    assert lenient.json()["warningMessages"] == ["The value 'Nope' does not exist for the field 'status'."]
    assert lenient.json()["total"] == ok.json()["total"]  # the unknown value matches nothing
    syntax = dc_client.get("/rest/api/2/search", params={"jql": "status = ", "validateQuery": "false"})
    assert syntax.status_code == 400
