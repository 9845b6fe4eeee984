"""``jiraplug serve --transport http --workers N``: N server processes sharing one port.

One Python process serves from one core. With ``--workers N`` the ``jiraplug serve`` process
becomes a small supervisor: it starts N worker processes, each a complete ``jiraplug serve``
with its own runtime (plugins, Jira clients, caches, budgets), each listening on the same
address with ``SO_REUSEPORT``, so the kernel spreads new connections over them. (uvicorn's
own ``--workers`` needs an importable application and pickles its configuration into each
child; our app is built from the loaded plugins, and our h11 protocol class with its header
deadline is made at run time, so each worker builds its own instead.)

* The supervisor binds the address first (without listening), so a port already in use is
  one clear start-up error, ``--port 0`` picks a port for all workers, and no other program
  can take the port while a worker restarts.
* A worker that dies is started again; one that dies within :data:`FAST_FAILURE_SECONDS` of
  starting, twice in a row, stops the server (a bug or a bad environment, not bad luck).
  The supervisor sleeps until a signal (a worker's exit, a stop) wakes it, looking at its
  workers at least every :data:`LOOK_SECONDS`: an idle server costs no CPU to supervise.
* SIGTERM or SIGINT to the supervisor reaches each worker once as SIGTERM: each drains as a
  single server does (``jiraplug.server.drain``) and the supervisor exits 0 when all have;
  a second signal forces them. Workers get SIGTERM if the supervisor itself dies
  (``PR_SET_PDEATHSIG``), so none is left behind.
* MCP sessions live in the worker that opened them, and a client's next request may reach
  another worker, so workers serve stateless HTTP (:data:`STATELESS_ENV`); 2026-07-28
  clients have no session anyway.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import select
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jiraplug.errors import StartupError

FAST_FAILURE_SECONDS = 5.0
LOOK_SECONDS = 1.0  # the supervisor looks at its workers at least this often (signals wake it sooner)
STOP_GRACE_SECONDS = 25.0  # a worker's own drain is 10 s; after this the supervisor kills it
STATELESS_ENV = "JIRAPLUG_SERVER__STATELESS_HTTP"
WORKER_ENV = "JIRAPLUG_WORKER_INDEX"  # read by the worker only (no settings table of that name)
SHARED_BACKENDS = {"cache": "JIRAPLUG_CACHE__BACKEND", "ratelimit": "JIRAPLUG_RATELIMIT__BACKEND"}
RESOURCE_ENV = "OTEL_RESOURCE_ATTRIBUTES"
INSTANCE_ID = "service.instance.id"
_PR_SET_PDEATHSIG = 1


def reuse_port_socket(host: str, port: int) -> socket.socket:
    """A TCP socket bound to ``host:port`` with ``SO_REUSEPORT`` (not listening yet)."""
    if not hasattr(socket, "SO_REUSEPORT"):
        raise StartupError("--workers needs SO_REUSEPORT, which this platform lacks: run one worker per port")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        sock.bind((host.strip("[]"), port))
    except OSError as exc:
        sock.close()
        raise StartupError(f"cannot listen on {host}:{port}: {exc.strerror or exc}") from None
    sock.set_inheritable(False)
    return sock


def unshared_state_warning(settings: Any, workers: int) -> str | None:
    """What each worker keeps for itself with in-process backends, and the settings that share it."""
    if workers < 2:
        return None
    local = [name for name in SHARED_BACKENDS if settings.is_plugin_enabled(name)
             and getattr(_plugin_table(settings, name), "backend", "memory") != "redis"]
    if not local:
        return None
    what = {"cache": "its own cache (a write through one worker leaves the others' entries until they expire)",
            "ratelimit": "its own rate budget toward Jira (together they may send up to "
                         f"{workers} times the configured rate)"}
    fixes = ", ".join(f'[{name}] backend = "redis" ({SHARED_BACKENDS[name]}=redis with '
                      f"{SHARED_BACKENDS[name].replace('BACKEND', 'REDIS_URL')})" for name in local)
    return (f"{workers} workers, each with " + " and ".join(what[name] for name in local)
            + f"; to share them set {fixes}")


def _plugin_table(settings: Any, name: str) -> Any:
    try:
        return settings.plugin_config(name)
    except KeyError:
        return None


def _die_with_parent() -> None:  # runs in the child between fork and exec
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


@dataclass
class Worker:
    index: int
    process: subprocess.Popen[bytes]
    started: float


@dataclass
class Supervisor:
    """Starts ``count`` workers from ``command``, restarts the ones that die, stops them all on a signal."""

    command: Sequence[str]
    count: int
    env: Mapping[str, str]
    log: Callable[[str], None] = field(default=lambda text: print(f"jiraplug: {text}", file=sys.stderr))
    workers: list[Worker] = field(default_factory=list)
    signals: int = 0
    looks: int = 0  # times the loop woke to look at its workers

    def _start(self, index: int) -> Worker:
        env = {**self.env, WORKER_ENV: str(index)}
        env[RESOURCE_ENV] = with_instance_id(env.get(RESOURCE_ENV, ""), index)
        process = subprocess.Popen(list(self.command), env=env, stdin=subprocess.DEVNULL,
                                   preexec_fn=_die_with_parent if sys.platform == "linux" else None)
        return Worker(index, process, time.monotonic())

    def _on_signal(self, signum: int, frame: Any) -> None:
        self.signals += 1
        forward = signal.SIGTERM if self.signals == 1 else signal.SIGINT  # a second SIGINT forces uvicorn
        for worker in self.workers:
            _send(worker, forward)

    def run(self) -> int:
        """Supervise until stopped; 0 after a signal, 1 when workers keep failing at start."""
        wake, woken = socket.socketpair()
        wake.setblocking(False)
        woken.setblocking(False)
        previous = {sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)}
        # A worker's exit (SIGCHLD) must wake the loop too: a handler makes Python write it to the wake-up fd.
        previous[signal.SIGCHLD] = signal.signal(signal.SIGCHLD, lambda signum, frame: None)
        previous_fd = -1
        try:
            previous_fd = signal.set_wakeup_fd(woken.fileno(), warn_on_full_buffer=False)
            self.workers = [self._start(index) for index in range(self.count)]
            fast_failures = 0
            while not self.signals:
                select.select([wake], [], [], LOOK_SECONDS)
                self.looks += 1
                with contextlib.suppress(BlockingIOError):
                    while wake.recv(512):  # what woke us; the state below says what to do
                        pass
                for slot, worker in enumerate(self.workers):
                    code = worker.process.poll()
                    if code is None or self.signals:
                        continue
                    fast = time.monotonic() - worker.started < FAST_FAILURE_SECONDS
                    fast_failures = fast_failures + 1 if fast else 0
                    if fast_failures >= 2:
                        self.log(f"error: worker {worker.index} exited with status {code} right after starting, "
                                 "twice: stopping (see its messages above)")
                        self._on_signal(signal.SIGTERM, None)
                        self._wait_all()
                        return 1
                    self.log(f"warning: worker {worker.index} (pid {worker.process.pid}) exited with status "
                             f"{code}; starting another")
                    self.workers[slot] = self._start(worker.index)
                    if self.signals:  # the stop came while it started: it missed the forwarding
                        _send(self.workers[slot], signal.SIGTERM)
            self._wait_all()
            return 0
        finally:
            signal.set_wakeup_fd(previous_fd)
            wake.close()
            woken.close()
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _wait_all(self) -> None:
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for worker in self.workers:
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"warning: worker {worker.index} (pid {worker.process.pid}) did not stop: killing it")
                worker.process.kill()
                worker.process.wait()


def _send(worker: Worker, sig: int) -> None:
    """Signal ``worker`` if it is still running."""
    if worker.process.poll() is None:
        with contextlib.suppress(ProcessLookupError):
            worker.process.send_signal(sig)


def worker_environment(base: Mapping[str, str], overrides: Mapping[str, str]) -> dict[str, str]:
    """The workers' environment: ``base`` plus ``overrides``, with stateless HTTP."""
    return {**base, **overrides, STATELESS_ENV: "true"}


def with_instance_id(resource_attributes: str, index: int) -> str:
    """``OTEL_RESOURCE_ATTRIBUTES`` with a ``service.instance.id`` of worker ``index``'s own.

    Metrics from two processes under one identity would be summed as one series by the
    collector; the given id (or the host name) gets ``/worker-<index>`` appended.
    """
    items = [item for item in resource_attributes.split(",") if item.strip()]
    given = [item.partition("=")[2].strip() for item in items if item.partition("=")[0].strip() == INSTANCE_ID]
    rest = [item for item in items if item.partition("=")[0].strip() != INSTANCE_ID]
    base = given[-1] if given else socket.gethostname()
    return ",".join([*rest, f"{INSTANCE_ID}={base}/worker-{index}"])


def worker_index() -> int | None:
    """This process's worker number under ``--workers`` (None when it is not a worker)."""
    value = os.environ.get(WORKER_ENV)
    return int(value) if value and value.isdigit() else None
