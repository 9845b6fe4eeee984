"""Test helpers for plugin authors: jiraplug with chosen plugins, on the embedded sandbox.

What pytest's ``pytester`` is to pytest plugins. :func:`run_jiraplug` starts a Jira
emulator on loopback (Cloud or Data Center), a jiraplug server with the plugins you name,
and an MCP client connected to it in memory (the real SDK client), and hands back a
:class:`JiraplugSession`::

    from jiraplug.testing import run_jiraplug
    import my_plugin

    async def test_my_tool():
        async with run_jiraplug({"mine": my_plugin}, builtins=["issues"]) as jp:
            assert await jp.text("my_tool", issue_key="PLAT-1") == "..."
            assert jp.sandbox.state.issue_by_key("PLAT-1").fields["summary"] == "..."

Everything runs in the test's process and event loop; nothing leaves 127.0.0.1. The
sandbox is fresh for each session (its data is seeded from ``seed``), so a test may
write. ``jp.runtime`` is the running server's runtime, where each plugin keeps its state
(``cache.state_of(jp.runtime).snapshot()``); ``clock=ManualClock()`` runs the server's
plugins on a clock the test moves.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from mcp import Client
from mcp.types import CallToolResult

from jiraplug.bootstrap import bootstrap
from jiraplug.clock import SYSTEM_CLOCK, Clock, ManualClock
from jiraplug.hookspecs import hookimpl
from jiraplug.plugin_host import BUILTIN_PLUGINS, PluginHost
from jiraplug.runtime import Runtime
from jiraplug.sandbox import SandboxServer
from jiraplug.server.build import build_server
from jiraplug.settings import Settings

__all__ = ["JiraplugSession", "ManualClock", "RuntimeCatcher", "ToolFailed", "run_jiraplug", "sandbox_environ"]


class ToolFailed(AssertionError):
    """A tool answered with ``isError: true`` where the test expected success."""


def sandbox_environ(sandbox: SandboxServer) -> dict[str, str]:
    """Environment variables that point jiraplug at ``sandbox`` as its default user."""
    user = sandbox.default_user
    environ = {"JIRA_URL": sandbox.url, "JIRA_DEPLOYMENT": sandbox.flavour}
    if sandbox.flavour == "cloud":
        environ.update(JIRA_USERNAME=user.email, JIRA_API_TOKEN=user.api_token)
    else:
        environ.update(JIRA_PERSONAL_TOKEN=user.personal_token)
    return environ


class RuntimeCatcher:
    """A plugin that remembers the runtime of the server it runs in.

    Register it next to the plugins under test (``extra_plugins={"catcher": catcher}``);
    once the server started, ``catcher.runtime`` is its runtime, where a plugin's state is
    found: ``state_of(catcher.runtime)``. :func:`run_jiraplug` does this for you.
    """

    def __init__(self) -> None:
        self.runtime: Runtime | None = None

    @hookimpl
    def startup(self, runtime: Runtime) -> None:
        self.runtime = runtime


@dataclass
class JiraplugSession:
    """A running jiraplug: its MCP client, the sandbox it talks to, and its configuration."""

    client: Client
    """The MCP SDK client, connected in memory."""
    sandbox: SandboxServer
    """The Jira emulator: ``sandbox.state`` is its data, ``sandbox.request_log`` what it was sent."""
    settings: Settings
    plugins: PluginHost
    runtime: Runtime
    """The running server's runtime: ``state_of(jp.runtime)`` of a plugin is its state."""

    async def call(self, tool: str, **arguments: Any) -> CallToolResult:
        """Call ``tool`` and return the MCP result as is (errors included)."""
        return await self.client.call_tool(tool, arguments)

    async def text(self, tool: str, **arguments: Any) -> str:
        """Call ``tool`` and return its text; raise :class:`ToolFailed` on a tool error."""
        result = await self.call(tool, **arguments)
        text = "\n".join(getattr(block, "text", "") for block in result.content)
        if result.is_error:
            raise ToolFailed(f"{tool} failed: {text}")
        return text

    async def data(self, tool: str, **arguments: Any) -> Any:
        """Call ``tool`` and return its structured result; raise :class:`ToolFailed` on a tool error."""
        result = await self.call(tool, **arguments)
        if result.is_error:
            raise ToolFailed(f"{tool} failed: {' '.join(getattr(b, 'text', '') for b in result.content)}")
        if result.structured_content is not None:
            return result.structured_content
        return json.loads(result.content[0].text)  # type: ignore[union-attr]

    async def tool_names(self) -> list[str]:
        """The names ``tools/list`` shows."""
        return [tool.name for tool in (await self.client.list_tools()).tools]

    async def read(self, uri: str) -> Any:
        """Read an MCP resource; JSON resources are decoded."""
        contents = (await self.client.read_resource(uri)).contents[0]
        text = getattr(contents, "text", "")
        return json.loads(text) if getattr(contents, "mime_type", None) == "application/json" else text


@asynccontextmanager
async def run_jiraplug(
    plugins: Mapping[str, object] | None = None,
    *,
    builtins: bool | Iterable[str] = True,
    flavour: str = "cloud",
    seed: int = 1,
    environ: Mapping[str, str] | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> AsyncIterator[JiraplugSession]:
    """Start the sandbox, a jiraplug server with ``plugins`` and an MCP client; yield them.

    ``plugins`` maps a name to a plugin object (a module or an instance with ``@hookimpl``
    functions) registered in addition to the installed ones; leave your plugin out if it
    is installed with its entry point. ``builtins``: ``True`` keeps every built-in
    plugin, ``False`` none, or name the ones to keep (e.g. ``["issues", "cache"]``).
    ``environ`` adds settings as environment variables (``{"JIRAPLUG_HELLO__GREETING":
    "Hi"}``); the process environment is not read. ``clock`` is what the plugins measure
    time with (``runtime.clock``): pass a :class:`ManualClock` to move time by hand.
    """
    keep = set(BUILTIN_PLUGINS) if builtins is True else set() if builtins is False else set(builtins)
    unknown = sorted(keep - set(BUILTIN_PLUGINS))
    if unknown:
        raise ValueError(f"no built-in plugin named {', '.join(unknown)}; built-ins: {', '.join(BUILTIN_PLUGINS)}")
    disabled = [name for name in BUILTIN_PLUGINS if name not in keep]
    with SandboxServer(flavour=flavour, seed=seed, port=0) as sandbox:
        settings_environ = {**sandbox_environ(sandbox), **(environ or {})}
        if disabled:
            settings_environ["JIRAPLUG_DISABLE_PLUGINS"] = ",".join(
                filter(None, [settings_environ.get("JIRAPLUG_DISABLE_PLUGINS", ""), *disabled]))
        catcher = RuntimeCatcher()
        app = bootstrap(environ=settings_environ, extra_plugins={**(plugins or {}), "jiraplug.testing": catcher})
        server = build_server(app.settings, app.plugins, clock=clock)
        async with Client(server, cache=None) as client:
            assert catcher.runtime is not None, "the server started without running its startup hooks"
            yield JiraplugSession(client=client, sandbox=sandbox, settings=app.settings, plugins=app.plugins,
                                  runtime=catcher.runtime)
