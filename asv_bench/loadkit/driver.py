"""Concurrent MCP sessions over streamable HTTP playing a :class:`~loadkit.mix.Planner`.

Every session is a real ``mcp.Client`` over its own ``httpx2.AsyncClient`` (its own
connections, its user's ``X-Jira-Authorization`` header), as separate people's assistants
would be. Each call ends in exactly one of:

- ``ok``: a result without ``isError``;
- ``tool_error``: a result with ``isError`` (the server answered, and said what went wrong);
- ``protocol_error``: the call raised (JSON-RPC error, HTTP error, broken stream...);
- ``timeout``: no answer within ``call_timeout`` (a hang, as far as a user can tell).

Sessions that cannot open count as protocol errors too. The run stops by itself at the
deadline, after ``max_calls`` calls, or when ``stop`` is set; nothing waits unbounded.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
import anyio
import httpx2
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from loadkit.mix import Actor, Call, Planner

STATUSES = ("ok", "tool_error", "protocol_error", "timeout")
OPENING_AT_ONCE = 32  # sessions opened concurrently during ramp-up (the rest wait their turn)


@dataclass(frozen=True)
class Outcome:
    """What happened to one call."""

    call: Call
    status: str
    seconds: float
    started: float  # time.monotonic() when it was sent
    detail: str | None = None  # the tool error text or the exception, shortened


@dataclass
class Tally:
    """Running totals of a run (kept small: latencies as floats, error texts as counted samples)."""

    by_status: Counter[str] = field(default_factory=Counter)
    by_kind: dict[str, Counter[str]] = field(default_factory=dict)
    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter[str] = field(default_factory=Counter)
    sessions_opened: int = 0
    session_failures: int = 0
    close_failures: int = 0  # a session that worked but did not close cleanly (reported, not a call error)
    in_flight: int = 0
    last_end: float = 0.0  # time.monotonic() when the latest call ended

    @property
    def calls(self) -> int:
        return sum(self.by_status.values())

    @property
    def protocol_errors(self) -> int:
        """Calls and session openings that failed below the tool level (the figure that must be 0)."""
        return self.by_status["protocol_error"] + self.by_status["timeout"] + self.session_failures

    def merge(self, other: Tally) -> None:
        """Add another tally's counts and latencies (a worker process's) to this one."""
        self.by_status.update(other.by_status)
        for kind, counts in other.by_kind.items():
            self.by_kind.setdefault(kind, Counter()).update(counts)
        for kind, values in other.latencies.items():
            self.latencies.setdefault(kind, []).extend(values)
        self.errors.update(other.errors)
        self.sessions_opened += other.sessions_opened
        self.session_failures += other.session_failures
        self.close_failures += other.close_failures
        self.in_flight += other.in_flight
        self.last_end = max(self.last_end, other.last_end)

    def add(self, outcome: Outcome) -> None:
        kind = outcome.call.kind
        self.by_status[outcome.status] += 1
        self.by_kind.setdefault(kind, Counter())[outcome.status] += 1
        self.latencies.setdefault(kind, []).append(outcome.seconds)
        self.last_end = max(self.last_end, outcome.started + outcome.seconds)
        if outcome.detail is not None:
            self.errors[f"{outcome.status}: {_fold(outcome.detail)}"] += 1


def _fold(text: str) -> str:
    """An error text with issue keys, numbers and markers folded, so like errors count together."""
    text = re.sub(r"\b[A-Z][A-Z0-9]+-\d+\b", "KEY", text)
    text = re.sub(r"\b\d[\d:.]*\b", "N", text)
    return " ".join(text.split())[:160]


async def call_once(client: Client, call: Call, timeout: float) -> Outcome:
    """Make one call; every outcome is recorded, never raised."""
    started = time.monotonic()
    status, detail = "ok", None
    try:
        with anyio.fail_after(timeout):
            result = await client.call_tool(call.tool, call.arguments)
        if result.is_error:
            status = "tool_error"
            detail = result.content[0].text if result.content and hasattr(result.content[0], "text") else "isError"
    except TimeoutError:
        status, detail = "timeout", f"no answer within {timeout:g} s"
    except Exception as exc:  # noqa: BLE001 - a protocol-level failure of this call
        status, detail = "protocol_error", f"{type(exc).__name__}: {exc}"
    return Outcome(call, status, time.monotonic() - started, started, detail and detail[:300])


@dataclass
class Run:
    """One load: ``sessions`` concurrent sessions spread over ``actors`` (round robin)."""

    url: str
    actors: Sequence[Actor]
    planner: Planner
    sessions: int
    duration: float
    max_calls: int | None = None
    call_timeout: float = 30.0
    open_timeout: float = 60.0
    think_seconds: float = 0.0  # pause between one session's calls (0: back to back)
    on_outcome: Callable[[Outcome], None] | None = None
    progress: Callable[[Tally, float], None] | None = None
    gate: Callable[[Tally], Awaitable[None]] | None = None  # awaited once every session is open
    should_stop: Callable[[], bool] | None = None  # polled every second
    tally: Tally = field(default_factory=Tally)
    stop: anyio.Event = field(default_factory=anyio.Event)
    started_at: float = 0.0
    seconds: float = 0.0
    _issued: int = 0
    _running: int = 0  # sessions started and not yet ended

    def _may_issue(self, deadline: float) -> bool:
        if self.stop.is_set() or time.monotonic() >= deadline:
            return False
        if self.max_calls is not None and self._issued >= self.max_calls:
            return False
        self._issued += 1
        return True

    async def _session(self, index: int, opening: anyio.Semaphore, ready: anyio.Event,
                       deadlines: list[float]) -> None:
        actor = self.actors[index % len(self.actors)]
        tally = self.tally
        opened = False
        self._running += 1
        try:
            async with AsyncExitStack() as stack:
                async with opening:
                    http = await stack.enter_async_context(httpx2.AsyncClient(
                        headers=actor.headers(), trust_env=False,
                        timeout=httpx2.Timeout(self.call_timeout, connect=10.0)))
                    # No cancel scope around entering the client: its task group must be left in the
                    # scope it was entered in. The HTTP timeouts bound the initialisation instead.
                    client = await stack.enter_async_context(
                        Client(streamable_http_client(self.url, http_client=http), cache=None))
                opened = True
                tally.sessions_opened += 1
                await ready.wait()
                while self._may_issue(deadlines[0]):
                    call = self.planner.next(actor)
                    tally.in_flight += 1
                    outcome = await call_once(client, call, self.call_timeout)
                    tally.in_flight -= 1
                    tally.add(outcome)
                    if self.on_outcome is not None:
                        self.on_outcome(outcome)
                    if self.think_seconds:
                        await anyio.sleep(self.think_seconds)
        except Exception as exc:  # noqa: BLE001 - counted; a session is not reopened
            where = "session close" if opened else "session"
            if opened:
                tally.close_failures += 1
            else:
                tally.session_failures += 1
            tally.errors[f"{where}: {type(exc).__name__}: {_fold(str(exc))}"] += 1
        finally:
            self._running -= 1

    async def play(self) -> Tally:
        """Open the sessions, run until a stop condition, close everything; the totals."""
        opening = anyio.Semaphore(OPENING_AT_ONCE)
        ready = anyio.Event()
        deadlines = [float("inf")]
        hard_stop = self.open_timeout + self.duration + self.call_timeout + 30
        with anyio.move_on_after(hard_stop):
            async with anyio.create_task_group() as tasks:
                for index in range(self.sessions):
                    tasks.start_soon(self._session, index, opening, ready, deadlines)
                ramp_deadline = time.monotonic() + self.open_timeout
                while (self.tally.sessions_opened + self.tally.session_failures < self.sessions
                       and time.monotonic() < ramp_deadline):
                    await anyio.sleep(0.05)
                if self.gate is not None:
                    await self.gate(self.tally)
                self.started_at = time.monotonic()
                deadlines[0] = self.started_at + self.duration
                ready.set()
                reported = self.started_at
                while True:
                    with anyio.move_on_after(0.1):  # checks often; reports once a second
                        await self.stop.wait()
                    now = time.monotonic()
                    if self.progress is not None and now - reported >= 1.0:
                        reported = now
                        self.progress(self.tally, now - self.started_at)
                    if self.should_stop is not None and self.should_stop():
                        self.stop.set()
                    if self._running == 0:  # every session has ended (e.g. failed): nothing left to wait for
                        break
                    if self.stop.is_set() or now >= deadlines[0] or (
                            self.max_calls is not None and self.tally.calls >= self.max_calls):
                        break
                deadlines[0] = 0.0  # sessions finish their current call and leave
        # Up to the end of the last call: closing the sessions afterwards is not load.
        self.seconds = (self.tally.last_end or time.monotonic()) - self.started_at
        return self.tally
