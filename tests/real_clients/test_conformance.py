"""The official MCP conformance suite checks jiraplug's streamable HTTP endpoint.

Only the scenarios that apply to any server are run; the others expect the reference
server's demo tools.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from ._support import HttpServer, NodeTools, run_conformance

pytestmark = pytest.mark.node


@pytest.mark.parametrize(
    "scenario", ["server-initialize", "ping", "tools-list", "dns-rebinding-protection"]
)
def test_scenario_passes(
    node_tools: NodeTools, live_http: HttpServer, scenario: str, tmp_path: Path
) -> None:
    run = run_conformance(node_tools, live_http.url, scenario, tmp_path / "results")
    problems = run.problems()
    assert not problems, (
        f"conformance scenario {scenario!r} failed:\n  " + "\n  ".join(problems)
        + f"\n\n{run.completed.describe()}\n\n{live_http.describe()}"
    )


def test_tools_list_scenario_sees_the_jira_tools(
    node_tools: NodeTools, live_http: HttpServer, tmp_path: Path
) -> None:
    run = run_conformance(node_tools, live_http.url, "tools-list", tmp_path / "results")
    seen = {name for check in run.checks for name in (check.get("details") or {}).get("tools", [])}
    assert {"jira_get_issue", "jira_search"} <= seen, run.completed.describe()
