#!/usr/bin/env python
"""Compare jiraplug side by side with mcp-atlassian, or with its own plugins switched off.

    python asv_bench/compare_peer.py                                # jiraplug vs mcp-atlassian 0.23.1
    python asv_bench/compare_peer.py --plugins-on-off               # jiraplug: built-in plugins on vs off
    python asv_bench/compare_peer.py --plugins-on-off --one-by-one  # ... and each plugin alone

Each server runs as its own process over streamable HTTP on 127.0.0.1, against its own
fresh ``jiraplug sandbox --flavour dc --admin`` process (same seed and injected latency,
so every server starts from identical Jira data and one server's comments do not change
the other's reads). The same MCP SDK client (``mcp.Client(url, cache=None)``) plays the
same seeded plan with N concurrent sessions: get issue, search, get transitions and add
comment, issue keys skewed (Zipf-like) so repeats occur. Measured per server: calls/s,
p50/p95/p99 latency, Jira requests per tool call (from the sandbox's request log), peak
and idle RSS of the server process tree, process start to first ``tools/list``, errors.
Progress goes to stderr; the table and ratios to stdout; everything to a JSON file.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import platform
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from peerbench import procs, report, workload  # noqa: E402

PEER_SPEC = "mcp-atlassian==0.23.1"
PERFORMANCE_PLUGINS = ("cache", "pool", "ratelimit", "profiling", "alerting")
DEFAULT_MIX = "get_issue=50,search=25,transitions=15,comment=10"
WORK_DIR = ROOT / ".tools" / "bench"  # gitignored: peer venv, logs, JSON results


def log(message: str) -> None:
    print(f"compare: {message}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="compare_peer.py", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    mode = parser.add_argument_group("what to compare")
    mode.add_argument("--plugins-on-off", action="store_true",
                      help="compare jiraplug with all built-in plugins on vs all off (no peer needed)")
    mode.add_argument("--one-by-one", action="store_true",
                      help="with --plugins-on-off: also run each built-in plugin alone")
    mode.add_argument("--peer-spec", default=PEER_SPEC, help="the peer's pip requirement")
    mode.add_argument("--peer-venv", type=Path, default=ROOT / ".tools" / "peer-venv",
                      help="virtual environment for the peer (created once, reused)")
    load = parser.add_argument_group("workload")
    load.add_argument("--clients", type=int, default=8, help="concurrent MCP sessions")
    load.add_argument("--calls", type=int, default=600, help="tool calls in the plan (cap)")
    load.add_argument("--duration", type=float, default=60.0, help="seconds per server (cap)")
    load.add_argument("--mix", default=DEFAULT_MIX, help="call kinds and weights")
    load.add_argument("--skew", type=float, default=1.1, help="Zipf exponent of key and query popularity")
    load.add_argument("--seed", type=int, default=1, help="seed of the sandbox data and of the plan")
    load.add_argument("--latency-ms", type=float, default=50.0, help="latency the sandbox adds to every answer")
    load.add_argument("--jitter-ms", type=float, default=0.0, help="random extra sandbox latency")
    load.add_argument("--call-timeout", type=float, default=30.0, help="seconds before a call counts as failed")
    load.add_argument("--startup-timeout", type=float, default=90.0, help="seconds to wait for the first tools/list")
    parser.add_argument("--output", type=Path, help="JSON results (default: .tools/bench/compare-<mode>-<time>.json)")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR,
                        help="where server and sandbox logs go (a folder per run)")
    return parser


def check_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    for name in ("clients", "calls"):
        if getattr(args, name) < 1:
            parser.error(f"--{name} must be >= 1, got {getattr(args, name)}")
    for name in ("duration", "call_timeout", "startup_timeout"):
        if getattr(args, name) <= 0:
            parser.error(f"--{name.replace('_', '-')} must be > 0, got {getattr(args, name)}")
    if args.latency_ms < 0 or args.jitter_ms < 0:
        parser.error("--latency-ms and --jitter-ms must be >= 0")
    if args.one_by_one and not args.plugins_on_off:
        parser.error("--one-by-one goes with --plugins-on-off")
    try:
        args.mix_weights = workload.parse_mix(args.mix)
    except ValueError as exc:
        parser.error(str(exc))


# ------------------------------------------------------------------------------ servers


def jiraplug_spec(name: str, disable: tuple[str, ...] = ()) -> procs.ServerSpec:
    """``jiraplug serve --transport http`` with ``disable`` switched off."""

    def env(sandbox: procs.Sandbox, home: Path) -> dict[str, str]:
        values = {"PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin", "HOME": str(home),
                  "NO_PROXY": "127.0.0.1,localhost", "JIRA_URL": sandbox.url, "JIRA_PERSONAL_TOKEN": sandbox.token}
        if disable:
            values["JIRAPLUG_DISABLE_PLUGINS"] = ",".join(disable)
        return values

    notes = [f"plugins off: {', '.join(disable)}"] if disable else ["all built-in plugins on"]
    return procs.ServerSpec(
        name, lambda port: [sys.executable, "-m", "jiraplug", "serve", "--transport", "http", "--port", str(port)],
        env, notes=notes,
    )


def peer_spec(bin_dir: Path, spec: str) -> procs.ServerSpec:
    """mcp-atlassian as /work/shared/PEERS.md runs it: scratch HOME, no update check, env credentials."""

    def env(sandbox: procs.Sandbox, home: Path) -> dict[str, str]:
        return {"PATH": f"{bin_dir}:/usr/bin:/bin", "HOME": str(home), "FASTMCP_CHECK_FOR_UPDATES": "off",
                "NO_PROXY": "127.0.0.1,localhost", "JIRA_URL": sandbox.url, "JIRA_PERSONAL_TOKEN": sandbox.token,
                "ALLOW_GLOBAL_CRED_FALLBACK": "true"}

    return procs.ServerSpec(
        spec.split("==")[0],
        lambda port: [str(bin_dir / "mcp-atlassian"), "--transport", "streamable-http", "--host", "127.0.0.1",
                      "--port", str(port)],
        env, notes=[spec],
    )


def targets(args: argparse.Namespace) -> tuple[list[procs.ServerSpec], str]:
    """The servers to run, in order, and the name of the baseline for ratios."""
    if args.plugins_on_off:
        specs = [jiraplug_spec("plugins on"), jiraplug_spec("plugins off", PERFORMANCE_PLUGINS)]
        if args.one_by_one:
            specs += [jiraplug_spec(f"only {p}", tuple(q for q in PERFORMANCE_PLUGINS if q != p))
                      for p in PERFORMANCE_PLUGINS]
        return specs, "plugins off"
    bin_dir = procs.ensure_peer_venv(args.peer_venv, args.peer_spec, log)
    peer = peer_spec(bin_dir, args.peer_spec)
    return [jiraplug_spec("jiraplug"), peer], peer.name


# ------------------------------------------------------------------------------ one run


def sandbox_supports(mix: dict[str, float], seed: int) -> tuple[dict[str, float], list[str]]:
    """Drop call kinds whose Jira endpoint the sandbox does not serve yet (with a note)."""
    from jiraplug.sandbox import create_app

    served = {(path, method) for route in create_app("dc", seed).routes
              for path in [getattr(route, "path", "")] for method in (getattr(route, "methods", None) or ())}
    needs = {"comment": ("/rest/api/{version}/issue/{key}/comment", "POST"),
             "transitions": ("/rest/api/{version}/issue/{key}/transitions", "GET")}
    kept, notes = dict(mix), []
    for kind, endpoint in needs.items():
        if kind in kept and endpoint not in served:
            del kept[kind]
            notes.append(f"the sandbox has no {endpoint[1]} {endpoint[0]} yet: '{kind}' calls left out of the mix")
    return kept, notes


async def first_tools_list(url: str, process: procs.Managed, timeout: float) -> tuple[list[Any], str | None, float]:
    """Poll until a fresh MCP session lists the tools; returns tools, protocol and the time it answered."""
    import anyio
    from mcp import Client

    deadline = time.perf_counter() + timeout
    while time.perf_counter() < deadline:
        if process.popen.poll() is not None:
            raise RuntimeError(f"{process.name} exited during start-up; {process.tail()}")
        try:
            with anyio.fail_after(15):
                async with Client(url, cache=None) as client:
                    tools = (await client.list_tools()).tools
                    return tools, client.protocol_version, time.perf_counter()
        except Exception:  # noqa: BLE001 - not listening yet
            await anyio.sleep(0.05)
    raise RuntimeError(f"{process.name}: no tools/list answer within {timeout:.0f} s; {process.tail()}")


async def cache_hit_rate(url: str) -> float | None:
    """jiraplug's own cache hit rate (resource ``jiraplug://cache``); ``None`` for other servers."""
    import anyio
    from mcp import Client

    try:
        with anyio.fail_after(15):
            async with Client(url, cache=None) as client:
                result = await client.read_resource("jiraplug://cache")
        rate = json.loads(result.contents[0].text).get("hit_rate")
        return float(rate) if isinstance(rate, (int, float)) else None
    except Exception:  # noqa: BLE001 - no such resource: not jiraplug, or its cache is off
        return None


def run_one(spec: procs.ServerSpec, args: argparse.Namespace, mix: dict[str, float], notes: list[str],
            work: Path, group: procs.ProcessGroup) -> report.RunStats:
    """Start a fresh sandbox and the server, measure start-up, play the plan, collect statistics."""
    import anyio

    slug = spec.name.replace(" ", "-")
    scratch = work / slug
    scratch.mkdir(parents=True, exist_ok=True)
    sandbox = procs.start_sandbox(group, scratch, seed=args.seed, latency_ms=args.latency_ms,
                                  jitter_ms=args.jitter_ms)
    server = None
    try:
        plan = workload.make_plan(args.calls, sandbox.issue_keys(), mix, seed=args.seed, skew=args.skew)
        before_start = len(sandbox.log())
        port = procs.free_port()
        url = f"http://127.0.0.1:{port}{spec.path}"
        log(f"[{spec.name}] starting: {' '.join(spec.argv(port))}")
        server = group.start(spec.name, spec.argv(port), spec.env(sandbox, scratch), scratch / "server.log",
                             cwd=str(scratch))
        tools, protocol, ready_at = anyio.run(first_tools_list, url, server, args.startup_timeout)
        startup = ready_at - server.started
        log(f"[{spec.name}] first tools/list after {startup:.2f} s: {len(tools)} tools, protocol {protocol}")
        sampler = procs.RssSampler(server.pid)
        idle = sampler.sample()
        unsupported = workload.unsupported_kinds(tools)
        run_notes = [*spec.notes, *notes, *(f"'{kind}' calls skipped: {why}" for kind, why in unsupported.items())]
        before_run = len(sandbox.log())

        def progress(done: int, errors: int, elapsed: float) -> None:
            rate = done / elapsed if elapsed > 0 else 0.0
            log(f"[{spec.name}] {done}/{len(plan)} calls, {rate:.1f} calls/s, {errors} errors, {elapsed:.1f} s")

        played = anyio.run(lambda: workload.play(url, plan, clients=args.clients, duration=args.duration,
                                                 call_timeout=args.call_timeout, skip=set(unsupported),
                                                 progress=progress))
        peak = sampler.stop()
        upstream = sandbox.log()[before_run:]
        hit_rate = anyio.run(cache_hit_rate, url)
        return report.summarise(spec.name, played, upstream, startup_seconds=startup,
                                startup_upstream=before_run - before_start, idle_rss=idle, peak_rss=peak,
                                tools=len(tools), protocol=protocol, notes=run_notes, cache_hit_rate=hit_rate)
    finally:
        if server is not None:
            group.stop(server)
        group.stop(sandbox.process)


# ------------------------------------------------------------------------------ report


def machine() -> dict[str, Any]:
    import psutil

    model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                  if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    return {"cpus": os.cpu_count(), "cpu_model": model, "ram_gib": round(psutil.virtual_memory().total / 2**30, 1),
            "platform": platform.platform(), "python": platform.python_version()}


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or None
    except OSError:
        return None


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    check_args(parser, args)
    logging.basicConfig(level=logging.CRITICAL)  # connection attempts during start-up are expected to fail
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    mode = "plugins" if args.plugins_on_off else "peer"
    work = args.work_dir / f"{mode}-{stamp}"
    output = args.output or WORK_DIR / f"compare-{mode}-{stamp}.json"
    mix, notes = sandbox_supports(args.mix_weights, args.seed)
    for note in notes:
        log(note)
    runs: list[report.RunStats] = []
    started = time.perf_counter()
    with procs.ProcessGroup() as group:
        try:
            specs, baseline_name = targets(args)
            for spec in specs:
                runs.append(run_one(spec, args, mix, notes, work, group))
        except KeyboardInterrupt:
            log("interrupted: servers and sandboxes stopped")
            return 130
        except Exception as exc:
            log(f"failed: {exc}")
            return 1
    baseline = next(run for run in runs if run.name == baseline_name)
    print()
    print(f"{len(runs)} servers, {args.clients} concurrent clients, plan of {args.calls} calls "
          f"(mix {', '.join(f'{k}={v:g}' for k, v in mix.items())}; Zipf skew {args.skew}; seed {args.seed}), "
          f"sandbox latency {args.latency_ms:g} ms")
    print(report.table(runs, baseline))
    print("ratios are run / baseline: above 1 is better for calls/s, below 1 is better for every other row")
    print()
    print(report.endpoints_table(runs))
    for run in runs:
        for note in run.notes:
            print(f"note [{run.name}]: {note}")
        for sample in run.error_samples:
            print(f"error [{run.name}]: {sample}")
    document = {
        "meta": {"created": dt.datetime.now().isoformat(timespec="seconds"), "mode": mode, "commit": git_commit(),
                 "command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": machine(),
                 "seconds": round(time.perf_counter() - started, 1), "logs": str(work),
                 "workload": {"clients": args.clients, "calls": args.calls, "duration_cap_s": args.duration,
                              "mix": mix, "skew": args.skew, "seed": args.seed, "latency_ms": args.latency_ms,
                              "jitter_ms": args.jitter_ms},
                 "peer": None if args.plugins_on_off else args.peer_spec},
        "runs": [run.as_dict() for run in runs],
        "baseline": baseline.name,
        "ratios": report.ratios(runs, baseline),
    }
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"\nJSON results: {output}")
    return 1 if any(run.calls == 0 for run in runs) else 0


if __name__ == "__main__":
    sys.exit(main())
