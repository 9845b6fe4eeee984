#!/usr/bin/env python
"""Load run: hundreds of concurrent MCP sessions against one shared jiraplug HTTP server.

    python asv_bench/loadtest.py                               # 500 sessions for 60 s
    python asv_bench/loadtest.py --calls 100000                # until 100,000 calls: RSS at start, middle, end
    python asv_bench/loadtest.py --sessions 50 --duration 10   # a quick look

Starts ``jiraplug sandbox`` (the Jira emulator) and ``jiraplug serve --transport http`` on
127.0.0.1, the server with no Jira credential of its own: every session brings its user's
in ``X-Jira-Authorization`` (several sandbox users, a restricted one among them). N sessions
(each a real ``mcp.Client`` over streamable HTTP, with its own HTTP connections) play a mixed
workload of reads and writes (get issue, search, transitions, add comment, add worklog)
until the duration or the call count is reached. Reported: calls/s, latency p50/p95/p99,
ok / tool errors / protocol errors, the server's RSS (peak, and start/middle/end in
``--calls`` mode). Progress goes to stderr every second, results to stdout and ``--output``
(JSON). Exit status 1 when any protocol error occurred. Every process is stopped on exit,
on error, on Ctrl-C and on SIGTERM.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from loadkit import driver, mix, stack, workers  # noqa: E402
from peerbench import procs, report  # noqa: E402

WORK_DIR = ROOT / ".tools" / "load"  # gitignored with the rest of .tools
MIB = 1024 * 1024

# What the run changes from the defaults (see docs/operations.md): the sandbox is not throttled
# client-side, and enough connections toward Jira stay open. The tool-call slots and queue keep
# their defaults: admission by expected wait queues every session's call without a "busy" error.
SERVER_SETTINGS = {
    "JIRAPLUG_POOL__MAX_CONNECTIONS": "128",
    "JIRAPLUG_POOL__MAX_KEEPALIVE_CONNECTIONS": "128",
    # The sandbox (uvicorn) closes idle connections after 5 s; reusing one as it closes makes a
    # write's outcome unknown ("may have been applied"), so idle connections are dropped first.
    "JIRAPLUG_POOL__KEEPALIVE_EXPIRY_SECONDS": "4",
    "JIRAPLUG_RATELIMIT__RATE_LIMIT_REQUESTS_PER_SECOND": "0",
}


def log(message: str) -> None:
    print(f"loadtest: {message}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="loadtest.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sessions", type=int, default=500, help="concurrent MCP sessions")
    parser.add_argument("--duration", type=float,
                        help="seconds of load (default 60; with --calls a cap, default 1800)")
    parser.add_argument("--calls", type=int, help="run until this many calls; samples RSS at start, middle, end")
    parser.add_argument("--users", default="alice,bob,carol,dave,erin", help="sandbox users the sessions act as")
    parser.add_argument("--mix", default=",".join(f"{k}={v:g}" for k, v in mix.DEFAULT_MIX.items()),
                        help="call kinds and weights (get_issue, search, transitions, comment, worklog, create)")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sandbox data and of the workload")
    parser.add_argument("--latency-ms", type=float, default=20.0, help="latency the sandbox adds to each answer")
    parser.add_argument("--think-ms", type=float, default=0.0, help="pause between one session's calls")
    parser.add_argument("--call-timeout", type=float, default=60.0, help="seconds before a call counts as a hang")
    parser.add_argument("--open-timeout", type=float, default=120.0, help="seconds to open every session")
    parser.add_argument("--workers", type=int, default=2,
                        help="client processes the sessions are spread over (one cannot drive 500 flat out)")
    parser.add_argument("--fd-limit", type=int, default=16384, help="soft RLIMIT_NOFILE to ask for")
    parser.add_argument("--server-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment for the server, e.g. JIRAPLUG_SERVER__STATELESS_HTTP=true "
                             "(repeatable; overrides the defaults in SERVER_SETTINGS)")
    parser.add_argument("--output", type=Path, help="JSON results (default .tools/load/load-<time>.json)")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help="where process logs go")
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    if args.workers < 1 or args.workers > args.sessions:
        parser.error(f"--workers must be between 1 and --sessions, got {args.workers}")
    if args.sessions < 1:
        parser.error(f"--sessions must be >= 1, got {args.sessions}")
    if args.calls is not None and args.calls < 1:
        parser.error(f"--calls must be >= 1, got {args.calls}")
    if args.duration is None:
        args.duration = 60.0 if args.calls is None else 1800.0
    for name in ("duration", "call_timeout", "open_timeout"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    if args.latency_ms < 0 or args.think_ms < 0:
        parser.error("--latency-ms and --think-ms must be >= 0")
    try:
        args.mix_weights = mix.parse_mix(args.mix)
    except ValueError as exc:
        parser.error(str(exc))
    settings = dict(SERVER_SETTINGS)
    for item in args.server_setting:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith(("JIRAPLUG_", "JIRA_", "OTEL_")):
            parser.error(f"--server-setting {item!r}: expected NAME=VALUE with a JIRAPLUG_/JIRA_/OTEL_ name")
        settings[name] = value
    args.settings = settings


class MemoryProbe:
    """The server's RSS: a sampler for the peak, a timeline, and start/middle/end for --calls."""

    def __init__(self, pid: int, total_calls: int | None) -> None:
        self.sampler = procs.RssSampler(pid)
        self.idle = self.sampler.sample()
        self.total = total_calls
        self.timeline: list[tuple[float, int, float]] = []  # (seconds, calls, MiB)
        self.marks: dict[str, dict[str, float]] = {}

    def tick(self, calls: int, elapsed: float) -> int:
        rss = self.sampler.sample()
        if not self.timeline or elapsed - self.timeline[-1][0] >= 5:
            self.timeline.append((round(elapsed, 1), calls, round(rss / MIB, 1)))
        if self.total:
            # "start" after a 5% warm-up (caches and per-user clients fill first), then 50%, then the end.
            for name, share in (("start", 0.05), ("middle", 0.5)):
                if name not in self.marks and calls >= self.total * share:
                    self.marks[name] = {"calls": calls, "seconds": round(elapsed, 1), "rss_mib": round(rss / MIB, 1)}
        return rss

    def finish(self, calls: int, elapsed: float) -> None:
        rss = self.sampler.sample()
        if self.total:
            self.marks["end"] = {"calls": calls, "seconds": round(elapsed, 1), "rss_mib": round(rss / MIB, 1)}
        self.peak = self.sampler.stop()


def summarise(tally: driver.Tally, seconds: float, sessions: int, probe: MemoryProbe) -> dict[str, Any]:
    every = [s for values in tally.latencies.values() for s in values]
    return {
        "sessions": {"wanted": sessions, "opened": tally.sessions_opened, "failed": tally.session_failures,
                     "closed_uncleanly": tally.close_failures},
        "calls": tally.calls,
        "seconds": round(seconds, 2),
        "calls_per_second": round(tally.calls / seconds, 1) if seconds > 0 else 0.0,
        "latency_ms": report.percentiles(every),
        "by_status": dict(tally.by_status),
        "protocol_errors": tally.protocol_errors,
        "tool_errors": tally.by_status["tool_error"],
        "by_kind": {kind: {"calls": sum(counts.values()), **dict(counts),
                           "latency_ms": report.percentiles(tally.latencies[kind])}
                    for kind, counts in sorted(tally.by_kind.items())},
        "error_samples": dict(tally.errors.most_common(12)),
        "server_rss_mib": {"idle": round(probe.idle / MIB, 1), "peak": round(probe.peak / MIB, 1),
                           **({k: v["rss_mib"] for k, v in probe.marks.items()})},
        "memory_marks": probe.marks,
        "rss_timeline": probe.timeline,
    }


def run_load(args: argparse.Namespace, work: Path, group: procs.ProcessGroup) -> dict[str, Any]:
    import anyio

    from jiraplug.sandbox.data import generate

    sandbox = stack.start_sandbox(group, work, seed=args.seed, latency_ms=args.latency_ms)
    log(f"sandbox at {sandbox.url} (latency {args.latency_ms:g} ms)")
    dataset = generate(args.seed)
    actors = mix.actors_for(dataset.users, [issue.key for issue in dataset.issues], "cloud",
                            names=[n.strip() for n in args.users.split(",") if n.strip()])
    env = stack.server_env(work, sandbox.url, args.settings)
    server = stack.start_server(group, work, env)
    log(f"server at {server.mcp_url}, pid {server.pid}; settings: "
        + ", ".join(f"{k}={v}" for k, v in args.settings.items()))
    probe = MemoryProbe(server.pid, args.calls)
    last = [0, 0.0]

    def progress(tally: driver.Tally, elapsed: float) -> None:
        rss = probe.tick(tally.calls, elapsed)
        rate = (tally.calls - last[0]) / max(1e-9, elapsed - last[1])
        last[:] = [tally.calls, elapsed]
        cap = f"/{args.calls}" if args.calls else ""
        log(f"{elapsed:6.1f} s  {tally.calls}{cap} calls  {rate:7.1f}/s  sessions {tally.sessions_opened}"
            f"  in flight {tally.in_flight}  tool errors {tally.by_status['tool_error']}"
            f"  protocol errors {tally.protocol_errors}  server RSS {rss / MIB:.0f} MiB")

    plan = workers.Plan(server.mcp_url, actors, args.mix_weights, args.seed, f"lt{int(time.time())}",
                        args.sessions, args.duration, args.calls, args.call_timeout, args.open_timeout,
                        args.think_ms / 1000)
    log(f"opening {args.sessions} sessions in {args.workers} client processes as "
        f"{', '.join(a.name for a in actors)}")
    cpu = CpuMeter({"server": server.pid, "sandbox": sandbox.process.pid})
    tally, seconds = workers.run_workers(plan, args.workers, progress)
    cpu_seconds = cpu.used()
    probe.finish(tally.calls, seconds)
    if server.process.popen.poll() is not None:
        raise RuntimeError(f"the server died during the run; {server.process.tail()}")
    result = summarise(tally, seconds, args.sessions, probe)
    result["cpu_seconds"] = cpu_seconds
    return result


class CpuMeter:
    """CPU seconds used during the run by the server, the sandbox and the clients: where the time went."""

    def __init__(self, pids: dict[str, int]) -> None:
        import psutil

        self._procs = {name: psutil.Process(pid) for name, pid in pids.items()}
        self._start = {name: self._cpu(proc) for name, proc in self._procs.items()}
        self._start["clients"] = self._clients()

    @staticmethod
    def _cpu(proc: Any) -> float:
        times = proc.cpu_times()
        return times.user + times.system

    @staticmethod
    def _clients() -> float:
        # This process plus the worker processes it has joined (the server and sandbox are not yet reaped).
        import resource

        own, reaped = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
        return own.ru_utime + own.ru_stime + reaped.ru_utime + reaped.ru_stime

    def used(self) -> dict[str, float]:
        now = {name: self._cpu(proc) for name, proc in self._procs.items()}
        now["clients"] = self._clients()
        return {name: round(now[name] - self._start[name], 1) for name in now}


def print_summary(result: dict[str, Any]) -> None:
    lat = result["latency_ms"]
    rss = result["server_rss_mib"]
    print(f"sessions {result['sessions']['opened']}/{result['sessions']['wanted']}, {result['calls']} calls in "
          f"{result['seconds']} s = {result['calls_per_second']} calls/s")
    print(f"latency ms: p50 {lat['p50']}  p95 {lat['p95']}  p99 {lat['p99']}  mean {lat['mean']}")
    print(f"ok {result['by_status'].get('ok', 0)}  tool errors {result['tool_errors']}  "
          f"protocol errors {result['protocol_errors']}")
    print("server RSS MiB: " + "  ".join(f"{k} {v}" for k, v in rss.items()))
    print("CPU seconds during the run: " + "  ".join(f"{k} {v}" for k, v in result["cpu_seconds"].items()))
    for kind, row in result["by_kind"].items():
        print(f"  {kind:<12} {row['calls']:>7} calls  p50 {row['latency_ms']['p50']:>8} ms  "
              f"p99 {row['latency_ms']['p99']:>8} ms  errors {row['calls'] - row.get('ok', 0)}")
    for text, count in result["error_samples"].items():
        print(f"  error x{count}: {text}")


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    logging.basicConfig(level=logging.CRITICAL)  # the SDK logs every failed call; we count them instead
    fd_limit = stack.raise_fd_limit(args.fd_limit)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    work = args.work_dir / f"load-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    output = args.output or args.work_dir / f"load-{stamp}.json"
    load_before = stack.load_average()
    started = time.monotonic()
    with procs.ProcessGroup() as group:
        try:
            result = run_load(args, work, group)
        except KeyboardInterrupt:
            log("interrupted: sandbox and server stopped")
            return 130
        except Exception as exc:
            log(f"failed: {exc}")
            return 1
    from compare_peer import git_commit, machine

    result["meta"] = {
        "created": dt.datetime.now().isoformat(timespec="seconds"), "commit": git_commit(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": machine(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in stack.load_average()],
        "fd_soft_limit": fd_limit, "server_settings": args.settings, "logs": str(work),
        "wall_seconds": round(time.monotonic() - started, 1),
        "workload": {"sessions": args.sessions, "duration_cap_s": args.duration, "calls_cap": args.calls,
                     "users": args.users, "mix": args.mix_weights, "seed": args.seed,
                     "sandbox_latency_ms": args.latency_ms, "think_ms": args.think_ms,
                     "client_processes": args.workers},
    }
    print_summary(result)
    print(f"load average before {result['meta']['load_average_before']}, after {result['meta']['load_average_after']}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(result, indent=2) + "\n")
    print(f"JSON results: {output}")
    return 0 if result["protocol_errors"] == 0 and result["calls"] > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
