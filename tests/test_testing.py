"""jiraplug.testing, the helper plugin authors test with: what it starts and what it reports."""

from __future__ import annotations

import pytest

from jiraplug import current_call, hookimpl
from jiraplug.testing import ToolFailed, run_jiraplug

pytestmark = pytest.mark.anyio


class Summaries:
    """A test plugin with a reading and a writing tool."""

    @hookimpl
    def register_tools(self, registry):  # type: ignore[no-untyped-def]
        async def summary_of(issue_key: str) -> str:
            """The summary of one issue."""
            issue = await current_call().jira.get_issue(issue_key, fields=["summary"])
            return str(issue["fields"]["summary"])

        async def retitle(issue_key: str, summary: str) -> str:
            """Change an issue's summary."""
            jira = current_call().jira
            await jira.request("PUT", f"{jira.api}/issue/{issue_key}", operation="issue.update",
                               json_body={"fields": {"summary": summary}}, touches=[f"issue:{issue_key}"])
            return "done"

        registry.add(summary_of, read_only=True)
        registry.add(retitle)


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
async def test_a_plugin_runs_against_the_sandbox_and_its_writes_are_visible_in_the_state(flavour: str) -> None:
    async with run_jiraplug({"summaries": Summaries()}, builtins=False, flavour=flavour) as jp:
        assert await jp.tool_names() == ["summary_of", "retitle"]
        before = jp.sandbox.state.issue_by_key("PLAT-1")
        assert before is not None
        assert await jp.text("summary_of", issue_key="PLAT-1") == before.summary
        assert await jp.text("retitle", issue_key="PLAT-1", summary="Renamed by a test") == "done"
        assert jp.sandbox.state.issue_by_key("PLAT-1").summary == "Renamed by a test"


async def test_builtins_can_be_named_and_a_tool_error_raises_tool_failed() -> None:
    async with run_jiraplug(builtins=["issues"]) as jp:
        names = await jp.tool_names()
        assert "jira_get_issue" in names and "jira_add_comment" not in names
        with pytest.raises(ToolFailed, match="NOPE-1"):
            await jp.text("jira_get_issue", issue_key="NOPE-1")
        assert (await jp.call("jira_get_issue", issue_key="NOPE-1")).is_error


async def test_an_unknown_builtin_is_named() -> None:
    with pytest.raises(ValueError, match="no built-in plugin named isues"):
        async with run_jiraplug(builtins=["isues"]):
            pass
