"""The hooks a jiraplug plugin may implement.

Each hookspec below is documented by its docstring, the one text of the hook reference:
``docs/plugin-hooks.md`` is generated from these docstrings (``python -m
jiraplug.hookdocs --write``) and a test fails when the page is stale.

pluggy hooks are synchronous. Async behaviour is composed by hooks that *return*
middleware (a function that wraps the next handler), the way datasette's
``asgi_wrapper`` works, rather than by ``wrapper=True`` generators around awaited I/O.

A plugin is a module (or object) with functions decorated with :data:`hookimpl`,
registered through the ``jiraplug`` entry-point group. Built-in plugins take the same
road as third-party ones. A plugin may declare hooks of its own for other plugins
(``add_hookspecs``); the ``alerting`` plugin declares ``deliver_alert`` that way.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from argparse import _SubParsersAction

    from pydantic import BaseModel

    from jiraplug.jira.http_options import HttpClientOptions
    from jiraplug.jira.middleware import JiraMiddleware
    from jiraplug.plugin_host import PluginHost
    from jiraplug.server.registry import PromptRegistry, ResourceRegistry, ToolRegistry
    from jiraplug.runtime import Runtime
    from jiraplug.settings import Settings
    from jiraplug.server.toolcalls import ToolCallMiddleware

PROJECT_NAME = "jiraplug"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def add_hookspecs(host: PluginHost) -> None:
    """Declare hooks of this plugin's own, which other plugins may implement.

    Called once for each plugin, as it is registered and before its hook implementations
    are checked (pytest's ``pytest_addhooks``). Call ``host.add_hookspecs(module)`` with a
    module (or class) of functions marked ``jiraplug.hookspecs.hookspec``; call such a hook
    with ``runtime.plugins.call("name", ...)`` or ``await runtime.plugins.call_async("name",
    ...)``, which isolate failing implementations as every hook call does. The hooks exist
    only while the declaring plugin is loaded: another plugin implementing one marks it
    ``@hookimpl(optionalhook=True)`` so that it loads either way. Document each hook in its
    docstring; built-in plugins' hooks are listed below with the core's.

    Example::

        # myplugin/hookspecs.py
        @hookspec
        def myplugin_ready(runtime): "Called when myplugin is ready."

        # myplugin/__init__.py
        @hookimpl
        def add_hookspecs(host):
            from myplugin import hookspecs
            host.add_hookspecs(hookspecs)
    """


@hookspec
def plugin_settings() -> type[BaseModel] | None:
    """Declare the settings model of this plugin's configuration table.

    Called once per plugin at start-up, before any other hook, while the configuration
    is loaded. Return a pydantic model class (or ``None`` for no settings). The table
    ``[<plugin name>]`` of ``jiraplug.toml`` and the environment variables
    ``JIRAPLUG_<PLUGIN NAME>__<KEY>`` are validated against it; an unknown key or a
    wrong type stops start-up with a message naming the key. Give every field a
    default so the plugin works unconfigured. Read the validated instance back with
    ``settings.plugin_config("<plugin name>")``. Subclass ``jiraplug.PluginSettings`` (a
    pydantic model that refuses unknown keys), as the built-in plugins do.

    Example::

        class HelloSettings(jiraplug.PluginSettings):
            greeting: str = "Hello"

        @hookimpl
        def plugin_settings():
            return HelloSettings
    """


@hookspec
def register_tools(registry: ToolRegistry, settings: Settings) -> None:
    """Add MCP tools to the server.

    Called once when the server is built, for every enabled plugin; the built-in
    toolsets use this same hook. Call ``registry.tool(...)`` (a decorator) or
    ``registry.add(fn, ...)`` with the options ``name``, ``description``, ``title``,
    ``read_only``, ``destructive``, ``idempotent``, ``open_world``,
    ``structured_output`` and ``operator_only`` (an admin tool: listed and served to the
    server's operator only, and run without Jira); the tool is recorded with the calling
    plugin as its toolset.
    Inside the tool, ``jiraplug.current_call().jira`` is the Jira client of the caller and
    ``current_call().operator`` says whether the caller is the server's operator. Raise
    ``jiraplug.tool_errors.UserFacingError`` for a failure the caller should read.
    Return value is ignored. Registration order does not matter; duplicate tool names
    stop start-up naming both plugins.
    """


@hookspec
def register_resources(registry: ResourceRegistry, settings: Settings) -> None:
    """Contribute MCP resources (for example live statistics).

    Called once when the server is built. Call ``registry.add(uri, read, name=...,
    description=..., mime_type=..., operator_only=...)`` where ``read(runtime)`` is a sync
    or async function returning ``str`` (or JSON-serialisable data, returned as JSON); it is
    given the ``Runtime`` of the server serving the read, where the plugin finds its state.
    ``operator_only=True`` marks a resource that describes the whole server (every
    user's calls): on a shared server it is listed and served to the operator only.

    ``registry.add_template(uri_template, read, name=..., description=..., mime_type=...,
    complete={variable: completer})`` adds a family of resources (``jira://issue/{key}``,
    listed by ``resources/templates/list``). ``read(**variables)`` runs as the caller, like a
    tool (``jiraplug.current_call()`` is theirs: their Jira client, the projects filter); a
    completer ``complete(typed, other_arguments)`` returns candidate values for
    ``completion/complete``, also as the caller. Return value is ignored.
    """


@hookspec
def register_prompts(registry: PromptRegistry, settings: Settings) -> None:
    """Contribute MCP prompts (``prompts/list``, ``prompts/get``).

    Called once when the server is built. Call ``registry.add(fn, name=..., title=...,
    description=..., complete={argument: completer})``: the parameters of ``fn`` are the
    prompt's arguments and its docstring the description. ``fn`` (sync or async) returns the
    messages, as the MCP SDK's ``MCPServer.prompt`` takes them (a string is one user message),
    and runs as the caller, like a tool. A completer ``complete(typed, other_arguments)``
    returns candidate values of one argument for ``completion/complete``. Duplicate prompt
    names stop start-up naming both plugins. Return value is ignored.
    """


@hookspec
def configure_http_client(options: HttpClientOptions, settings: Settings) -> None:
    """Adjust how the HTTP client toward Jira is built.

    Called once per Jira client, before it is created, for every enabled plugin, in
    call order (see docs/architecture.md). Mutate ``options`` in place:
    ``max_connections``, ``max_keepalive_connections``, ``keepalive_expiry_seconds``,
    timeouts, ``http2``, ``proxy``, ``verify``, ``headers``. Later implementations see
    earlier changes. Return value is ignored.
    """


@hookspec
def jira_request_middleware(runtime: Runtime) -> JiraMiddleware | None:
    """Return a middleware that wraps every outgoing Jira HTTP request, or ``None``.

    Called once per Jira client when it is built. A middleware is a function
    ``wrap(send) -> send`` where ``send`` is ``async (httpx2.Request) -> httpx2.Response``;
    it may inspect or change the request, answer without calling ``send`` (a cache hit),
    call it several times (a retry: check ``request_info(request).idempotent`` first), or
    time it. ``jiraplug.jira.middleware.request_info(request)`` gives the operation name,
    whether the request is read-only and safe to repeat, a fingerprint of the credential
    and what a write touches; the transport appends each real exchange to
    ``attempts_of(request)``. Ordering: the first middleware in call order is the
    outermost; built-ins follow ``BUILTIN_PLUGINS``, a third-party middleware sits outside
    them, or outside everything (``tryfirst``), or next to the transport (``trylast``).
    See docs/architecture.md.

    An exception other than a Jira error or an ``httpx2`` transport error is a plugin
    bug: it is reported, and the request continues without that middleware (an answer
    already obtained is reused, so a write is never sent twice).

    Example::

        @hookimpl
        def jira_request_middleware(runtime):
            def wrap(send):
                async def timed(request):
                    response = await send(request)
                    response.headers["x-seen-by"] = "hello"
                    return response
                return timed
            return wrap
    """


@hookspec
def tool_call_middleware(runtime: Runtime) -> ToolCallMiddleware | None:
    """Return a middleware that wraps every incoming MCP tool call, or ``None``.

    Called once when the server starts. A middleware is ``wrap(call_next) -> call_next``
    where ``call_next`` is ``async (ToolCall) -> result``. A ``ToolCall`` has ``name``,
    ``arguments``, ``request_id``, ``runtime``, ``started``, ``session`` (the MCP server
    session, ``None`` in some transports) and ``operator`` (whether the caller is the
    server's operator); ``ToolCall.error_result(message)`` builds a refusal. It runs
    inside the MCP SDK's server span for the call, so timings, limits and alerts see
    every call (profiling, concurrency limits, alerting). Ordering as for
    ``jira_request_middleware``: first in call order is outermost. A middleware that
    raises is reported and skipped; a tool that already ran is never run again.
    """


@hookspec
def startup(runtime: Runtime) -> Awaitable[None] | None:
    """Run code when the server starts (after the Jira client exists).

    Called once per server run. May return an awaitable, which is awaited before the
    server accepts requests. Start background work with ``runtime.spawn(async_fn,
    *args)``; it is cancelled at shutdown. Keep what the hooks of one run share on the
    runtime (``runtime.plugin_state(__name__, factory)``), not in module globals. An
    exception is reported against the plugin and does not stop the server.
    """


@hookspec
def shutdown(runtime: Runtime) -> Awaitable[None] | None:
    """Run code when the server stops (before the Jira client closes).

    Called once, in reverse plugin order. May return an awaitable, which is awaited
    with a time limit (10 s). Flush what must not be lost here.

    Example::

        @hookimpl
        async def shutdown(runtime):
            state = runtime.plugin_state(__name__)  # None if no hook ever made it
            if state is not None:
                await state.aclose()
    """


@hookspec
def register_commands(subparsers: _SubParsersAction) -> None:
    """Add subcommands to the ``jiraplug`` command line.

    Called once when the command line starts, for every enabled plugin, after the
    configuration is loaded (if it is invalid, plugin commands are missing and the error is
    shown when a command runs). Add a parser with ``subparsers.add_parser(name, help=...)``
    and give it ``set_defaults(handler=fn)``, where ``fn(args)`` returns the exit status
    and may raise ``jiraplug.errors.StartupError`` for a one-line error. A command that is
    a program of its own, with its own parser, passes ``own_arguments=True`` to
    ``set_defaults`` as well (and ``add_help=False`` to ``add_parser``): the rest of the
    command line then reaches ``fn`` unparsed, as the list ``args.arguments``
    (``plugins/sandbox_command.py`` does so).

    Example::

        @hookimpl
        def register_commands(subparsers):
            hello = subparsers.add_parser("hello", help="say hello")
            hello.set_defaults(handler=lambda args: print("hello") or 0)
    """
