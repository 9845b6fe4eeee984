"""Hostile tool arguments (issue 9 item 6): property-based tests over every tool.

Tools are discovered from ``tools/list``; arguments are generated from each tool's
``inputSchema`` plus hostile pools (see ``strategies``). For every call: the server answers
with a result or a tool error (never an unexpected exception), the session stays usable
(a follow-up ``jira_get_issue`` works), no configured secret appears in the result, every
request toward Jira stays on the sandbox, under ``/rest/`` or the attachment paths, without
``..``, inside ``JIRA_PROJECTS_FILTER=MOB`` with every search's JQL wrapped by the filter,
and local files are only read inside the upload folder. At the end, nothing of the other
projects has changed in the sandbox and no file from outside the upload folder was
attached. Examples are derandomized, so CI runs are stable.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from mcp import Client

from jiraplug.bootstrap import bootstrap
from jiraplug.server.build import build_server
from tests.hostile.boundary import is_scoped_jql
from tests.hostile.harness import OUTSIDE_SECRET, HostileServer, hostile_server
from tests.hostile.strategies import ISSUE_KEYS, JQL, JQL_SOUP, PATHS, arguments_for, huge_text

EXAMPLES_PER_TOOL = 25


def _discover_tools() -> list[str]:
    """Tool names from ``tools/list`` of a server built with every built-in plugin (no Jira needed)."""
    environ = {"JIRA_URL": "http://127.0.0.1:9", "JIRA_DEPLOYMENT": "cloud", "JIRA_USERNAME": "x@example.com",
               "JIRA_API_TOKEN": "unused"}
    app = bootstrap(environ=environ)
    server = build_server(app.settings, app.plugins)

    async def names() -> list[str]:
        async with Client(server, cache=None) as client:
            return sorted(tool.name for tool in (await client.list_tools()).tools)

    return anyio.run(names)


TOOLS = _discover_tools()
FUZZ = settings(max_examples=EXAMPLES_PER_TOOL, deadline=None, derandomize=True, database=None,
                suppress_health_check=list(HealthCheck))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileServer]:
    with hostile_server(tmp_path_factory.mktemp("hostile")) as harness:
        yield harness


@pytest.fixture(scope="module")
def dc_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HostileServer]:
    with hostile_server(tmp_path_factory.mktemp("hostile-dc"), flavour="dc") as harness:
        yield harness


def _normal_key(value: Any) -> str:
    return str(value).strip().upper() if isinstance(value, str) else ""


def test_every_listed_tool_is_fuzzed(server: HostileServer) -> None:
    assert sorted(server.schemas) == TOOLS
    assert len(TOOLS) >= 40


@pytest.mark.parametrize("tool", TOOLS)
def test_hostile_arguments_never_break_the_server(tool: str, server: HostileServer) -> None:
    schema = server.schemas[tool]

    @FUZZ
    @given(arguments=arguments_for(schema))
    def run(arguments: dict[str, Any]) -> None:
        # The follow-up read needs the sentinel issue: do not let the fuzzer delete it.
        assume(not (tool == "jira_delete_issue" and _normal_key(arguments.get("issue_key")) == server.sentinel))
        server.check_call(tool, arguments)

    run()


@pytest.mark.parametrize("tool", TOOLS)
def test_megabyte_strings_in_every_text_argument(tool: str, server: HostileServer) -> None:
    """Each string argument at 1 MiB (under the 4 MiB HTTP body limit): a result or a clear error."""
    schema = server.schemas[tool]
    big = huge_text()
    arguments: dict[str, Any] = {}
    for name, spec in schema.get("properties", {}).items():
        types = {spec.get("type")} | {o.get("type") for o in spec.get("anyOf", [])}
        if "string" in types and "enum" not in spec and not any("enum" in o for o in spec.get("anyOf", [])):
            arguments[name] = big
        elif name in schema.get("required", []):
            arguments[name] = _minimal(spec)
    if tool == "jira_delete_issue":
        arguments["issue_key"] = big
    server.check_call(tool, arguments)


def _minimal(spec: dict[str, Any]) -> Any:
    kind = spec.get("type")
    if kind == "integer":
        return max(1, spec.get("minimum", 1))
    if kind == "array":
        return ["MOB-2"]
    if kind == "object":
        return {"summary": "x"}
    if kind == "boolean":
        return False
    return "x"


@pytest.mark.parametrize("jql", JQL)
def test_known_injections_stay_inside_the_projects_filter(jql: str, server: HostileServer) -> None:
    server.check_call("jira_search", {"jql": jql, "limit": 50}, follow_up=False)


@pytest.mark.parametrize("jql", [*JQL, "x" * 2000 + " OR project = PLAT"])
def test_known_injections_on_data_center(jql: str, dc_server: HostileServer) -> None:
    """Data Center searches with GET (and POST above 1500 characters): the same wrapping."""
    dc_server.check_call("jira_search", {"jql": jql, "limit": 50}, follow_up=False)
    dc_server.check_call("jira_get_issue", {"issue_key": "PLAT-1"}, follow_up=False)


@FUZZ
@given(jql=st.one_of(JQL_SOUP, st.sampled_from(JQL)), board=st.sampled_from([1, 2, 3, 4, 5]))
def test_jql_soup_on_every_search_path(jql: str, board: int, server: HostileServer) -> None:
    for tool, arguments in (("jira_search", {"jql": jql}), ("jira_get_board_issues", {"board_id": board, "jql": jql}),
                            ("jira_get_sprint_issues", {"sprint_id": board, "jql": jql})):
        server.check_call(tool, arguments, follow_up=False)


def test_the_scope_checker_itself_rejects_escapes() -> None:
    """The oracle must be able to fail: an unwrapped or escaped query is not scoped."""
    assert is_scoped_jql('project in ("MOB") AND (status = Done) ORDER BY key DESC', ["MOB"])
    assert is_scoped_jql('project in ("MOB") AND (summary ~ ") OR (x")', ["MOB"])
    assert not is_scoped_jql('project in ("MOB") AND (a) OR (project = PLAT)', ["MOB"])
    assert not is_scoped_jql("project = PLAT", ["MOB"])
    assert not is_scoped_jql('project in ("MOB") OR project = PLAT', ["MOB"])


@pytest.mark.parametrize("key", [k for k in ISSUE_KEYS if _normal_key(k) not in {"MOB-1", "MOB-2"}])
@pytest.mark.parametrize("tool", ["jira_get_issue", "jira_get_comments", "jira_add_comment", "jira_list_attachments"])
def test_issue_keys_aimed_at_other_paths(tool: str, key: str, server: HostileServer) -> None:
    arguments: dict[str, Any] = {"issue_key": key}
    if tool == "jira_add_comment":
        arguments["body"] = "probe"
    result = server.check_call(tool, arguments, follow_up=False)
    if _normal_key(key).startswith(("PLAT", "OPS")) or "/" in key or "%" in key or ".." in key:
        assert result.is_error


@pytest.mark.parametrize("path", PATHS)
def test_upload_paths_only_read_inside_the_upload_folder(path: str, server: HostileServer) -> None:
    result = server.check_call("jira_upload_attachment", {"issue_key": "MOB-2", "path": path}, follow_up=False)
    legit = path.strip("./").replace("./", "") in {"ok.txt", "sub/ok2.txt"}
    assert result.is_error != legit, result.content


def test_zz_other_projects_untouched_and_no_outside_file_attached(server: HostileServer) -> None:
    """After everything above: the rest of the sandbox is as it was; nothing left the upload folder."""
    assert server.foreign_state() == server.foreign_before
    store = server.sandbox.state
    with store.lock:
        contents = [a.content for issue in store.issues for a in issue.attachments]
    assert not any(OUTSIDE_SECRET in content for content in contents)
    paths = [record.path for record in server.sandbox.request_log]
    assert paths and all(p.startswith(("/rest/", "/secure/attachment/", "/jira/forms/", "/_edge/")) for p in paths)
    assert server.calls > len(TOOLS) * EXAMPLES_PER_TOOL
    server.assert_usable()
