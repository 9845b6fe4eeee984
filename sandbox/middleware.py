"""ASGI middleware: request log, fault injection (the knobs) and authentication.

Order, outermost first: :class:`RequestLogMiddleware` records every request,
:class:`FaultMiddleware` applies latency, drops, rate limiting, 5xx and slow bodies,
:class:`AuthMiddleware` answers 401 for ``/rest/`` requests without valid credentials.
Admin paths (``/__sandbox__/``) bypass faults and auth.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import math
import re
import time
from typing import Any

from jiraplug.sandbox.auth import authenticate, unauthorized
from jiraplug.sandbox.requestlog import RequestRecord
from jiraplug.sandbox.web import USER_STATE_KEY, SandboxContext, error_body, json_response
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["RequestLogMiddleware", "FaultMiddleware", "AuthMiddleware", "TRANSPORT_EXTENSION", "ConnectionDropped"]

#: ASGI scope extension under which the sandbox server exposes the asyncio transport.
TRANSPORT_EXTENSION = "jiraplug.sandbox.transport"
#: Scope key of the request-log callback (records the request with its status so far).
RECORD_KEY = "jiraplug.sandbox.record"
ADMIN_PREFIX = "/__sandbox__/"


class ConnectionDropped(ConnectionResetError):
    """Raised in-process (no real socket to close) when the drop knob fires."""


def _base_url(scope: Scope) -> str:
    headers = dict(scope.get("headers") or [])
    host = headers.get(b"host", b"").decode("latin-1")
    if not host:
        server = scope.get("server") or ("127.0.0.1", 80)
        host = f"{server[0]}:{server[1]}"
    return f"{scope.get('scheme', 'http')}://{host}"


class RequestLogMiddleware:
    """Appends ``(method, path, status)`` to the sandbox's request log."""

    def __init__(self, app: ASGIApp, ctx: SandboxContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = 0
        logged = False
        arrived = time.monotonic()  # before the app and the latency knob run

        def record() -> None:
            nonlocal logged
            if not logged:
                logged = True
                self.ctx.log.append(RequestRecord(scope["method"], scope["path"], status, arrived))

        async def logging_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            elif message["type"] == "http.response.body" and not message.get("more_body", False):
                record()  # before the client can see the end of the response
            await send(message)

        scope[RECORD_KEY] = record  # lets the drop knob log before it closes the connection
        try:
            await self.app(scope, receive, logging_send)
        except ConnectionDropped:
            raise
        except Exception:
            status = status or 500  # the server answers 500 for an unhandled error
            raise
        finally:
            record()


class FaultMiddleware:
    """Applies the fault knobs to every non-admin request."""

    def __init__(self, app: ASGIApp, ctx: SandboxContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(ADMIN_PREFIX):
            await self.app(scope, receive, send)
            return
        faults = self.ctx.faults
        delay = faults.delay_s()
        if delay > 0:
            await asyncio.sleep(delay)
        if faults.should_drop():
            await self._drop(scope)
            return
        decision = faults.take_token()
        rate_headers: dict[str, str] = {}
        if decision is not None:
            rate_headers = self._rate_headers(decision.limit, decision.remaining, decision.retry_after_s)
            if not decision.allowed:
                retry = max(1, math.ceil(decision.retry_after_s))
                headers = {"Retry-After": str(retry), **rate_headers}
                if self.ctx.flavour == "cloud":
                    headers["RateLimit-Reason"] = "jira-burst-based"
                response = json_response(error_body(["Rate limit exceeded."]), 429, headers)
                await response(scope, receive, send)
                return
        status = faults.error_status()
        if status is not None:
            await self._error(status)(scope, receive, send)
            return
        await self.app(scope, receive, self._wrap_send(send, rate_headers))

    def _rate_headers(self, limit: float, remaining: int, wait_s: float) -> dict[str, str]:
        reset = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=wait_s)
        limit_text = str(int(limit)) if float(limit).is_integer() else f"{limit:g}"
        headers = {
            "X-RateLimit-Limit": limit_text,
            "X-RateLimit-Remaining": str(remaining),
            "X-RateLimit-Reset": reset.strftime("%Y-%m-%dT%H:%M:%S.") + f"{reset.microsecond // 1000:03d}Z",
        }
        if self.ctx.flavour == "dc":
            headers["X-RateLimit-Interval-Seconds"] = "1"
            headers["X-RateLimit-FillRate"] = limit_text
        return headers

    @staticmethod
    def _error(status: int) -> Response:
        if status == 502:
            page = ("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1>"
                    "</center></body></html>")
            return Response(page, status_code=502, media_type="text/html")
        if status == 503:
            return json_response(error_body(["Service Unavailable. Please try again later."]), 503,
                                 {"Retry-After": "1"})
        return json_response(error_body(["Internal server error"]), 500)

    async def _drop(self, scope: Scope) -> None:
        transport = (scope.get("extensions") or {}).get(TRANSPORT_EXTENSION)
        if transport is None:
            raise ConnectionDropped("sandbox dropped the connection (drop_rate knob)")
        record = scope.get(RECORD_KEY)
        if record is not None:
            record()  # logged as status 0 before the client can notice the drop
        transport.close()
        # Let the server notice the disconnect, so it does not answer 500 on our behalf.
        for _ in range(3):
            await asyncio.sleep(0)

    def _wrap_send(self, send: Send, extra_headers: dict[str, str]) -> Send:
        slow_s = self.ctx.faults.knobs.slow_body_ms / 1000
        if not extra_headers and slow_s <= 0:
            return send

        async def fault_send(message: Message) -> None:
            if message["type"] == "http.response.start" and extra_headers:
                headers = list(message.get("headers") or [])
                headers.extend((k.lower().encode(), v.encode()) for k, v in extra_headers.items())
                message = {**message, "headers": headers}
            if message["type"] == "http.response.body" and slow_s > 0:
                body: bytes = message.get("body", b"")
                more = message.get("more_body", False)
                pieces = max(2, min(10, len(body) // 256)) if body else 1
                size = max(1, math.ceil(len(body) / pieces)) if body else 0
                chunks = [body[i: i + size] for i in range(0, len(body), size)] if body else [b""]
                for index, chunk in enumerate(chunks):
                    await asyncio.sleep(slow_s / len(chunks))
                    last = index == len(chunks) - 1
                    await send({"type": "http.response.body", "body": chunk, "more_body": more or not last})
                return
            await send(message)

        return fault_send


#: Paths that need credentials: the REST APIs and authenticated downloads.
AUTH_PREFIXES = ("/rest/", "/secure/", "/jira/forms/", "/_edge/")
#: GET paths Jira serves to anonymous callers too (Cloud and Data Center answer serverInfo
#: without credentials); a credential that is sent must still be valid.
ANONYMOUS_GET = re.compile(r"^/rest/api/[^/]+/serverInfo$")


class AuthMiddleware:
    """Requires valid credentials on ``/rest/`` and ``/secure/`` paths (but :data:`ANONYMOUS_GET`) and stores
    the caller in the scope state."""

    def __init__(self, app: ASGIApp, ctx: SandboxContext) -> None:
        self.app = app
        self.ctx = ctx

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(AUTH_PREFIXES):
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        raw = headers.get(b"authorization")
        result = authenticate(raw.decode("latin-1") if raw is not None else None, self.ctx.store, self.ctx.flavour)
        if result.user is None and result.reason == "missing" and scope.get("method") == "GET" \
                and ANONYMOUS_GET.match(scope["path"]):
            await self.app(scope, receive, send)
            return
        if result.user is None:
            await unauthorized(self.ctx.flavour, result.reason, _base_url(scope))(scope, receive, send)
            return
        state: dict[str, Any] = scope.setdefault("state", {})
        state[USER_STATE_KEY] = result.user
        user = result.user
        identity = (b"x-aaccountid", user.account_id.encode()) if self.ctx.flavour == "cloud" \
            else (b"x-ausername", user.name.encode())

        async def identity_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*(message.get("headers") or []), identity]}
            await send(message)

        await self.app(scope, receive, identity_send)
