"""Fixtures for tests that drive jiraplug with the official external MCP clients.

Environment read here (all optional; .ci/run sets the first three):
  JIRAPLUG_NODE_BIN     folder holding a Node >= 22 `node`
  JIRAPLUG_INSPECTOR    the MCP Inspector 2.x launcher (`inspector`)
  JIRAPLUG_CONFORMANCE  the MCP conformance suite (`conformance`)
  JIRAPLUG_SERVER_CMD   the server command to test instead of this interpreter's `jiraplug`
  CI                    when true, missing tools FAIL the tests instead of skipping them
Without the variables, the tools are looked up where `.ci/install-node-tools.sh` puts them
(<repo>/.tools/node).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from ._support import HttpServer, NodeTools, find_node_tools, http_server, missing_tool


@pytest.fixture(scope="session")
def node_tools(tmp_path_factory: pytest.TempPathFactory) -> NodeTools:
    """Node 22 + MCP Inspector + conformance suite; skips (fails under CI=true) if absent.
    Request it before any server fixture, so a missing tool skips before a server starts."""
    tools, reason = find_node_tools(tmp_path_factory.mktemp("node-home"))
    if tools is None:
        missing_tool(reason)
    assert tools is not None
    return tools


@pytest.fixture(scope="session")
def jiraplug_http(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HttpServer]:
    """One `jiraplug serve --sandbox --transport http` for the session, on a free port."""
    with http_server(tmp_path_factory.mktemp("jiraplug-http")) as server:
        yield server


@pytest.fixture
def live_http(jiraplug_http: HttpServer) -> HttpServer:
    """The session's HTTP server, checked to be still alive before each test."""
    if jiraplug_http.proc.poll() is not None:
        pytest.fail(f"the jiraplug HTTP server died\n{jiraplug_http.describe()}", pytrace=False)
    return jiraplug_http


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    """A clean working directory, so no stray jiraplug.toml is picked up."""
    return tmp_path
