"""Run the sandbox over real HTTP: uvicorn on 127.0.0.1 in a background thread.

:class:`SandboxServer` binds its socket up front (so ``url`` is known, even for
``port=0``), serves from a daemon thread with its own event loop (so it also works when
started from inside a running event loop), counts accepted TCP connections through a
thin subclass of uvicorn's h11 protocol, and stops within a second or two.
"""

from __future__ import annotations

import asyncio
import functools
import socket
import threading
import time
from types import TracebackType
from typing import Any

import uvicorn
from jiraplug.sandbox.app import create_app
from jiraplug.sandbox.knobs import Knobs
from jiraplug.sandbox.middleware import TRANSPORT_EXTENSION
from jiraplug.sandbox.model import SandboxUser
from jiraplug.sandbox.requestlog import RequestLog
from jiraplug.sandbox.store import Store
from jiraplug.sandbox.web import SandboxContext
from uvicorn.protocols.http.h11_impl import H11Protocol

__all__ = ["SandboxServer"]

_START_TIMEOUT_S = 10.0


class _ConnectionCounter:
    """Thread-safe count of accepted TCP connections."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def opened(self) -> None:
        with self._lock:
            self.count += 1


class _SandboxH11Protocol(H11Protocol):
    """uvicorn's h11 protocol plus a connection counter and the transport in the ASGI scope."""

    def __init__(self, *args: Any, counter: _ConnectionCounter, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._counter = counter
        inner = self.app

        async def app_with_transport(scope: Any, receive: Any, send: Any) -> None:
            extensions = scope.setdefault("extensions", {})
            extensions[TRANSPORT_EXTENSION] = self.transport
            await inner(scope, receive, send)

        self.app = app_with_transport

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        self._counter.opened()
        sock = transport.get_extra_info("socket")
        if sock is not None:  # small responses must not wait for delayed ACKs (Nagle)
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:  # pragma: no cover - not a TCP socket
                pass
        super().connection_made(transport)


class SandboxServer:
    """A sandbox Jira served over HTTP on loopback.

    >>> with SandboxServer(flavour="cloud", seed=1, port=0) as sb:  # doctest: +SKIP
    ...     httpx2.get(f"{sb.url}/rest/api/3/myself", auth=(sb.default_user.email, sb.default_user.api_token))
    """

    def __init__(self, flavour: str = "cloud", seed: int = 1, port: int = 0, *, host: str = "127.0.0.1",
                 knobs: Knobs | None = None, admin: bool = False) -> None:
        self.flavour = flavour
        self.seed = seed
        self.host = host
        self.admin = admin
        self._requested_port = port
        self._log = RequestLog()
        self.app = create_app(flavour, seed, knobs, admin=admin, log=self._log)
        self._ctx: SandboxContext = self.app.state.sandbox
        self._counter = _ConnectionCounter()
        self._socket: socket.socket | None = None
        self._server: uvicorn.Server | None = None
        self._thread: threading.Thread | None = None
        self._error: BaseException | None = None
        self._port: int | None = None

    # ------------------------------------------------------------------ public API

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (known once started)."""
        if self._port is None:
            raise RuntimeError("SandboxServer is not started; use start() or a with block")
        return f"http://{self.host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound TCP port."""
        if self._port is None:
            raise RuntimeError("SandboxServer is not started")
        return self._port

    @property
    def state(self) -> Store:
        """The in-memory data store (projects, issues, users, ...)."""
        return self._ctx.store

    @property
    def users(self) -> list[SandboxUser]:
        """The sandbox accounts; the first is :attr:`default_user`."""
        return list(self._ctx.store.users)

    @property
    def default_user(self) -> SandboxUser:
        """The first user, who can see every project."""
        return self._ctx.store.default_user

    @property
    def request_log(self) -> RequestLog:
        """Every request served, as ``(method, path, status)`` records (status 0 = dropped)."""
        return self._log

    @property
    def connections_opened(self) -> int:
        """TCP connections accepted so far."""
        return self._counter.count

    @property
    def knobs(self) -> Knobs:
        """The fault knobs in force."""
        return self._ctx.faults.knobs

    def set_knobs(self, knobs: Knobs) -> None:
        """Replace the fault knobs (takes effect on the next request)."""
        if not isinstance(knobs, Knobs):
            raise TypeError(f"expected Knobs, got {type(knobs).__name__}")
        self._ctx.faults.set_knobs(knobs)

    @property
    def running(self) -> bool:
        """Whether the server thread is serving."""
        return self._thread is not None and self._thread.is_alive()

    def start(self) -> SandboxServer:
        """Bind, start serving in a background thread and wait until connections are accepted."""
        if self.running:
            return self
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            sock.bind((self.host, self._requested_port))
            sock.listen(128)
        except OSError:
            sock.close()
            raise
        self._socket = sock
        self._port = sock.getsockname()[1]
        config = uvicorn.Config(
            self.app,
            host=self.host,
            port=self._port,
            http=functools.partial(_SandboxH11Protocol, counter=self._counter),  # type: ignore[arg-type]
            ws="none",
            lifespan="off",
            log_config=None,
            log_level="warning",
            access_log=False,
            proxy_headers=False,
            server_header=False,
            timeout_graceful_shutdown=1,
        )
        self._server = uvicorn.Server(config)
        self._error = None
        self._thread = threading.Thread(target=self._run, name=f"jiraplug-sandbox-{self._port}", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + _START_TIMEOUT_S
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"sandbox server failed to start: {self._error!r}")
            time.sleep(0.005)
        return self

    def stop(self) -> None:
        """Stop serving and release the port (returns within about two seconds)."""
        server, thread = self._server, self._thread
        if server is not None:
            server.should_exit = True
        if thread is not None:
            # Graceful first (in-flight responses get up to ~1 s), then forced.
            thread.join(1.4)
            if thread.is_alive() and server is not None:
                server.force_exit = True
                thread.join(0.5)
        if self._socket is not None:
            self._socket.close()
        self._socket = None
        self._thread = None
        self._server = None

    def __enter__(self) -> SandboxServer:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def __repr__(self) -> str:
        where = self.url if self._port is not None else "not started"
        return f"<SandboxServer {self.flavour} seed={self.seed} {where}>"

    # ------------------------------------------------------------------ thread

    def _run(self) -> None:
        assert self._server is not None and self._socket is not None
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        try:
            loop.run_until_complete(self._server.serve(sockets=[self._socket]))
        except BaseException as exc:  # reported by start()
            self._error = exc
        finally:
            try:
                pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                asyncio.set_event_loop(None)
                loop.close()
