"""Connection time limits of the HTTP server: slow clients do not hold connections open.

uvicorn closes a keep-alive connection that stays idle between requests
(``timeout_keep_alive``), but nothing bounds a client that trickles its request: h11 waits
for the headers as long as bytes keep coming, and the application waits for the body as
long as the client likes. On a shared server a few such clients hold every connection.

* :func:`guarded_protocol` is uvicorn's h11 protocol with a *header* deadline: a request's
  headers must be complete within ``header_timeout`` of the connection opening (or, on a
  keep-alive connection, of the next request's first byte), else the connection is closed.
  Between requests only the keep-alive timeout applies: a deadline counted from the previous
  response would cut idle connections at ``header_timeout`` whatever the keep-alive says.
* :class:`BodyDeadline` is ASGI middleware with a *body* deadline: the whole request body
  must arrive within ``body_timeout`` of its headers, else the client gets ``408`` and the
  connection is closed.
"""

from __future__ import annotations

import asyncio
from typing import Any

import anyio
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from jiraplug.server.asgi import send_json


def guarded_protocol(header_timeout: float) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol class, closing connections whose request headers are late."""
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadlineProtocol(H11Protocol):
        """h11 with a deadline on each request's headers (see the module docstring)."""

        _header_timer: asyncio.TimerHandle | None = None
        _idle = False  # between requests on a keep-alive connection: the next byte starts the deadline

        def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
            super().connection_made(transport)
            self._arm_header_timer()

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm_header_timer()
            super().connection_lost(exc)

        def on_response_complete(self) -> None:
            finished = self.cycle
            super().on_response_complete()  # may already start a pipelined request (a new cycle)
            self._disarm_header_timer()
            if self.transport.is_closing() or self.cycle is not finished:
                return
            if self.conn.trailing_data[0]:  # part of the next request came early (pipelined)
                self._arm_header_timer()
            else:
                self._idle = True

        def data_received(self, data: bytes) -> None:
            if self._idle:
                self._idle = False
                self._arm_header_timer()  # the next request on this keep-alive connection has begun
            super().data_received(data)

        def _arm_header_timer(self) -> None:
            self._disarm_header_timer()
            # A new request replaces ``self.cycle`` once its headers are parsed.
            waiting_since = self.cycle
            self._header_timer = self.loop.call_later(header_timeout, self._headers_late, waiting_since)

        def _disarm_header_timer(self) -> None:
            if self._header_timer is not None:
                self._header_timer.cancel()
                self._header_timer = None

        def _headers_late(self, waiting_since: Any) -> None:
            self._header_timer = None
            if self.cycle is waiting_since and not self.transport.is_closing():
                self.logger.debug("closing a connection whose request headers took over %s s", header_timeout)
                self.transport.close()

    return HeaderDeadlineProtocol


class BodyDeadline:
    """ASGI middleware: a request body must arrive within ``seconds`` of the request's headers."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        deadline = anyio.current_time() + self.seconds
        body_done = timed_out = response_started = False

        async def bounded_receive() -> Message:
            nonlocal body_done, timed_out, response_started
            if timed_out:
                return {"type": "http.disconnect"}
            if body_done:  # e.g. an SSE response listening for the client going away
                return await receive()
            with anyio.move_on_after(max(deadline - anyio.current_time(), 0)):
                message = await receive()
                body_done = message["type"] != "http.request" or not message.get("more_body", False)
                return message
            timed_out = True
            if not response_started:
                response_started = True
                await _request_timeout(send, self.seconds)
            return {"type": "http.disconnect"}  # the application stops reading and answering

        async def tracked_send(message: Message) -> None:
            nonlocal response_started
            if timed_out:
                return  # the 408 was the answer
            if message["type"] == "http.response.start":
                response_started = True
            await send(message)

        await self.app(scope, bounded_receive, tracked_send)


async def _request_timeout(send: Send, seconds: float) -> None:
    await send_json(send, 408, {"error": "request_timeout",
                                "message": f"the request body did not arrive within {seconds:g} s"},
                    [(b"connection", b"close")])
