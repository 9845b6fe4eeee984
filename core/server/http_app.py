"""Serve MCP over streamable HTTP: ``/mcp``, ``/healthz``, bearer-token and Host/Origin checks."""

from __future__ import annotations

import hmac
import importlib.util
import ipaddress
import os
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.transport_security import TransportSecuritySettings
from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from jiraplug import __version__
from jiraplug.server import sessions
from jiraplug.server.asgi import send_json
from jiraplug.errors import StartupError
from jiraplug.server.timeouts import BodyDeadline, guarded_protocol
from jiraplug.settings import LOOPBACK_HOSTS, ServerSettings

MCP_PATH = "/mcp"
GRACEFUL_SHUTDOWN_SECONDS = 10  # on SIGTERM, how long calls in flight may take to finish


def is_loopback(host: str) -> bool:
    """Whether binding to ``host`` keeps the server on this machine."""
    if host in LOOPBACK_HOSTS:
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(server: ServerSettings) -> None:
    """Refuse to listen beyond loopback without a bearer token."""
    if not is_loopback(server.host) and server.http_token is None:
        raise StartupError(
            f"server.host = {server.host!r} is not a loopback address: set JIRAPLUG_HTTP_TOKEN (or "
            "server.http_token) so that /mcp requires a bearer token, or bind to 127.0.0.1"
        )


def is_wildcard(host: str) -> bool:
    """Whether binding to ``host`` listens on every interface (``0.0.0.0``, ``::``)."""
    try:
        return ipaddress.ip_address(host.strip("[]")).is_unspecified
    except ValueError:
        return False


def accepts_any_host(server: ServerSettings) -> bool:
    """Whether ``/mcp`` accepts any ``Host``: a wildcard bind behind the bearer token, not narrowed.

    Such a server is reached by names it cannot know (a container's, a Kubernetes service's,
    an ingress's). A DNS-rebinding page cannot attach the bearer token, so the token, not
    ``Host``, keeps it out; ``Origin`` is still checked (see :class:`OriginGuard`), and
    ``server.allowed_hosts`` narrows ``Host`` again for those who want that.
    """
    return is_wildcard(server.host) and server.http_token is not None and not server.allowed_hosts


def transport_security(server: ServerSettings) -> TransportSecuritySettings:
    """DNS-rebinding protection: only known Host and Origin values are accepted.

    Off in the SDK when :func:`accepts_any_host`: :class:`OriginGuard` checks ``Origin`` then.
    """
    if accepts_any_host(server):
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    host = f"[{server.host}]" if ":" in server.host and not server.host.startswith("[") else server.host
    hosts = ["127.0.0.1:*", "localhost:*", "[::1]:*"] if is_loopback(server.host) else [f"{host}:*", host]
    origins = [f"http://{h}" for h in hosts] + [f"https://{h}" for h in hosts]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=hosts + list(server.allowed_hosts),
        allowed_origins=origins + list(server.allowed_origins),
    )


def build_http_app(mcp: MCPServer[Any], server: ServerSettings) -> ASGIApp:
    """The ASGI application: MCP at ``/mcp``, ``GET /healthz``, bearer check when a token is set."""
    check_exposure(server)

    @mcp.custom_route("/healthz", methods=["GET"])
    async def healthz(_: Request) -> JSONResponse:
        # The pid tells replicas and --workers processes apart (which one answered).
        return JSONResponse({"status": "ok", "version": __version__, "pid": os.getpid()})

    app = mcp.streamable_http_app(
        streamable_http_path=MCP_PATH,
        json_response=server.json_response,
        stateless_http=server.stateless_http,
        transport_security=transport_security(server),
        host=server.host,
        max_request_body_size=server.max_request_bytes,
        session_idle_timeout=server.session_idle_timeout_seconds,
        max_sessions=server.max_sessions,
    )
    if not server.stateless_http:
        app = _with_session_limits(mcp, app, server)
    if accepts_any_host(server):
        app = OriginGuard(app, server.allowed_origins)
    if server.http_token is not None:
        app = BearerTokenGuard(app, server.http_token.get_secret_value())
    return BodyDeadline(app, server.body_timeout_seconds)


def _with_session_limits(mcp: MCPServer[Any], app: ASGIApp, server: ServerSettings) -> ASGIApp:
    """Cap sessions per caller and in total, and count them for ``jiraplug://sessions``."""
    table = sessions.table_for(mcp)
    manager = mcp.session_manager
    # The SDK's registry of live sessions (private): what DELETE and the idle timeout empty.
    table.attach(lambda: manager._server_instances, {
        "max_sessions": server.max_sessions, "max_sessions_per_caller": server.max_sessions_per_caller,
        "session_idle_timeout_seconds": server.session_idle_timeout_seconds})
    return sessions.SessionLimits(app, table, per_caller=server.max_sessions_per_caller, total=server.max_sessions,
                                  reads_authorization=server.http_token is None, path=MCP_PATH)


class BearerTokenGuard:
    """ASGI middleware: requests to ``/mcp`` must carry ``Authorization: Bearer <token>``."""

    def __init__(self, app: ASGIApp, token: str) -> None:
        if not token.strip():  # settings refuse it; "Bearer " must never be the key
            raise StartupError("server.http_token is empty or blank: set a real token")
        self._app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(MCP_PATH):
            supplied = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(supplied, self._expected):
                await _unauthorized(send)
                return
        await self._app(scope, receive, send)


class OriginGuard:
    """ASGI middleware for a server that accepts any ``Host``: an ``Origin`` must still be known.

    A request to ``/mcp`` without ``Origin`` (not from a browser) passes; one with it passes
    when it is a configured origin (exact, or ``scheme://host:*`` for any port) or names the
    very host the request addressed (same-host), and is refused with 403 otherwise.
    """

    def __init__(self, app: ASGIApp, allowed_origins: list[str]) -> None:
        self._app = app
        self._allowed = list(allowed_origins)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and scope["path"].startswith(MCP_PATH):
            headers = Headers(scope=scope)
            origin = headers.get("origin")
            if origin is not None and not self._known(origin, headers.get("host", "")):
                await PlainTextResponse("Invalid Origin header", status_code=403)(scope, receive, send)
                return
        await self._app(scope, receive, send)

    def _known(self, origin: str, host: str) -> bool:
        for allowed in self._allowed:
            if origin == allowed or (allowed.endswith(":*") and origin.startswith(allowed[:-1])):
                return True
        scheme, sep, netloc = origin.partition("://")
        return bool(sep and host) and scheme in ("http", "https") and netloc.lower() == host.lower()


async def _unauthorized(send: Send) -> None:
    await send_json(send, 401, {"error": "unauthorized", "message": "a valid bearer token is required"},
                    [(b"www-authenticate", b'Bearer realm="jiraplug"')])


def uses_uvloop(server: ServerSettings) -> bool:
    """Whether to run the HTTP server on uvloop: ``server.event_loop``, ``auto`` meaning "when installed".

    uvloop cut the server's CPU per cached call by about 7% here (docs/benchmarks.md). The HTTP
    parser stays h11: the header deadline (:mod:`jiraplug.server.timeouts`) is built on it, and
    parsing the inbound request is a small part of a call.
    """
    if server.event_loop == "asyncio":
        return False
    installed = importlib.util.find_spec("uvloop") is not None
    if server.event_loop == "uvloop" and not installed:
        raise StartupError("server.event_loop = 'uvloop' but uvloop is not installed: pip install 'jiraplug[fast]', "
                           "or set it to 'auto'")
    return installed


async def serve_http(mcp: MCPServer[Any], server: ServerSettings, *, reuse_port: bool = False) -> None:
    """Run uvicorn until interrupted (SIGINT/SIGTERM stop it gracefully).

    ``reuse_port``: listen with ``SO_REUSEPORT`` beside the other ``--workers`` processes.
    """
    import uvicorn

    from jiraplug.server.drain import InFlight, StopAwareServer, serve_draining
    from jiraplug.server.workers import reuse_port_socket

    app = InFlight(build_http_app(mcp, server))
    config = uvicorn.Config(
        app, host=server.host, port=server.port, log_level=server.log_level.lower(), access_log=False,
        server_header=False, timeout_graceful_shutdown=GRACEFUL_SHUTDOWN_SECONDS,
        http=guarded_protocol(server.header_timeout_seconds),
        timeout_keep_alive=server.keep_alive_timeout_seconds,  # type: ignore[arg-type]  # a float works
    )
    # In-flight calls keep their SSE stream until they finish (see jiraplug.server.drain).
    sockets = [reuse_port_socket(server.host, server.port)] if reuse_port else None
    await serve_draining(StopAwareServer(config), app, GRACEFUL_SHUTDOWN_SECONDS, sockets)
