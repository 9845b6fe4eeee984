"""Every copy-paste block of the client setup pages works: extracted, parsed, started, tools listed.

A block that names a real Jira gets the emulator's URL and credentials in place of the
placeholders (the keys it sets must be ones the emulator can fill); everything else (the
command, its arguments, the other settings such as READ_ONLY_MODE) runs as written.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shlex
import sys
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.streamable_http import streamable_http_client

from jiraplug.sandbox import SandboxServer
from tests.conftest import sandbox_environ
from tests.test_http import serving

pytestmark = pytest.mark.anyio

CLIENTS = Path(__file__).resolve().parents[2] / "docs" / "clients"
STDIO_PAGES = ["claude-desktop.md", "cursor.md", "vscode.md", "windsurf.md", "claude-code.md"]
_BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)
# Keys a snippet may set that the emulator replaces, per Jira flavour.
CREDENTIAL_KEYS = {"JIRA_URL", "JIRA_USERNAME", "JIRA_API_TOKEN", "JIRA_PERSONAL_TOKEN"}


def blocks(page: str) -> list[tuple[str, str]]:
    return _BLOCK.findall((CLIENTS / page).read_text())


def stdio_servers(page: str) -> list[dict[str, Any]]:
    """Each block of the page as {command, args, env}, parsed the way the client would."""
    servers = []
    for language, body in blocks(page):
        if language == "json":
            config = json.loads(body)
            (entry,) = (config.get("mcpServers") or config["servers"]).values()
            assert entry.get("type", "stdio") == "stdio", entry
            servers.append({"command": entry["command"], "args": entry["args"], "env": entry.get("env", {})})
        elif language == "bash":
            words = shlex.split(body)
            assert words[:3] == ["claude", "mcp", "add"] and "--" in words, body
            split = words.index("--")
            env = dict(words[i + 1].split("=", 1) for i, word in enumerate(words[:split]) if word == "-e")
            servers.append({"command": words[split + 1], "args": words[split + 2:], "env": env})
        else:
            pytest.fail(f"{page}: a {language!r} block the test does not understand")
    return servers


def with_the_emulator(env: dict[str, str], sandbox: SandboxServer) -> dict[str, str]:
    assert set(env) & CREDENTIAL_KEYS <= set(sandbox_environ(sandbox)), f"not a {sandbox.flavour} credential: {env}"
    replaced = {key: sandbox_environ(sandbox)[key] if key in CREDENTIAL_KEYS else value for key, value in env.items()}
    if "JIRA_URL" in env:
        replaced["JIRA_DEPLOYMENT"] = sandbox.flavour  # the emulator's URL is not *.atlassian.net
    return replaced


def installed(command: str) -> str:
    """The command as the test's environment has it installed (next to this interpreter)."""
    path = Path(sys.executable).parent / command
    assert path.exists(), f"{command} is not installed next to {sys.executable}"
    return str(path)


def test_every_client_page_has_a_sandbox_block_and_a_real_jira_block() -> None:
    for page in STDIO_PAGES:
        servers = stdio_servers(page)
        assert len(servers) == 2, page
        assert servers[0]["args"] == ["serve", "--sandbox"] and not servers[0]["env"], page
        assert servers[1]["args"] == ["serve"] and "JIRA_URL" in servers[1]["env"], page


@pytest.mark.parametrize("page", STDIO_PAGES)
async def test_stdio_snippets_start_and_list_tools(page: str, cloud_sandbox: Any, dc_sandbox: Any,
                                                   tmp_path: Path) -> None:
    base_env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA", "OTEL_", "READ_ONLY_MODE"))}
    for server in stdio_servers(page):
        sandbox = dc_sandbox if "JIRA_PERSONAL_TOKEN" in server["env"] else cloud_sandbox
        env = {**base_env, **with_the_emulator(server["env"], sandbox)}
        params = StdioServerParameters(command=installed(server["command"]), args=server["args"], env=env,
                                       cwd=str(tmp_path))
        async with Client(params, cache=None) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            assert "jira_get_issue" in names, (page, server)
            if server["env"].get("READ_ONLY_MODE") == "true":
                assert "jira_create_issue" not in names
            result = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
            assert not result.is_error, result.content[0].text


async def test_http_snippet_serves_the_client_block(tmp_path: Path) -> None:
    (command_block, config_block) = blocks("http.md")
    assert command_block[0] == "bash" and config_block[0] == "json"
    words = shlex.split(command_block[1])
    server_env = dict(word.split("=", 1) for word in words if "=" in word and not word.startswith("-"))
    args = [word for word in words if "=" not in word or word.startswith("-")]
    assert args[:3] == ["jiraplug", "serve", "--sandbox"] and "--transport" in args
    extra = [arg for arg in args[3:] if arg not in ("--transport", "http", "--port", "8000")]
    (entry,) = json.loads(config_block[1])["mcpServers"].values()
    assert entry["type"] == "http" and entry["url"] == "http://127.0.0.1:8000/mcp"
    headers = dict(entry["headers"])
    assert headers["Authorization"] == f"Bearer {server_env['JIRAPLUG_HTTP_TOKEN']}"
    assert headers["X-Jira-Authorization"].startswith("Basic ")
    # A sandbox user's own credential in place of the placeholder, as each user sends theirs.
    headers["X-Jira-Authorization"] = "Basic " + base64.b64encode(
        b"erin@example.com:sandbox-api-token-erin").decode()
    with serving(tmp_path, *extra, **server_env) as base:  # same command, on a free port
        async with httpx2.AsyncClient(headers=headers, timeout=30) as http:
            async with Client(streamable_http_client(f"{base}/mcp", http_client=http), cache=None) as client:
                names = {tool.name for tool in (await client.list_tools()).tools}
                result = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
    assert "jira_get_issue" in names
    assert not result.is_error, result.content[0].text
