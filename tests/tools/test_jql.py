"""The jql toolset through an MCP client: Jira's parser validates, autocomplete data suggests (both flavours)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.spec_contract import SpecContract
from tests.tools.helpers import call, call_error, connect

pytestmark = pytest.mark.anyio

FLAVOURS = ["cloud_sandbox", "dc_sandbox"]


def _flavour(fixture: str) -> str:
    return fixture.removesuffix("_sandbox")


@pytest.mark.parametrize("fixture", FLAVOURS)
async def test_validate_reports_errors_with_positions_and_suggestions(fixture: str, request: Any) -> None:
    contract = SpecContract(_flavour(fixture))
    async with connect(request.getfixturevalue(fixture), plugins={"spec_contract": contract}) as client:
        ok = await call(client, "jira_validate_jql", jql='project = PLAT AND status = "In Progress" ORDER BY rank')
        syntax = await call(client, "jira_validate_jql", jql="project = PLAT AND status foo Done")
        field = await call(client, "jira_validate_jql", jql="stauts = Done")
        value = await call(client, "jira_validate_jql", jql='status = "In Progres"')
        operator = await call(client, "jira_validate_jql", jql="summary = text")
    assert ok == {"valid": True}
    [error] = syntax["errors"]
    assert not syntax["valid"] and (error["line"], error["column"]) == (1, 27)
    assert "Expecting operator but got 'foo'" in error["message"]
    assert field["errors"][0]["suggestions"] == ["did you mean: status?"]
    assert value["errors"][0]["message"] == "The value 'In Progres' does not exist for the field 'status'."
    assert value["errors"][0]["suggestions"] == ['values of status: "In Progress"']
    assert operator["errors"][0]["suggestions"] == ["summary supports: ~, !~, is, is not"]
    contract.assert_clean(at_least=5)


@pytest.mark.parametrize("fixture", FLAVOURS)
async def test_suggest_fields_operators_and_values(fixture: str, request: Any) -> None:
    contract = SpecContract(_flavour(fixture))
    async with connect(request.getfixturevalue(fixture), plugins={"spec_contract": contract}) as client:
        fields = await call(client, "jira_suggest_jql", prefix="stat")
        statuses = await call(client, "jira_suggest_jql", field="status", prefix="in p")
        points = await call(client, "jira_suggest_jql", field="story points")
        projects = await call(client, "jira_suggest_jql", field="project", prefix="")
        unknown = await call_error(client, "jira_suggest_jql", field="stauts")
    assert {f["field"] for f in fields["fields"]} >= {"status", "statusCategory"}
    assert statuses["operators"] == ["=", "!=", "is", "is not", "in", "not in"]
    assert statuses["values"] == [{"value": '"In Progress"', "label": "In Progress"}]
    assert points["field"] == '"Story Points"' and ">=" in points["operators"]
    assert {"MOB", "OPS"} <= {v["label"].rsplit("(", 1)[-1].rstrip(")") for v in projects["values"]}
    assert "no field 'stauts'" in unknown and "status" in unknown
    contract.assert_clean(at_least=3)  # the autocomplete data is read once: the cache answers again


async def test_the_projects_filter_bounds_suggestions_and_wrapping(cloud_sandbox: Any) -> None:
    async with connect(cloud_sandbox, JIRA_PROJECTS_FILTER="PLAT") as client:
        projects = await call(client, "jira_suggest_jql", field="project")
        versions = await call(client, "jira_suggest_jql", field="fixVersion")
        sprints = await call(client, "jira_suggest_jql", field="sprint")
        wrapped = await call(client, "jira_validate_jql", jql="(project = PLAT ORDER BY key)")
    assert projects["values"] == [{"value": "PLAT", "label": "PLAT"}]
    assert versions["values"] and all(v["label"].endswith("(PLAT)") for v in versions["values"])
    assert sprints["values"] == []
    assert not wrapped["valid"]
