#!/usr/bin/env python
"""Server CPU per tool call, cached and uncached, side by side (and 1 worker vs --workers N).

    python asv_bench/cpu_per_call.py                         # 300 calls per case, Jira answering in 50 ms
    python asv_bench/cpu_per_call.py --workers 2 --clients 8 # the same through 2 worker processes
    python asv_bench/cpu_per_call.py --profile .tools/prof   # plus a pyinstrument profile of each server
    python asv_bench/cpu_per_call.py --baseline-python /tmp/base-venv/bin/python  # this tree against another
    python asv_bench/cpu_per_call.py --baseline-env JIRAPLUG_SERVER__EVENT_LOOP=asyncio  # a setting against its default

Starts ``jiraplug sandbox`` (the Jira emulator, in its own process so its CPU is not counted)
and ``jiraplug serve --transport http`` on 127.0.0.1: one server with every plugin on, one
with the cache off. MCP clients (``mcp.Client``, ``cache=None``, in this process) then call
``jira_get_issue`` and ``jira_search`` back to back: "cached" repeats one warm call against the
first server, "uncached" makes the same calls against the second (every call goes to Jira).
CPU is the user + system time of the server's processes (the supervisor and its workers)
during the calls, divided by the calls; also printed: calls/s and p50 latency. Client,
server and emulator share the machine, so compare the rows of one run (ratios), not runs.

``--baseline-python`` measures a change on a noisy machine: beside each server, a second one runs
from that interpreter's installed jiraplug (say, a venv with the commit before the change), and
one session per server calls them in turn, ``--block`` calls at a time, so both see the same
moments of the machine. Each block's CPU is counted for its own server only.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import statistics
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from loadkit import stack  # noqa: E402
from peerbench import procs  # noqa: E402

CASES = {  # name -> (tool, arguments, cache on)
    "get_issue cached": ("jira_get_issue", {"issue_key": "PLAT-1"}, True),
    "get_issue uncached": ("jira_get_issue", {"issue_key": "PLAT-1"}, False),
    "search cached": ("jira_search", {"jql": "project = PLAT ORDER BY key", "limit": 10}, True),
    "search uncached": ("jira_search", {"jql": "project = PLAT ORDER BY key", "limit": 10}, False),
}


def log(text: str) -> None:
    print(f"cpu_per_call: {text}", file=sys.stderr, flush=True)


def server_cpu(pid: int) -> float:
    """CPU seconds of the server process and its children (the workers)."""
    import psutil

    root = psutil.Process(pid)
    total = 0.0
    for proc in [root, *root.children(recursive=True)]:
        try:
            times = proc.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += times.user + times.system
    return total


@contextlib.asynccontextmanager
async def session(url: str, auth: str) -> AsyncIterator[Any]:
    """One MCP client session over streamable HTTP as the caller ``auth``, with no client-side cache."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async with httpx2.AsyncClient(headers={"X-Jira-Authorization": auth}, timeout=60, trust_env=False) as http:
        async with Client(streamable_http_client(url, http_client=http), cache=None) as client:
            yield client


async def timed_calls(client: Any, tool: str, arguments: dict[str, Any], calls: int, latencies: list[float]) -> None:
    """``calls`` calls of ``tool`` back to back, each one's latency appended; a tool error stops the run."""
    for _ in range(calls):
        started = time.perf_counter()
        result = await client.call_tool(tool, arguments)
        latencies.append(time.perf_counter() - started)
        if result.is_error:
            raise RuntimeError(f"{tool} failed: {result.content[0].text}")


async def drive(url: str, auth: str, tool: str, arguments: dict[str, Any], calls: int, clients: int) -> list[float]:
    """``calls`` calls from ``clients`` sessions back to back; the latency of each, in seconds."""
    import anyio

    latencies: list[float] = []

    async def one_client() -> None:
        async with session(url, auth) as client:
            await client.list_tools()
            await timed_calls(client, tool, arguments, max(1, calls // clients), latencies)

    async with anyio.create_task_group() as tasks:
        for _ in range(clients):
            tasks.start_soon(one_client)
    return latencies


async def alternate(urls: list[str], auth: str, tool: str, arguments: dict[str, Any], calls: int, block: int,
                    pids: list[int]) -> list[tuple[list[float], float]]:
    """``calls`` sequential calls to each of ``urls`` in turn, ``block`` at a time, one session each.

    Returns, per server, the latency of each call and the server CPU seconds of its blocks.
    """
    async with contextlib.AsyncExitStack() as sessions:
        clients = [await sessions.enter_async_context(session(url, auth)) for url in urls]
        for client in clients:
            await timed_calls(client, tool, arguments, 20, [])  # warm up: imports, the field list, connections
        latencies: list[list[float]] = [[] for _ in urls]
        cpu = [0.0 for _ in urls]
        for _ in range(max(1, calls // block)):
            for index, (client, pid) in enumerate(zip(clients, pids)):
                before = server_cpu(pid)
                await timed_calls(client, tool, arguments, block, latencies[index])
                cpu[index] += server_cpu(pid) - before
    return list(zip(latencies, cpu))


def _drive_in_process(job: tuple[str, str, str, dict[str, Any], int, int]) -> list[float]:
    import anyio

    return anyio.run(drive, *job)


def measure(server: stack.ServerProcess, auth: str, tool: str, arguments: dict[str, Any], calls: int,
            clients: int, processes: int = 1) -> dict[str, float]:
    """Warm up, then ``calls`` calls from ``clients`` sessions spread over ``processes`` client processes."""
    import multiprocessing

    import anyio

    anyio.run(drive, server.mcp_url, auth, tool, arguments, max(clients * 5, 20), clients)  # warm up
    job = (server.mcp_url, auth, tool, arguments, calls // processes, max(1, clients // processes))
    if processes == 1:
        before = server_cpu(server.pid)
        started = time.perf_counter()
        latencies = _drive_in_process(job)
        seconds = time.perf_counter() - started
    else:
        with multiprocessing.get_context("spawn").Pool(processes) as pool:
            pool.map(_drive_in_process, [(server.mcp_url, auth, tool, arguments, 2, 1)] * processes)  # start-up
            before = server_cpu(server.pid)
            started = time.perf_counter()
            latencies = [s for part in pool.map(_drive_in_process, [job] * processes) for s in part]
            seconds = time.perf_counter() - started
    cpu = server_cpu(server.pid) - before
    return {"calls": len(latencies), "calls_per_second": round(len(latencies) / seconds, 1),
            "p50_ms": round(statistics.median(latencies) * 1000, 2),
            "cpu_ms_per_call": round(cpu / len(latencies) * 1000, 3)}


def measure_pair(server: stack.ServerProcess, baseline: stack.ServerProcess, auth: str, case: str, calls: int,
                 block: int) -> dict[str, dict[str, float]]:
    """One case against this tree's server and the baseline's, in turns: a row each, and their ratio."""
    import anyio

    tool, arguments, _ = CASES[case]
    measured = anyio.run(alternate, [server.mcp_url, baseline.mcp_url], auth, tool, arguments, calls, block,
                         [server.pid, baseline.pid])
    rows = {}
    for name, (latencies, cpu) in zip((case, f"{case} (baseline)"), measured):
        rows[name] = {"calls": len(latencies), "p50_ms": round(statistics.median(latencies) * 1000, 2),
                      "calls_per_second": round(len(latencies) / sum(latencies), 1),
                      "cpu_ms_per_call": round(cpu / len(latencies) * 1000, 3)}
        log(f"{name}: {rows[name]}")
    ours, theirs = rows[case]["cpu_ms_per_call"], rows[f"{case} (baseline)"]["cpu_ms_per_call"]
    log(f"{case}: CPU per call {ours} ms against the baseline's {theirs} ms ({ours / theirs:.2f}x)")
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="cpu_per_call.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=300, help="calls per case")
    parser.add_argument("--clients", type=int, default=1, help="concurrent MCP sessions per case")
    parser.add_argument("--client-processes", type=int, default=1,
                        help="processes the sessions are spread over (one Python client cannot drive two workers)")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency the emulator adds to each answer")
    parser.add_argument("--workers", type=int, default=1, help="jiraplug serve --workers")
    parser.add_argument("--cases", default=",".join(CASES), help="which cases, comma-separated")
    parser.add_argument("--profile", type=Path, help="profile each server; reports here")
    parser.add_argument("--profile-format", choices=["html", "cpu"], default="html",
                        help="html: pyinstrument's flame graph (wall time); cpu: cProfile on the process's CPU "
                             "clock (exact on a busy machine), a .pstats file")
    parser.add_argument("--server-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the servers (repeatable), e.g. JIRAPLUG_DISABLE_PLUGINS=ratelimit")
    parser.add_argument("--baseline-python", type=Path, metavar="PYTHON",
                        help="also run each case against jiraplug installed for this interpreter, in turns")
    parser.add_argument("--baseline-env", action="append", default=[], metavar="NAME=VALUE",
                        help="also run each case against a server with this extra environment, in turns (repeatable)")
    parser.add_argument("--block", type=int, default=25, help="with a baseline: calls per turn")
    parser.add_argument("--output", type=Path, help="JSON results")
    args = parser.parse_args(argv)
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    unknown = [c for c in cases if c not in CASES]
    if unknown:
        parser.error(f"unknown case(s) {unknown}; known: {', '.join(CASES)}")
    paired = bool(args.baseline_python or args.baseline_env)
    if paired and (args.clients > 1 or args.client_processes > 1 or args.workers > 1 or args.profile):
        parser.error("a baseline is measured with one session per server: leave out --clients, --client-processes, "
                     "--workers and --profile")

    from jiraplug.sandbox.data import generate

    from loadkit import mix

    actor = mix.actors_for(generate(1).users, ["PLAT-1"], "cloud")[0]
    work = HERE.parent / ".tools" / "cpu" / time.strftime("%Y%m%d-%H%M%S")
    work.mkdir(parents=True, exist_ok=True)
    results: dict[str, Any] = {}
    with procs.ProcessGroup() as group:
        sandbox = stack.start_sandbox(group, work, seed=1, latency_ms=args.latency_ms)
        for cache_on in (True, False):
            wanted = [c for c in cases if CASES[c][2] == cache_on]
            if not wanted:
                continue
            extra_env = dict(item.split("=", 1) for item in args.server_env)
            if not cache_on:
                disabled = [p for p in extra_env.get("JIRAPLUG_DISABLE_PLUGINS", "").split(",") if p]
                extra_env["JIRAPLUG_DISABLE_PLUGINS"] = ",".join([*disabled, "cache"])
            env = stack.server_env(work, sandbox.url, extra_env)
            extra = ["--workers", str(args.workers)] if args.workers > 1 else []
            name = f"server-cache-{'on' if cache_on else 'off'}.{args.profile_format}"
            profile = args.profile / name if args.profile else None
            server = start(group, work, env, extra, profile)
            if paired:
                (work / "baseline").mkdir(exist_ok=True)
                python = str(args.baseline_python or sys.executable)
                baseline_env = {**env, **dict(item.split("=", 1) for item in args.baseline_env)}
                baseline = stack.start_server(group, work / "baseline", baseline_env,
                                              runner=[python, "-m", "jiraplug"])
                for case in wanted:
                    results.update(measure_pair(server, baseline, actor.authorization, case, args.calls, args.block))
                group.stop(baseline.process)
            else:
                for case in wanted:
                    tool, arguments, _ = CASES[case]
                    results[case] = measure(server, actor.authorization, tool, arguments, args.calls, args.clients,
                                            args.client_processes)
                    log(f"{case}: {results[case]}")
            group.stop(server.process)
    base = results.get("get_issue cached", {}).get("cpu_ms_per_call")
    print(f"{'case':<20} {'calls/s':>8} {'p50 ms':>8} {'CPU ms/call':>12} {'x cached get':>13}")
    for case, row in results.items():
        ratio = f"{row['cpu_ms_per_call'] / base:.2f}" if base else "-"
        print(f"{case:<20} {row['calls_per_second']:>8} {row['p50_ms']:>8} {row['cpu_ms_per_call']:>12} {ratio:>13}")
    if args.output:
        args.output.write_text(json.dumps({"args": {k: str(v) for k, v in vars(args).items()},
                                           "results": results}, indent=2) + "\n")
    return 0


def start(group: procs.ProcessGroup, work: Path, env: dict[str, str], extra: list[str],
          profile: Path | None) -> stack.ServerProcess:
    """``jiraplug serve --transport http`` (under a profiler when ``profile`` is set)."""
    if profile is None:
        return stack.start_server(group, work, env, extra_args=extra)
    profile.parent.mkdir(parents=True, exist_ok=True)
    if profile.suffix == ".cpu":
        profile = profile.with_suffix(".pstats")
        runner = [sys.executable, "-c", CPU_PROFILED.format(out=str(profile))]
    else:
        runner = [sys.executable, "-m", "pyinstrument", "--renderer", "html", "--outfile", str(profile),
                  "-m", "jiraplug"]
    return stack.start_server(group, work, env, extra_args=extra, runner=runner)


# ``python -c`` body: jiraplug's CLI under cProfile timed by the CPU clock (time spent waiting for
# Jira or for the machine's other processes does not count); stats written when the server stops.
CPU_PROFILED = """
import cProfile, sys, time
from jiraplug.cli import main
profiler = cProfile.Profile(time.process_time)
sys.argv[0] = "jiraplug"
try:
    profiler.enable()
    code = main(sys.argv[1:])
finally:
    profiler.disable()
    profiler.dump_stats({out!r})
sys.exit(code)
"""


if __name__ == "__main__":
    sys.exit(main())
