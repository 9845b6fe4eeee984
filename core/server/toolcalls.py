"""Incoming tool calls: the plugin middleware chain and the one seam into the MCP SDK.

The SDK's server middleware API is provisional, so jiraplug touches it only here.
:class:`ServerMiddleware` wraps every inbound MCP message: it records the
``mcp.server.operation.duration`` histogram and, for ``tools/call``, runs the plugins'
``tool_call_middleware`` chain and makes the call's :class:`CallScope` current so tool
functions can reach Jira with :func:`current_call`.
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_REQUEST, CallToolResult, TextContent

from jiraplug import chain, telemetry
from jiraplug.jira import offload
from jiraplug.chain import ReportError
from jiraplug.tool_errors import UserFacingError

if TYPE_CHECKING:
    from jiraplug.server.callers import RequestCredentials
    from jiraplug.jira.client import JiraClient
    from jiraplug.runtime import Runtime


@dataclass
class ToolCall:
    """One incoming ``tools/call`` as tool-call middleware sees it."""

    name: str
    arguments: dict[str, Any]
    request_id: str | int | None
    runtime: Runtime
    started: float = field(default_factory=time.perf_counter)
    invoked: bool = False
    # The SDK's per-request ``ServerSession`` (log notifications back to this client), or None.
    session: Any = field(default=None, repr=False)
    # True when the request comes from the server's operator (see jiraplug.server.callers.is_operator):
    # server-wide figures and alerts are for them, not for a shared server's users.
    operator: bool = False
    _invoke: Callable[[], Awaitable[Any]] | None = field(default=None, repr=False)

    @staticmethod
    def error_result(message: str) -> CallToolResult:
        """A tool result with ``isError: true`` carrying ``message`` (for refusing a call)."""
        return CallToolResult(content=[TextContent(type="text", text=message)], is_error=True)


CallNext = Callable[[ToolCall], Awaitable[Any]]
ToolCallMiddleware = Callable[[CallNext], CallNext]


@dataclass(frozen=True)
class CallScope:
    """What a tool function may use while it runs: the runtime and the Jira client."""

    runtime: Runtime
    jira: JiraClient
    tool: str
    operator: bool = False  # the request comes from the server's operator (see ToolCall)


_current: contextvars.ContextVar[CallScope] = contextvars.ContextVar("jiraplug_call")
_resource_read: contextvars.ContextVar[Runtime] = contextvars.ContextVar("jiraplug_resource_read")
# Why the request being served has no scope: its caller cannot act in Jira (no usable credential).
_refused: contextvars.ContextVar[UserFacingError] = contextvars.ContextVar("jiraplug_refused")

CALLER_METHODS = frozenset({"resources/read", "completion/complete", "prompts/get"})
"""Requests besides ``tools/call`` whose handlers act in Jira as the caller (templates, completions, prompts)."""


def current_call() -> CallScope:
    """The scope of the tool call (or resource read, completion, prompt) being served.

    Raises ``LookupError`` outside one, and the ``UserFacingError`` saying why when the caller
    of a resource read, completion or prompt cannot act in Jira (a shared server without their
    credential).
    """
    try:
        return _current.get()
    except LookupError:
        refusal = _refused.get(None)
        if refusal is not None:
            raise refusal from None
        raise


def runtime_of_resource_read() -> Runtime:
    """The runtime serving the ``resources/read`` in progress (for core/server/build.py, which hands it
    to the resource's reader; raises ``LookupError`` outside one)."""
    return _resource_read.get()


def is_error_result(result: Any) -> bool:
    """Whether a handler result is a tool error (model or wire dict)."""
    if isinstance(result, CallToolResult):
        return bool(result.is_error)
    return isinstance(result, dict) and result.get("isError") is True


async def _invoke_innermost(call: ToolCall) -> Any:
    assert call._invoke is not None
    call.invoked = True
    return await call._invoke()


def compose_tool_chain(middlewares: Sequence[tuple[str, ToolCallMiddleware]],
                       report: ReportError | None = None) -> CallNext:
    """Stack ``(plugin, middleware)`` pairs around the SDK's handler, first pair outermost."""
    return chain.compose(middlewares, _invoke_innermost, hook="tool_call_middleware",
                         passes=(MCPError, UserFacingError), recover=_without_the_plugin, report=report)


async def _without_the_plugin(plugin: str, call: ToolCall, inner: CallNext) -> Any:
    if call.invoked:
        # The tool already ran; never run it twice.
        return ToolCall.error_result(f"plugin {plugin!r} failed after the tool ran; see the server log")
    return await inner(call)


class ServerMiddleware:
    """The SDK middleware that connects MCP messages to jiraplug (see module docstring)."""

    operator_resources: frozenset[str] = frozenset()
    """URIs of resources served (and listed) to the server's operator only."""
    operator_tools: frozenset[str] = frozenset()
    """Names of admin tools served (and listed) to the server's operator only; they run without Jira."""

    async def __call__(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        started = time.perf_counter()
        attributes = {"mcp.method.name": ctx.method}
        try:
            if ctx.method == "tools/call":
                name = (ctx.params or {}).get("name")
                attributes["gen_ai.tool.name"] = str(name)
                result = await self._tool_call(ctx, call_next, str(name))
            elif ctx.method == "resources/read":
                uri = str((ctx.params or {}).get("uri"))
                if uri in self.operator_resources:
                    _refuse_all_but_the_operator(ctx, uri)
                token = _resource_read.set(ctx.lifespan_context)
                try:
                    result = await _as_the_caller(ctx, call_next)
                finally:
                    _resource_read.reset(token)
            elif ctx.method in CALLER_METHODS:
                result = await _as_the_caller(ctx, call_next)
            elif ctx.method == "subscriptions/listen" and self.operator_resources:
                notifications = (ctx.params or {}).get("notifications") or {}
                for uri in notifications.get("resourceSubscriptions") or ():
                    if str(uri) in self.operator_resources:
                        _refuse_all_but_the_operator(ctx, str(uri))
                result = await call_next(ctx)
            elif ctx.method == "resources/list" and self.operator_resources:
                result = await call_next(ctx)
                if not _from_operator(ctx):
                    result = _without(result, "resources", "uri", self.operator_resources)
            elif ctx.method == "tools/list" and self.operator_tools:
                result = await call_next(ctx)
                if not _from_operator(ctx):
                    result = _without(result, "tools", "name", self.operator_tools)
            else:
                result = await call_next(ctx)
            if ctx.method == "tools/call" and is_error_result(result):
                attributes["error.type"] = "tool_error"
            return result
        except MCPError as exc:
            attributes["error.type"] = str(exc.error.code)
            raise
        except Exception as exc:
            attributes["error.type"] = type(exc).__qualname__
            raise
        finally:
            if ctx.request_id is not None:
                telemetry.record_operation_duration(time.perf_counter() - started, attributes)

    async def _tool_call(self, ctx: Any, call_next: Callable[[Any], Awaitable[Any]], name: str) -> Any:
        from jiraplug.server.callers import OPERATOR_HEADER

        runtime: Runtime = ctx.lifespan_context
        caller = _caller(runtime, ctx)
        operator = _is_operator(runtime, caller)
        admin_tool = name in self.operator_tools
        if admin_tool and not operator:
            return ToolCall.error_result(f"{name} is for this server's operator: send the server's operator token "
                                         f"in {OPERATOR_HEADER}")
        try:
            jira = runtime.jira if admin_tool else _jira_for_request(runtime, caller)
        except UserFacingError as exc:
            if not operator:
                return ToolCall.error_result(str(exc))
            # The operator (by token) of a server without a Jira credential of its own: a Jira
            # tool gets Jira's own refusal.
            jira = runtime.jira
        scope = CallScope(runtime=runtime, jira=jira, tool=name, operator=operator)

        async def invoke() -> Any:
            token = _current.set(scope)
            try:
                # Tools read jira.api / is_cloud before their first request: settle the
                # deployment first (one serverInfo call per site when it was not configured).
                # Admin tools are about this server, not Jira: they must work without it.
                try:
                    if not admin_tool:
                        await scope.jira.ready()
                except UserFacingError as exc:
                    return ToolCall.error_result(str(exc))
                with offload.counting_reads():  # what the tool reads decides where it renders (toolkit.off_loop)
                    return await call_next(ctx)
            finally:
                _current.reset(token)

        arguments = dict((ctx.params or {}).get("arguments") or {})
        call = ToolCall(name=name, arguments=arguments, request_id=ctx.request_id, runtime=runtime,
                        session=getattr(ctx, "session", None), operator=operator, _invoke=invoke)
        return await runtime.tool_chain(call)


async def _as_the_caller(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
    """Serve a resources/read, completion or prompt with the caller's scope current (see CALLER_METHODS).

    A caller who cannot act in Jira is refused only when the handler asks for the scope, so the
    server's own resources (``jiraplug://...``) stay readable without a Jira credential.
    """
    runtime: Runtime = ctx.lifespan_context
    caller = _caller(runtime, ctx)
    try:
        scope = CallScope(runtime=runtime, jira=_jira_for_request(runtime, caller), tool=ctx.method,
                          operator=_is_operator(runtime, caller))
    except UserFacingError as exc:
        refused = _refused.set(exc)
        try:
            return await call_next(ctx)
        finally:
            _refused.reset(refused)
    token = _current.set(scope)
    try:
        return await call_next(ctx)
    finally:
        _current.reset(token)


@dataclass(frozen=True)
class _Caller:
    """Who a request comes from, read once from its headers (``headers`` None: stdio or in memory)."""

    headers: Any
    credentials: RequestCredentials | None  # the Jira credential it brought
    malformed: UserFacingError | None  # why the one it brought is unusable

    @property
    def own_credential(self) -> bool:
        return self.credentials is not None or self.malformed is not None


def _caller(runtime: Runtime, ctx: Any) -> _Caller:
    from jiraplug.server.callers import credentials_from_headers

    headers = getattr(getattr(ctx, "request", None), "headers", None)
    if headers is None:
        return _Caller(None, None, None)
    try:
        return _Caller(headers, credentials_from_headers(headers, runtime.settings.server, runtime.jira.base_url), None)
    except UserFacingError as exc:
        return _Caller(headers, None, exc)


def _is_operator(runtime: Runtime, caller: _Caller) -> bool:
    from jiraplug.server.callers import is_operator

    return is_operator(caller.headers, runtime.settings.server, runtime.has_configured_credentials,
                       caller.own_credential)


def _from_operator(ctx: Any) -> bool:
    runtime: Runtime = ctx.lifespan_context
    return _is_operator(runtime, _caller(runtime, ctx))


def _without(listing: Any, entries: str, key: str, hidden: frozenset[str]) -> Any:
    """A resources/list or tools/list answer without the ``entries`` whose ``key`` is in ``hidden``."""
    if isinstance(listing, dict):
        return {**listing, entries: [e for e in listing.get(entries, []) if str(e.get(key)) not in hidden]}
    kept = [e for e in getattr(listing, entries) if str(getattr(e, key)) not in hidden]
    return listing.model_copy(update={entries: kept})


def _refuse_all_but_the_operator(ctx: Any, uri: str) -> None:
    """Operator resources describe every user's calls: not for a shared server's users."""
    from jiraplug.server.callers import OPERATOR_HEADER

    if not _from_operator(ctx):
        raise MCPError(INVALID_REQUEST, f"{uri} describes every user of this server and is for its operator: "
                       f"send the server's operator token in {OPERATOR_HEADER} "
                       "(e.g. jiraplug stats --url ... --operator-token ...)")


def _jira_for_request(runtime: Runtime, caller: _Caller) -> JiraClient:
    """The client to act with: the request's own Jira credential (HTTP) or the configured one."""
    from jiraplug.server.callers import AUTH_HEADER, configured_credentials_allowed

    if caller.malformed is not None:
        raise caller.malformed
    if caller.credentials is not None:
        return runtime.jira_for(caller.credentials)
    if runtime.has_configured_credentials and (
        caller.headers is None or configured_credentials_allowed(runtime.settings.server)
    ):
        return runtime.jira
    raise UserFacingError(
        f"this server acts as each caller in Jira: send your own credential in the {AUTH_HEADER} header "
        "('Basic <base64 of email:api-token>' or 'Bearer <personal access token>')"
    )
