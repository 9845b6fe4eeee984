"""Assemble the MCP server from settings and plugins."""

from __future__ import annotations

import inspect
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import CacheHint
from mcp.server.mcpserver import MCPServer
from mcp.server.subscriptions import InMemorySubscriptionBus
from mcp.types import ToolAnnotations

from jiraplug import __version__
from jiraplug.clock import SYSTEM_CLOCK, Clock
from jiraplug.errors import ConfigError
from jiraplug.plugin_host import PluginHost
from jiraplug.server.context import add_context
from jiraplug.server.registry import PromptRegistry, ResourceDef, ResourceRegistry, ToolDef, ToolRegistry
from jiraplug.runtime import Runtime
from jiraplug.server.schemas import lean_schema
from jiraplug.settings import Settings, ToolsSettings
from jiraplug.suggest import did_you_mean
from jiraplug.server.toolcalls import ServerMiddleware, runtime_of_resource_read

INSTRUCTIONS = (
    "Tools for Jira: search issues with JQL, read and change issues. Issue keys look like PROJ-123. "
    "Text fields are Markdown."
)

LIST_TTL_MS = 10 * 60 * 1000
"""How long a 2026-07-28 client may reuse a listing. Listings are fixed while the server runs;
ten minutes bounds how long a client keeps a list after a restart with another configuration."""


def build_server(settings: Settings, plugins: PluginHost, *, clock: Clock = SYSTEM_CLOCK) -> MCPServer[Runtime]:
    """An ``MCPServer`` whose tools, resources and prompts come from the plugins' hooks.

    ``clock`` is what each run's plugins measure time with (``runtime.clock``; tests pass a
    :class:`jiraplug.clock.ManualClock`).
    """

    # Change events for 2026-07-28 clients' subscriptions/listen streams (Runtime.resource_updated).
    events = InMemorySubscriptionBus()

    @asynccontextmanager
    async def lifespan(_: MCPServer[Runtime]) -> AsyncIterator[Runtime]:
        async with Runtime.running(settings, plugins, events=events, clock=clock) as runtime:
            yield runtime

    tools = ToolRegistry()
    plugins.register_tools(tools, settings)
    offered = offered_tools(tools, settings.tools)
    resources = ResourceRegistry()
    plugins.register_resources(resources, settings)
    server: MCPServer[Runtime] = MCPServer(
        "jiraplug",
        version=__version__,
        instructions=INSTRUCTIONS,
        lifespan=lifespan,
        log_level=settings.server.log_level,
        middleware=[middleware := ServerMiddleware()],
        subscriptions=events,
        cache_hints=list_cache_hints(offered, settings.tools),
    )
    for tool in offered:
        _add_tool(server, tool)
    for resource in resources:
        _add_resource(server, resource)
    core_resources = [sessions_resource(server)]
    for resource in core_resources:
        _add_resource(server, resource)
    prompts = PromptRegistry()
    plugins.register_prompts(prompts, settings)
    add_context(server, resources.templates(), prompts)  # resource templates, prompts, completion
    middleware.operator_resources = frozenset(r.uri for r in (*resources, *core_resources) if r.operator_only)
    middleware.operator_tools = frozenset(t.name for t in offered if t.operator_only)
    return server


def list_cache_hints(offered: list[ToolDef], config: ToolsSettings) -> dict[str, CacheHint]:
    """``ttlMs``/``cacheScope`` for the listings (protocol 2026-07-28; see docs/cache-hints.md).

    A listing is ``private`` when its answer depends on who asks or on how this server is
    configured: ``resources/list`` always (the core's operator-only sessions resource is hidden
    from other callers), ``tools/list`` when operator-only tools exist or read-only mode or a
    tool filter is on. ``tools/call`` and ``resources/read`` carry no hint: they read live Jira
    data or live server figures.
    """
    tools_depend_on_caller = (any(tool.operator_only for tool in offered) or config.read_only
                              or bool(config.toolsets) or bool(config.enabled_tools))
    private, public = CacheHint(LIST_TTL_MS, "private"), CacheHint(LIST_TTL_MS, "public")
    return {
        "tools/list": private if tools_depend_on_caller else public,
        "resources/list": private,
        "resources/templates/list": public,
        "prompts/list": public,
    }


def sessions_resource(server: MCPServer[Any]) -> ResourceDef:
    """``jiraplug://sessions``: the open MCP sessions of this server over HTTP (see jiraplug.server.sessions)."""
    from jiraplug.server import sessions

    def read(_runtime: Runtime) -> dict[str, Any]:
        """Open MCP sessions and distinct callers over HTTP, and the session limits."""
        return sessions.table_for(server).snapshot()

    return ResourceDef(sessions.SESSIONS_URI, read, "core", name="jiraplug sessions", description=read.__doc__,
                       operator_only=True)


def offered_tools(tools: ToolRegistry, config: ToolsSettings) -> list[ToolDef]:
    """The tools to serve after ``READ_ONLY_MODE``, ``TOOLSETS`` and ``ENABLED_TOOLS``.

    A tool that is not offered is not registered at all, so it is neither listed nor
    callable. Unknown names in the filters are configuration errors.
    """
    toolsets = {tool.plugin for tool in tools}
    wanted_sets = set(config.toolsets) - {"all"}
    _check_names("tools.toolsets (TOOLSETS)", wanted_sets, toolsets)
    _check_names("tools.enabled_tools (ENABLED_TOOLS)", set(config.enabled_tools), {tool.name for tool in tools})
    offered = []
    for tool in tools:
        if config.read_only and not tool.annotations.read_only:
            continue
        if wanted_sets and tool.plugin not in wanted_sets:
            continue
        if config.enabled_tools and tool.name not in config.enabled_tools:
            continue
        offered.append(tool)
    return offered


def _check_names(key: str, given: set[str], known: set[str]) -> None:
    for name in sorted(given - known):
        hint = did_you_mean(name, known)
        raise ConfigError(f"{key}: unknown name {name!r}{hint} (known: {', '.join(sorted(known))})")


def _add_tool(server: MCPServer[Any], tool: ToolDef) -> None:
    spec = tool.annotations
    server.add_tool(
        tool.fn,
        name=tool.name,
        title=spec.title,
        description=tool.description,
        annotations=ToolAnnotations(
            title=spec.title,
            read_only_hint=spec.read_only,
            destructive_hint=spec.destructive,
            idempotent_hint=spec.idempotent,
            open_world_hint=spec.open_world,
        ),
        structured_output=tool.structured_output,
    )
    # The SDK offers no hook between schema generation and tools/list: trim the stored Tool.
    # (Arguments are validated by the SDK's pydantic model, not by this JSON schema.)
    manager = getattr(server, "_tool_manager", None)
    added = manager.get_tool(tool.name) if manager is not None else None
    if added is not None:
        added.parameters = lean_schema(added.parameters, arguments=True)
        if added.output_schema is not None:
            added.output_schema = lean_schema(added.output_schema, arguments=False)


def _add_resource(server: MCPServer[Any], resource: ResourceDef) -> None:
    async def read() -> str:
        # The SDK gives a static resource's function no context: ServerMiddleware hands over
        # the runtime of the request being served.
        value = resource.read(runtime_of_resource_read())
        if inspect.isawaitable(value):
            value = await value
        return value if isinstance(value, str) else json.dumps(value, default=str, indent=1)

    server.resource(
        resource.uri, name=resource.name, description=resource.description, mime_type=resource.mime_type
    )(read)
