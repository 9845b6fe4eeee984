"""The hooks a jiraplug plugin may implement.

Each hookspec below is documented by its docstring; ``docs/plugin-hooks.md`` is the
reference for plugin authors and a test fails when the two disagree.

pluggy hooks are synchronous. Async behaviour is composed by hooks that *return*
middleware (a function that wraps the next handler), the way datasette's
``asgi_wrapper`` works, rather than by ``wrapper=True`` generators around awaited I/O.

A plugin is a module (or object) with functions decorated with :data:`hookimpl`,
registered through the ``jiraplug`` entry-point group. Built-in plugins take the same
road as third-party ones.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from argparse import _SubParsersAction

    from pydantic import BaseModel

    from jiraplug.alerts import Alert
    from jiraplug.httpclient import HttpClientOptions
    from jiraplug.jira.middleware import JiraMiddleware
    from jiraplug.registry import ResourceRegistry, ToolRegistry
    from jiraplug.runtime import Runtime
    from jiraplug.settings import Settings
    from jiraplug.toolcalls import ToolCallMiddleware

PROJECT_NAME = "jiraplug"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def plugin_settings() -> type[BaseModel] | None:
    """Declare the settings model of this plugin's configuration table.

    Called once per plugin at start-up, before any other hook, while the configuration
    is loaded. Return a pydantic model class (or ``None`` for no settings). The table
    ``[<plugin name>]`` of ``jiraplug.toml`` and the environment variables
    ``JIRAPLUG_<PLUGIN NAME>__<KEY>`` are validated against it; an unknown key or a
    wrong type stops start-up with a message naming the key. Give every field a
    default so the plugin works unconfigured. Read the validated instance back with
    ``settings.plugin_config("<plugin name>")``.
    """


@hookspec
def register_tools(registry: ToolRegistry, settings: Settings) -> None:
    """Add MCP tools to the server.

    Called once when the server is built, for every enabled plugin; the built-in
    toolsets use this same hook. Call ``registry.tool(...)`` (a decorator) or
    ``registry.add(fn, ...)``; the tool is recorded with the calling plugin as its
    toolset. Tool functions reach Jira through :func:`jiraplug.current_call`. Return
    value is ignored. Order: registration order does not matter; duplicate tool
    names are an error naming both plugins.
    """


@hookspec
def register_resources(registry: ResourceRegistry, settings: Settings) -> None:
    """Contribute MCP resources (for example live statistics).

    Called once when the server is built. Call ``registry.add(uri, read, ...)`` where
    ``read`` is a sync or async function returning ``str`` (or JSON-serialisable
    data, returned as JSON). Return value is ignored.
    """


@hookspec
def configure_http_client(options: HttpClientOptions, settings: Settings) -> None:
    """Adjust how the HTTP client toward Jira is built.

    Called once per Jira client, before it is created, for every enabled plugin, in
    pluggy order (last registered first; ``tryfirst``/``trylast`` adjust it). Mutate
    ``options`` in place: connection limits, keep-alive, timeouts, HTTP/2, proxies,
    TLS verification, extra headers. Later implementations see earlier changes.
    Return value is ignored.
    """


@hookspec
def jira_request_middleware(runtime: Runtime) -> JiraMiddleware | None:
    """Return a middleware that wraps every outgoing Jira HTTP request, or ``None``.

    Called once per Jira client when it is built. A middleware is a function
    ``wrap(send) -> send`` where ``send`` is ``async (httpx2.Request) -> httpx2.Response``;
    it may inspect or change the request, answer without calling ``send`` (a cache hit),
    call it several times (a retry), or time it. ``request.extensions["jiraplug"]`` holds
    a :class:`jiraplug.jira.middleware.RequestInfo` (operation name, whether the request
    is safe to repeat, a fingerprint of the credential); the transport appends each real
    exchange to ``attempts_of(request)``. Ordering: the first middleware in call order is
    the outermost; built-ins follow ``BUILTIN_PLUGINS``, a third-party middleware sits
    outside them, or outside everything (``tryfirst``), or next to the transport
    (``trylast``). See docs/architecture.md.
    A middleware that raises an exception other than the ones the client maps to Jira
    errors is reported against its plugin.
    """


@hookspec
def tool_call_middleware(runtime: Runtime) -> ToolCallMiddleware | None:
    """Return a middleware that wraps every incoming MCP tool call, or ``None``.

    Called once when the server starts. A middleware is ``wrap(call_next) -> call_next``
    where ``call_next`` is ``async (ToolCall) -> ToolCallOutcome``. It runs inside the
    MCP SDK's server span for the call, so timings, limits and alerts see every call
    (profiling, concurrency limits, alerting). Ordering as for
    :func:`jira_request_middleware`: first in call order is outermost.
    """


@hookspec
def startup(runtime: Runtime) -> Awaitable[None] | None:
    """Run code when the server starts (after the Jira client exists).

    Called once per server run. May return an awaitable, which is awaited before the
    server accepts requests. Start background work with ``runtime.spawn(...)``; it is
    cancelled at shutdown. An exception is reported against the plugin and does not
    stop the server.
    """


@hookspec
def shutdown(runtime: Runtime) -> Awaitable[None] | None:
    """Run code when the server stops (before the Jira client closes).

    Called once, in reverse plugin order. May return an awaitable, which is awaited
    with a time limit. Flush what must not be lost here.
    """


@hookspec
def deliver_alert(alert: Alert, runtime: Runtime) -> Awaitable[None] | None:
    """Deliver an alert state change (firing or resolved) to a sink.

    Called for every enabled plugin each time an alert changes state; every
    implementation is a sink (log, MCP log notification, webhook, pager...). May
    return an awaitable. A failing sink is reported and does not stop the others.
    """


@hookspec
def register_commands(subparsers: _SubParsersAction) -> None:
    """Add subcommands to the ``jiraplug`` command line.

    Called once when the command line starts, for every enabled plugin, after the
    configuration is loaded (if it is invalid, plugin commands are missing and the error is
    shown when a command runs). Add a parser with ``subparsers.add_parser(name, help=...)``
    and give it ``set_defaults(handler=fn)``, where ``fn(args)`` returns the exit status
    and may raise :class:`jiraplug.errors.StartupError` for a one-line error.
    """
