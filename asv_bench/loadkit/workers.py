"""Spread a run's sessions over several client processes.

One Python process cannot drive hundreds of MCP sessions flat out: the client side (the
SDK's session machinery, JSON, SSE parsing) costs more CPU per call than the server does,
so a single driver process would measure itself. Each worker process runs a
:class:`~loadkit.driver.Run` with its share of the sessions; all open their sessions first,
then start together, and report their totals every second and at the end.
"""

from __future__ import annotations

import multiprocessing as mp
import queue
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from loadkit.driver import Run, Tally
from loadkit.mix import Actor, Planner


@dataclass(frozen=True)
class Plan:
    """Everything a worker needs (picklable)."""

    url: str
    actors: Sequence[Actor]
    mix: dict[str, float]
    seed: int
    prefix: str
    sessions: int
    duration: float
    max_calls: int | None
    call_timeout: float
    open_timeout: float
    think_seconds: float


def _share(total: int, parts: int, index: int) -> int:
    return total // parts + (1 if index < total % parts else 0)


def _worker(plan: Plan, index: int, workers: int, out: Any, go: Any, stop: Any) -> None:
    import logging

    import anyio

    logging.basicConfig(level=logging.CRITICAL)  # failed calls are counted, not logged
    actors = list(plan.actors)
    # Rotate so that worker i's first session is actor i: users stay evenly spread overall.
    shift = sum(_share(plan.sessions, workers, j) for j in range(index)) % len(actors)
    run = Run(plan.url, actors[shift:] + actors[:shift], Planner(plan.mix, seed=plan.seed + index,
                                                                   prefix=f"{plan.prefix}w{index}"),
              sessions=_share(plan.sessions, workers, index), duration=plan.duration,
              max_calls=None if plan.max_calls is None else _share(plan.max_calls, workers, index),
              call_timeout=plan.call_timeout, open_timeout=plan.open_timeout, think_seconds=plan.think_seconds)

    async def gate(tally: Tally) -> None:
        out.put(("ready", index, tally))
        while not go.is_set() and not stop.is_set():
            await anyio.sleep(0.02)

    run.gate = gate
    run.should_stop = stop.is_set
    run.progress = lambda tally, elapsed: out.put(("tick", index, _counts(tally)))
    anyio.run(run.play)
    out.put(("done", index, run.tally))


def _counts(tally: Tally) -> Tally:
    """A tally without latencies (ticks are frequent; latencies travel once, at the end)."""
    light = Tally(by_status=tally.by_status.copy(), errors=tally.errors.copy(),
                  sessions_opened=tally.sessions_opened, session_failures=tally.session_failures,
                  close_failures=tally.close_failures, in_flight=tally.in_flight, last_end=tally.last_end)
    return light


def run_workers(plan: Plan, workers: int, progress: Callable[[Tally, float], None]) -> tuple[Tally, float]:
    """Run ``plan`` over ``workers`` processes; the merged tally and the seconds of load."""
    ctx = mp.get_context("spawn")  # a clean interpreter: no inherited event loop or threads
    out = ctx.Queue()
    go, stop = ctx.Event(), ctx.Event()
    procs = [ctx.Process(target=_worker, args=(plan, i, workers, out, go, stop), daemon=True,
                         name=f"loadtest-worker-{i}") for i in range(workers)]
    for proc in procs:
        proc.start()
    latest: dict[int, Tally] = {}
    final: dict[int, Tally] = {}
    started = 0.0
    hard_deadline = time.monotonic() + plan.open_timeout + plan.duration + plan.call_timeout + 60
    try:
        ready = 0
        while ready < workers:
            kind, index, tally = _get(out, hard_deadline, procs)
            if kind == "ready":
                ready += 1
                latest[index] = tally
                progress(_merged(latest), 0.0)
        go.set()
        started = time.monotonic()
        last_report = started
        while len(final) < workers:
            try:
                kind, index, tally = _get(out, hard_deadline, procs, poll=0.25)
            except queue.Empty:
                kind = None
            if kind == "tick":
                latest[index] = tally
            elif kind == "done":
                final[index] = latest[index] = tally
            if time.monotonic() - last_report >= 1.0:
                last_report = time.monotonic()
                progress(_merged(latest), last_report - started)
    finally:
        stop.set()
        for proc in procs:
            proc.join(10)
            if proc.is_alive():
                proc.terminate()
                proc.join(5)
    merged = _merged(final)
    return merged, (merged.last_end or time.monotonic()) - started


def _merged(parts: dict[int, Tally]) -> Tally:
    total = Tally()
    for part in parts.values():
        total.merge(part)
    return total


def _get(out: Any, deadline: float, procs: list[Any], poll: float = 1.0) -> tuple[str, int, Tally]:
    """The next worker message; raises when the run overstays or a worker died without reporting."""
    while True:
        if time.monotonic() > deadline:
            raise RuntimeError("the load run did not finish in time: worker processes stopped")
        try:
            return out.get(timeout=poll)
        except queue.Empty:
            dead = [p for p in procs if p.exitcode not in (None, 0)]
            if dead:
                raise RuntimeError(f"worker {dead[0].name} exited with status {dead[0].exitcode}") from None
            if poll < 1.0:
                raise
