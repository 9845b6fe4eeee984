"""A third-party plugin, installed as its own distribution, is found through its entry point.

The example under docs/examples/jiraplug-hello is installed with pip into a temporary
directory; a real ``jiraplug serve --sandbox`` process picks it up from that directory's
metadata and an MCP client calls its tool over stdio.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "docs" / "examples" / "jiraplug-hello"

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def plugin_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    target = tmp_path_factory.mktemp("hello-site")
    source = tmp_path_factory.mktemp("hello-src") / "jiraplug-hello"
    shutil.copytree(EXAMPLE, source)  # building writes into the source tree: keep the repo clean
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
         "--target", str(target), str(source)],
        check=True, timeout=120, capture_output=True,
    )
    assert list(target.glob("jiraplug_hello-*.dist-info/entry_points.txt"))
    return target


def environment(site: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA", "OTEL_"))}
    env["PYTHONPATH"] = str(site)
    env.update(extra)
    return env


def jiraplug(*args: str) -> list[str]:
    return [sys.executable, "-m", "jiraplug", *args]


def test_cli_lists_the_plugin_with_its_distribution(plugin_site: Path, tmp_path: Path) -> None:
    out = subprocess.run(jiraplug("plugins", "--json"), env=environment(plugin_site), cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    rows = {row["name"]: row for row in json.loads(out)}
    hello = rows["hello"]
    assert (hello["distribution"], hello["version"], hello["builtin"]) == ("jiraplug-hello", "0.1.0", False)
    assert hello["hooks"] == ["jira_request_middleware", "plugin_settings", "register_tools"]


async def test_tool_and_middleware_work_through_an_mcp_client(plugin_site: Path, tmp_path: Path) -> None:
    (tmp_path / "jiraplug.toml").write_text('[hello]\ngreeting = "Hi"\n', encoding="utf-8")
    params = StdioServerParameters(command=sys.executable, args=["-m", "jiraplug", "serve", "--sandbox"],
                                   env=environment(plugin_site), cwd=str(tmp_path))
    async with Client(params, cache=None) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert {"hello_whoami", "jira_get_issue"} <= names
        first = await client.call_tool("hello_whoami", {})
        assert not first.is_error
        text = first.content[0].text
        assert text.startswith("Hi, ") and text.endswith("seen by the hello plugin: 1")
        # The middleware wraps requests made by other plugins' tools too.
        assert not (await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})).is_error
        again = await client.call_tool("hello_whoami", {})
        # 1 + the issue and its latest comments + this call's own request.
        assert again.content[0].text.endswith("seen by the hello plugin: 4")


async def test_disabling_the_plugin_removes_tool_and_middleware(plugin_site: Path, tmp_path: Path) -> None:
    (tmp_path / "jiraplug.toml").write_text("[plugins]\nhello = false\n", encoding="utf-8")
    params = StdioServerParameters(command=sys.executable, args=["-m", "jiraplug", "serve", "--sandbox"],
                                   env=environment(plugin_site), cwd=str(tmp_path))
    async with Client(params, cache=None) as client:
        names = {tool.name for tool in (await client.list_tools()).tools}
        assert "hello_whoami" not in names and "jira_get_issue" in names
    out = subprocess.run(jiraplug("plugins", "--json"), env=environment(plugin_site), cwd=tmp_path,
                         capture_output=True, text=True, timeout=60, check=True).stdout
    hello = {row["name"]: row for row in json.loads(out)}["hello"]
    assert hello["enabled"] is False and hello["loaded"] is False and hello["hooks"] == []


def test_the_example_plugin_tests_itself_with_jiraplug_testing(tmp_path: Path) -> None:
    """docs/examples/jiraplug-hello/tests runs as a plugin author would run it, and passes."""
    source = tmp_path / "jiraplug-hello"
    shutil.copytree(EXAMPLE, source)
    env = environment(source, PYTHONDONTWRITEBYTECODE="1")
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests"], cwd=source,
                          env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "2 passed" in done.stdout
