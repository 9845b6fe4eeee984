"""MCP session limits of the streamable HTTP server: per caller, in total, and their count.

The MCP SDK caps sessions only in total (10,000 by default), so one caller can open every
slot. :class:`SessionLimits` is ASGI middleware in front of ``/mcp`` that admits a request
opening a session only while its caller (the Jira credential it sends, see
:func:`caller_of`) has fewer than ``server.max_sessions_per_caller`` open and the server fewer
than ``server.max_sessions``; otherwise the answer is ``429 Too Many Requests`` with a JSON
body naming the limit. Sessions end when the client sends ``DELETE``, or after
``server.session_idle_timeout_seconds`` without a request in flight (the SDK's idle timeout);
the SDK then forgets the session, and so does this table.

The open sessions are counted in the operator resource ``jiraplug://sessions``.
"""

from __future__ import annotations

import weakref
from collections import Counter
from collections.abc import Callable, Collection
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jiraplug.server.asgi import send_json
from jiraplug.jira.middleware import credential_fingerprint

SESSIONS_URI = "jiraplug://sessions"
SESSION_HEADER = b"mcp-session-id"
PROTOCOL_HEADER = b"mcp-protocol-version"
ANONYMOUS = "(no credential)"


def caller_of(headers: dict[bytes, bytes], reads_authorization: bool) -> str:
    """Who opens a session: the fingerprint of the Jira credential the request sends.

    The same header :mod:`jiraplug.server.callers` reads (``X-Jira-Authorization``, or
    ``Authorization`` on a server without a bearer token of its own); requests without one
    share one caller.
    """
    raw = headers.get(b"x-jira-authorization")
    if raw is None and reads_authorization:
        raw = headers.get(b"authorization")
    return credential_fingerprint(raw.decode("latin-1")) if raw else ANONYMOUS


class SessionTable:
    """Which caller opened each live MCP session (filled by :class:`SessionLimits`)."""

    def __init__(self) -> None:
        self.owners: dict[str, str] = {}
        self.opening: Counter[str] = Counter()  # admitted requests not yet answered, per caller
        self.limits: dict[str, Any] = {}
        self._live: Callable[[], Collection[str]] | None = None

    def attach(self, live: Callable[[], Collection[str]], limits: dict[str, Any]) -> None:
        """Follow the session ids the SDK still serves (``live``); ``limits`` are shown in the snapshot."""
        self._live, self.limits = live, limits

    def prune(self) -> None:
        """Forget sessions the SDK has ended (DELETE, idle timeout, crash)."""
        if self._live is None:
            return
        live = self._live()
        for session_id in [s for s in self.owners if s not in live]:
            del self.owners[session_id]

    def open_for(self, caller: str) -> int:
        return sum(1 for owner in self.owners.values() if owner == caller) + self.opening[caller]

    def snapshot(self) -> dict[str, Any]:
        """Open sessions and callers, and the limits (what ``jiraplug://sessions`` shows)."""
        self.prune()
        return {"serving_http": self._live is not None, "open": len(self.owners),
                "callers": len(set(self.owners.values())), **self.limits}


_tables: weakref.WeakKeyDictionary[Any, SessionTable] = weakref.WeakKeyDictionary()


def table_for(server: Any) -> SessionTable:
    """The session table of an MCP server object (one per server, made on first use)."""
    table = _tables.get(server)
    if table is None:
        table = _tables[server] = SessionTable()
    return table


class SessionLimits:
    """ASGI middleware: refuse a new MCP session beyond the per-caller or total cap (see module)."""

    def __init__(self, app: ASGIApp, table: SessionTable, *, per_caller: int, total: int,
                 reads_authorization: bool, path: str) -> None:
        self.app = app
        self.table = table
        self.per_caller = per_caller
        self.total = total
        self.reads_authorization = reads_authorization
        self.path = path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = dict(scope.get("headers") or []) if scope["type"] == "http" else {}
        if not (scope["type"] == "http" and scope.get("method") == "POST" and scope["path"].startswith(self.path)
                and SESSION_HEADER not in headers and _opens_session(headers.get(PROTOCOL_HEADER))):
            await self.app(scope, receive, send)
            return
        table = self.table
        table.prune()
        caller = caller_of(headers, self.reads_authorization)
        if table.open_for(caller) >= self.per_caller:
            await _too_many(send, f"this caller already has {self.per_caller} MCP sessions open "
                            "(server.max_sessions_per_caller): end one (DELETE /mcp) or reuse it")
            return
        if len(table.owners) + sum(table.opening.values()) >= self.total:
            await _too_many(send, f"the server has {self.total} MCP sessions open (server.max_sessions): "
                            "retry later")
            return

        async def note_session(message: Message) -> None:
            if message["type"] == "http.response.start" and message["status"] < 400:
                session_id = dict(message.get("headers") or []).get(SESSION_HEADER)
                if session_id:
                    table.owners[session_id.decode("latin-1")] = caller
            await send(message)

        table.opening[caller] += 1
        try:
            await self.app(scope, receive, note_session)
        finally:
            table.opening[caller] -= 1
            if not table.opening[caller]:
                del table.opening[caller]


def _opens_session(protocol_version: bytes | None) -> bool:
    """Whether a request without a session id may open one (2026-07-28 requests never do)."""
    from mcp_types.version import HANDSHAKE_PROTOCOL_VERSIONS

    return protocol_version is None or protocol_version.decode("latin-1") in HANDSHAKE_PROTOCOL_VERSIONS


async def _too_many(send: Send, message: str) -> None:
    await send_json(send, 429, {"jsonrpc": "2.0", "id": None,
                                "error": {"code": -32000, "message": f"Too many sessions: {message}"}},
                    [(b"retry-after", b"60")])
