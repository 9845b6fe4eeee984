"""The official MCP Inspector CLI (2.x) drives jiraplug over stdio and streamable HTTP.

Each check runs in both protocol eras the Inspector speaks: `legacy` (the 2025 handshake)
and `modern` (protocol 2026-07-28, no session).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pytest

from ._support import HttpServer, NodeTools, inspector_cli, jiraplug_command, tool_text

pytestmark = pytest.mark.node

ERAS = ["legacy", "modern"]
INSPECTOR_TOOL_ERROR_EXIT = 5  # the Inspector's exit code when a tool returns isError


def stdio_target() -> list[str]:
    return [*jiraplug_command(), "serve", "--sandbox"]


@dataclass
class Target:
    """The server as the Inspector is told about it: a command (stdio) or a URL (HTTP)."""

    args: list[str]
    server: HttpServer | None = None

    def context(self) -> str:
        return "" if self.server is None else "\n" + self.server.describe()


@pytest.fixture(params=["stdio", "http"])
def target(request: pytest.FixtureRequest, node_tools: NodeTools) -> Target:
    if request.param == "stdio":
        return Target(stdio_target())
    server: HttpServer = request.getfixturevalue("live_http")
    return Target([server.url], server)


@pytest.mark.parametrize("era", ERAS)
def test_tools_list(
    node_tools: NodeTools, target: Target, era: str, workdir: Path
) -> None:
    done = inspector_cli(node_tools, target.args, "--method", "tools/list", era=era, cwd=workdir)
    assert done.returncode == 0, done.describe() + target.context()
    tools = {tool["name"]: tool for tool in done.json()["result"]["tools"]}
    assert {"jira_get_issue", "jira_search"} <= tools.keys(), done.describe()
    schema = tools["jira_get_issue"]["inputSchema"]
    assert schema.get("type") == "object", schema
    assert "issue_key" in schema.get("properties", {}), schema
    assert "issue_key" in schema.get("required", []), schema


@pytest.mark.parametrize("era", ERAS)
def test_get_issue(
    node_tools: NodeTools, target: Target, era: str, workdir: Path
) -> None:
    done = inspector_cli(
        node_tools, target.args,
        "--method", "tools/call", "--tool-name", "jira_get_issue",
        "--tool-arg", "issue_key=PLAT-1",
        era=era, cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0, done.describe() + target.context()
    result = done.json()["result"]
    assert result.get("isError") is False, done.describe()
    assert "PLAT-1" in tool_text(result), done.describe()


@pytest.mark.parametrize("era", ERAS)
def test_get_missing_issue_is_a_tool_error(
    node_tools: NodeTools, target: Target, era: str, workdir: Path
) -> None:
    done = inspector_cli(
        node_tools, target.args,
        "--method", "tools/call", "--tool-name", "jira_get_issue",
        "--tool-arg", "issue_key=NOPE-999",
        era=era, cwd=workdir,
    )  # fmt: skip
    assert done.returncode == INSPECTOR_TOOL_ERROR_EXIT, done.describe() + target.context()
    # Exit 5 also means "tool not found"; make sure it is the tool's own error.
    assert '"tool_is_error"' in done.stderr, done.describe()
    result = done.json()["result"]
    assert result.get("isError") is True, done.describe()
    # A readable not-found message, not the SDK's generic text for an unexpected exception.
    text = tool_text(result).lower()
    assert "not found" in text or "does not exist" in text, done.describe()


def test_search_over_stdio(node_tools: NodeTools, workdir: Path) -> None:
    done = inspector_cli(
        node_tools, stdio_target(),
        "--method", "tools/call", "--tool-name", "jira_search",
        "--tool-args-json", '{"jql": "project = PLAT"}',
        era="legacy", cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0, done.describe()
    result = done.json()["result"]
    assert result.get("isError") is False, done.describe()
    assert "PLAT-" in tool_text(result), done.describe()


def test_tool_schemas_are_portable(node_tools: NodeTools, workdir: Path) -> None:
    """`--strict` reports tool-schema portability problems and exits 6 on an error-level one."""
    done = inspector_cli(
        node_tools, stdio_target(), "--method", "tools/list", "--strict",
        era="legacy", cwd=workdir,
    )  # fmt: skip
    assert done.returncode == 0, done.describe()
