"""The ``forms`` toolset through the MCP client: Jira Forms on Cloud, a clear refusal on Data Center."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.routes.forms import forms_of
from tests.tools.helpers import call, call_error, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxServer]:
    """A Cloud sandbox for this module's writes."""
    with SandboxServer(flavour="cloud", seed=3, port=0) as server:
        yield server


def _issue_with_form(sandbox: SandboxServer) -> str:
    return next(i.key for i in sandbox.state.issues if i.project_key == "MOB" and forms_of(sandbox.state, i.key))


async def test_list_get_answer_submit_and_reopen_a_form(sandbox: SandboxServer) -> None:
    key = _issue_with_form(sandbox)
    stored = forms_of(sandbox.state, key)[0]
    async with connect(sandbox) as client:
        listed = await call(client, "jira_list_forms", issue_key=key)
        form_id = listed["forms"][0]["id"]
        early = await call_error(client, "jira_update_form", issue_key=key, form_id=form_id, action="submit")
        bad = await call_error(client, "jira_update_form", issue_key=key, form_id=form_id, answers={"2": "Medium"})
        saved = await call(client, "jira_update_form", issue_key=key, form_id=form_id, action="submit",
                           answers={"1": "New database", "2": "high", "3": "2026-12-01"})
        answers_after_submit = dict(stored["state"]["answers"])
        blocked = await call_error(client, "jira_update_form", issue_key=key, form_id=form_id, answers={"1": "x"})
        reopened = await call(client, "jira_update_form", issue_key=key, form_id=form_id, action="reopen")
    assert listed["forms"][0]["name"] == "Change request" and listed["forms"][0]["submitted"] is False
    assert "What changes" in early and "no choice 'Medium'" in bad and "Low, High" in bad
    assert saved["status"] == "submitted"
    assert {q["label"]: q["answer"] for q in saved["questions"]} == {
        "What changes": "New database", "Risk": ["High"], "Planned date": "2026-12-01"}
    assert answers_after_submit == {"1": {"text": "New database"}, "2": {"choices": ["2"]}, "3": {"date": "2026-12-01"}}
    assert "reopen" in blocked and stored["state"]["answers"]["1"] == {"text": "New database"}
    assert reopened["status"] == "open" and stored["state"]["status"] == "o"


async def test_forms_on_data_center_say_they_are_a_cloud_feature(dc_sandbox: SandboxServer) -> None:
    key = next(i.key for i in dc_sandbox.state.issues if i.project_key == "PLAT")
    async with connect(dc_sandbox) as client:
        error = await call_error(client, "jira_list_forms", issue_key=key)
    assert "Cloud feature" in error and "Data Center" in error


async def test_read_only_mode_hides_the_form_writes(sandbox: SandboxServer) -> None:
    async with connect(sandbox, READ_ONLY_MODE="true") as client:
        names = {t.name for t in (await client.list_tools()).tools}
    assert {"jira_list_forms", "jira_get_form"} <= names and "jira_update_form" not in names
