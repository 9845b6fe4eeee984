"""Graceful stop of the HTTP server: calls in flight finish before streams are closed.

On SIGTERM (or SIGINT) uvicorn closes its listening socket, so new connections are refused,
and waits up to its graceful timeout for open connections to finish. The MCP SDK streams
tool results as Server-Sent Events through sse-starlette, which by default ends *every* SSE
stream the moment uvicorn starts shutting down: a tool call still waiting on Jira would lose
its result. :func:`serve_draining` switches that off, counts the POST requests in flight
(:class:`InFlight`), and only once they are done (or ``timeout`` has passed) lets
sse-starlette close the streams that remain, such as a client's idle ``GET /mcp`` stream, so
that shutdown is no longer than it needs to be.

:class:`StopAwareServer` is the uvicorn server jiraplug runs: it waits for its stop instead of
polling for it, so an idle server wakes once a second (for the ``Date`` header), not thirty
times.
"""

from __future__ import annotations

import asyncio
import threading
from typing import TYPE_CHECKING

import anyio
import uvicorn
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    import socket

# While draining: how often the count of calls in flight is read.
POLL_SECONDS = 0.05
# uvicorn refreshes its Date header on every tenth tick of its 0.1 s loop.
TICKS_PER_SECOND = 10


class StopAwareServer(uvicorn.Server):
    """uvicorn's server, woken by its stop instead of polling ``should_exit`` every 0.1 s.

    uvicorn's main loop sleeps 0.1 s between checks of ``should_exit``; each wake-up of an idle
    process costs CPU that shows up in every uncached call's share (about 0.2 ms per wake-up on
    a shared machine, whose caches are cold by then). Setting ``should_exit`` (a signal handler,
    a test, the workers' supervisor) now wakes the loop at once; otherwise it ticks once a
    second, which keeps the ``Date`` header fresh.
    """

    tick_seconds = 1.0  # uvicorn's Date header has a resolution of one second

    def __init__(self, config: uvicorn.Config) -> None:
        self._should_exit = False
        self._stop = asyncio.Event()  # binds to the loop that first waits on it
        self._loop: asyncio.AbstractEventLoop | None = None
        # Reentrant: the setter also runs in signal handlers, on the thread that may hold it.
        self._loop_lock = threading.RLock()
        super().__init__(config)

    @property  # type: ignore[override]  # uvicorn declares a plain attribute
    def should_exit(self) -> bool:
        return self._should_exit

    @should_exit.setter
    def should_exit(self, value: bool) -> None:
        self._should_exit = value
        if not value:
            return
        with self._loop_lock:
            loop = self._loop
            if loop is None:  # not serving yet: nothing waits on the event
                self._stop.set()
                return
        if not loop.is_closed():
            # From a signal handler or another thread: the loop itself sets the event.
            loop.call_soon_threadsafe(self._stop.set)

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """uvicorn's ``serve``, on a loop the stop can reach from any thread."""
        with self._loop_lock:
            self._loop = asyncio.get_running_loop()
        try:
            await super().serve(sockets)
        finally:
            with self._loop_lock:
                self._loop = None

    async def main_loop(self) -> None:
        """uvicorn's loop, with one tick a second unless the stop wakes it earlier."""
        counter = 0
        should_exit = await self.on_tick(counter)
        while not should_exit:
            counter = (counter + TICKS_PER_SECOND) % 864000
            with anyio.move_on_after(self.tick_seconds):
                await self._woken()
            should_exit = await self.on_tick(counter)

    async def stopped(self) -> None:
        """Return once the server has been asked to stop."""
        while not self.should_exit:
            await self._woken()

    async def _woken(self) -> None:
        await self._stop.wait()
        if not self.should_exit:
            self._stop.clear()  # a stop taken back (set, then unset): the next wait sleeps again


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


async def serve_draining(server: StopAwareServer, in_flight: InFlight, timeout: float,
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


async def _close_streams_when_drained(server: StopAwareServer, in_flight: InFlight, timeout: float) -> None:
    from sse_starlette.sse import AppStatus

    await server.stopped()
    with anyio.move_on_after(timeout):
        while in_flight.count:
            await anyio.sleep(POLL_SECONDS)
    AppStatus.should_exit = True  # sse-starlette now ends the remaining streams
