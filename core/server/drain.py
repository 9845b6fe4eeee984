"""Graceful stop of the HTTP server: calls in flight finish before streams are closed.

On SIGTERM (or SIGINT) uvicorn closes its listening socket, so new connections are refused,
and waits up to its graceful timeout for open connections to finish. The MCP SDK streams
tool results as Server-Sent Events through sse-starlette, which by default ends *every* SSE
stream the moment uvicorn starts shutting down: a tool call still waiting on Jira would lose
its result. :func:`serve_draining` switches that off, counts the POST requests in flight
(:class:`InFlight`), and only once they are done (or ``timeout`` has passed) lets
sse-starlette close the streams that remain, such as a client's idle ``GET /mcp`` stream, so
that shutdown is no longer than it needs to be.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import anyio
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    import socket

    import uvicorn

POLL_SECONDS = 0.05


class InFlight:
    """ASGI middleware that counts the POST requests being served (tool calls among them)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.count = 0

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return
        self.count += 1
        try:
            await self.app(scope, receive, send)
        finally:
            self.count -= 1


async def serve_draining(server: uvicorn.Server, in_flight: InFlight, timeout: float,
                         sockets: list[socket.socket] | None = None) -> None:
    """Run ``server`` (whose app is wrapped by ``in_flight``) with a draining shutdown.

    ``sockets``: listen on these instead of binding the configured address (``--workers``).
    """
    from sse_starlette.sse import AppStatus

    AppStatus.disable_automatic_graceful_drain()
    stopped_by: KeyboardInterrupt | None = None
    try:
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(_close_streams_when_drained, server, in_flight, timeout)
            try:
                await server.serve(sockets=sockets)
            except KeyboardInterrupt as exc:  # uvicorn re-raises the stop signal once it has shut down
                stopped_by = exc
            finally:
                tasks.cancel_scope.cancel()
    finally:
        # The flag is process-wide: leave it as found for a later server in this process.
        AppStatus.should_exit = False
        AppStatus.enable_automatic_graceful_drain_mode()
    if stopped_by is not None:
        raise stopped_by  # outside the task group, so the caller sees the signal itself


async def _close_streams_when_drained(server: uvicorn.Server, in_flight: InFlight, timeout: float) -> None:
    from sse_starlette.sse import AppStatus

    while not server.should_exit:
        await anyio.sleep(POLL_SECONDS)
    with anyio.move_on_after(timeout):
        while in_flight.count:
            await anyio.sleep(POLL_SECONDS)
    AppStatus.should_exit = True  # sse-starlette now ends the remaining streams
