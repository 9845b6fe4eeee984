"""A fault run: sessions keep calling while the sandbox misbehaves, phase after phase.

The sandbox runs in this process (:class:`jiraplug.sandbox.SandboxServer` on a fixed
loopback port), so its knobs change between phases and its listener can be stopped and
started again on the same port while its store (the Jira data) lives on: a Jira restart
that loses nothing. The server under test is a real ``jiraplug serve --transport http``
process; the sessions are real MCP clients over streamable HTTP, several users each with
their own ``X-Jira-Authorization``.

Checked at the end (:class:`FaultReport`): no protocol errors or hangs; every tool error is
a clear message (no traceback, no internal path, no credential); the writes in the sandbox
match what the calls reported (:mod:`loadkit.ledger`); and calls succeed again once the
faults stop.
"""

from __future__ import annotations

import re
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio

from loadkit import driver, ledger, mix, stack
from peerbench import procs

# The server's settings for a fault run: short enough waits that a phase sees retries,
# breaker openings and recoveries within seconds, long enough timeouts that slow answers succeed.
SERVER_SETTINGS = {
    "JIRA_TIMEOUT": "10",
    "JIRAPLUG_RATELIMIT__BREAKER_COOLDOWN_SECONDS": "2",
    "JIRAPLUG_RATELIMIT__MAX_RETRY_SECONDS": "8",
    "JIRAPLUG_RATELIMIT__MAX_RETRY_AFTER_SECONDS": "5",
    "JIRAPLUG_RATELIMIT__BACKOFF_BASE_SECONDS": "0.2",
    "JIRAPLUG_RATELIMIT__BACKOFF_MAX_SECONDS": "2",
}

# Signs that a tool error shows internals instead of saying what happened.
UNCLEAR = re.compile(r"Traceback|File \"|site-packages|\.py\b|/work/|/home/|/root/")
# The SDK prefixes every tool error with this; an unexpected exception leaves nothing after it.
SDK_PREFIX = re.compile(r"^Error executing tool [\w.-]+(: )?")


def is_clear(text: str) -> bool:
    """Whether a tool error says something a person can act on, without internals."""
    message = SDK_PREFIX.sub("", text, count=1)
    return len(message) >= 15 and not UNCLEAR.search(text)


@dataclass(frozen=True)
class Phase:
    """``seconds`` of calls under ``knobs`` (a dict of :class:`~jiraplug.sandbox.Knobs` values);
    ``restart`` stops the sandbox's listener for ``down_seconds`` at the start of the phase."""

    name: str
    seconds: float
    knobs: dict[str, float] = field(default_factory=dict)
    restart: bool = False
    down_seconds: float = 1.0


def default_phases(seconds: float) -> list[Phase]:
    """Baseline, 5xx, a 429 storm, slow bodies, dropped connections, a restart, then recovery."""
    return [
        Phase("baseline", seconds),
        Phase("5xx", seconds, {"error_rate": 0.3}),
        Phase("429 storm", seconds, {"rate_limit_rps": 5, "rate_limit_burst": 5}),
        Phase("slow bodies", seconds, {"slow_body_ms": 400, "latency_ms": 30}),
        Phase("dropped connections", seconds, {"drop_rate": 0.2}),
        Phase("restart", seconds, restart=True, down_seconds=min(2.0, seconds / 2)),
        Phase("recovery", seconds * 1.5),
    ]


@dataclass
class FaultReport:
    """What a fault run found; :attr:`passed` is the verdict."""

    tally: driver.Tally
    by_phase: dict[str, Counter[str]]
    verdict: ledger.Verdict
    unclear_errors: list[str]
    leaked_secret: bool
    recovered: bool
    restarts: int
    seconds: float
    probe: dict[str, str]

    @property
    def passed(self) -> bool:
        return (self.tally.protocol_errors == 0 and self.verdict.consistent and not self.unclear_errors
                and not self.leaked_secret and self.recovered)

    def problems(self) -> list[str]:
        found = []
        if self.tally.protocol_errors:
            found.append(f"{self.tally.protocol_errors} protocol errors or hangs")
        if not self.verdict.consistent:
            found.append(f"writes do not match the sandbox: {self.verdict.as_dict()}")
        if self.unclear_errors:
            found.append(f"unclear tool errors: {self.unclear_errors[:3]}")
        if self.leaked_secret:
            found.append("a credential appeared in a tool error")
        if not self.recovered:
            found.append(f"calls did not succeed again after the faults stopped: {self.probe}")
        return found

    def as_dict(self) -> dict[str, Any]:
        return {
            "passed": self.passed, "problems": self.problems(), "seconds": round(self.seconds, 1),
            "calls": self.tally.calls, "by_status": dict(self.tally.by_status),
            "protocol_errors": self.tally.protocol_errors,
            "sessions": {"opened": self.tally.sessions_opened, "failed": self.tally.session_failures,
                         "closed_uncleanly": self.tally.close_failures},
            "by_phase": {name: dict(counts) for name, counts in self.by_phase.items()},
            "writes": self.verdict.as_dict(), "restarts": self.restarts, "recovery_probe": self.probe,
            "error_samples": dict(self.tally.errors.most_common(15)),
        }


class FaultRun:
    """Owns the in-process sandbox and the server process of one fault run."""

    def __init__(self, work: Path, group: procs.ProcessGroup, *, seed: int = 1,
                 settings: dict[str, str] | None = None, log: Callable[[str], None] = lambda _: None) -> None:
        from jiraplug.sandbox import SandboxServer

        self.log = log
        self.sandbox = SandboxServer(flavour="cloud", seed=seed, port=procs.free_port())
        self.sandbox.start()
        env = stack.server_env(work, self.sandbox.url, {**SERVER_SETTINGS, **(settings or {})})
        self.server = stack.start_server(group, work, env)
        users = self.sandbox.users
        self.secrets = [u.api_token for u in users] + [u.personal_token for u in users]
        self.actors = mix.actors_for(users, [issue.key for issue in self.sandbox.state.issues], "cloud")
        self.restarts = 0
        self.restarted_at: float | None = None  # time.monotonic() when the listener was back

    def close(self) -> None:
        self.sandbox.stop()

    def set_knobs(self, values: dict[str, float]) -> None:
        from jiraplug.sandbox import Knobs

        self.sandbox.set_knobs(Knobs().replace(values))

    def restart_sandbox(self, down_seconds: float) -> None:
        """Stop the listener, stay down, listen again on the same port (the store is kept)."""
        self.sandbox.stop()
        time.sleep(down_seconds)
        for attempt in range(20):  # the port was ours a moment ago; give the kernel a moment if needed
            try:
                self.sandbox.start()
                break
            except OSError:
                if attempt == 19:
                    raise
                time.sleep(0.1)
        self.restarts += 1
        self.restarted_at = time.monotonic()

    async def run(self, phases: Sequence[Phase], *, sessions: int, seed: int = 1, call_timeout: float = 60.0,
                  mix_weights: dict[str, float] | None = None) -> FaultReport:
        """Play ``phases`` with ``sessions`` concurrent sessions; check everything afterwards."""
        prefix = f"ft{int(time.time() * 1000) % 10**9}"
        book = ledger.Ledger(prefix)
        planner = mix.Planner(mix_weights or {"get_issue": 30, "search": 15, "transitions": 10, "comment": 25,
                                              "worklog": 15, "create": 5}, seed=seed, prefix=prefix)
        by_phase: dict[str, Counter[str]] = {p.name: Counter() for p in phases}
        unclear: list[str] = []
        leaked = [False]

        def on_outcome(outcome: driver.Outcome) -> None:
            by_phase[current_at(outcome.started)][outcome.status] += 1
            book.record(outcome)
            if outcome.status == "tool_error":
                text = outcome.detail or ""
                if not is_clear(text):
                    unclear.append(text[:200])
                if any(secret in text for secret in self.secrets):
                    leaked[0] = True

        starts: list[tuple[float, str]] = []

        def current_at(moment: float) -> str:
            name = phases[0].name
            for start, phase_name in starts:
                if moment >= start:
                    name = phase_name
            return name

        total = sum(p.seconds for p in phases)
        run = driver.Run(self.server.mcp_url, self.actors, planner, sessions=sessions, duration=total + 3600,
                         call_timeout=call_timeout, open_timeout=60, on_outcome=on_outcome)

        async def conduct() -> None:
            while not run.started_at:
                await anyio.sleep(0.05)
            for phase in phases:
                starts.append((time.monotonic(), phase.name))
                self.log(f"phase {phase.name}: {phase.knobs or ('restart' if phase.restart else 'no faults')}")
                phase_end = time.monotonic() + phase.seconds
                self.set_knobs(phase.knobs)
                if phase.restart:
                    await anyio.to_thread.run_sync(self.restart_sandbox, phase.down_seconds)
                await anyio.sleep(max(0.0, phase_end - time.monotonic()))
                counts = by_phase[phase.name]
                self.log(f"  {phase.name}: " + ", ".join(f"{k} {v}" for k, v in sorted(counts.items())))
            self.set_knobs({})
            run.stop.set()

        started = time.monotonic()
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(conduct)
            await run.play()
            tasks.cancel_scope.cancel()
        self.set_knobs({})
        probe = await self._probe()
        verdict = book.verify(book.markers_in(ledger.sandbox_texts(self.sandbox.state)))
        recovered = all(status == "ok" for status in probe.values()) and by_phase[phases[-1].name]["ok"] > 0
        return FaultReport(run.tally, by_phase, verdict, unclear, leaked[0], recovered, self.restarts,
                           time.monotonic() - started, probe)

    async def _probe(self, attempts: int = 10) -> dict[str, str]:
        """One fresh session per user, one read each, once the faults are off (the breaker may
        still be cooling down: a few tries, one second apart)."""
        planner = mix.Planner({"get_issue": 1}, prefix="probe")
        results: dict[str, str] = {}
        for actor in self.actors:
            for _ in range(attempts):
                run = driver.Run(self.server.mcp_url, [actor], planner, sessions=1, duration=30, max_calls=1,
                                 call_timeout=30, open_timeout=30)
                outcome: list[driver.Outcome] = []
                run.on_outcome = outcome.append
                await run.play()
                results[actor.name] = outcome[0].status if outcome else "no call"
                if results[actor.name] == "ok":
                    break
                await anyio.sleep(1.0)
        return results
