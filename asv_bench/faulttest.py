#!/usr/bin/env python
"""Fault run: MCP sessions keep calling a shared jiraplug while its Jira misbehaves.

    python asv_bench/faulttest.py                          # 16 sessions, 10 s per phase
    python asv_bench/faulttest.py --sessions 64 --phase-seconds 30 --output faults.json

Phases, one after another (sandbox knobs): baseline; 30% 5xx answers; a 429 storm (a 5
requests/s limit far below demand); slow bodies; 20% dropped connections; a Jira restart
(the sandbox's listener stops and comes back on the same port with the same data); then
recovery. The sandbox runs in this process (so its data survive the restart and can be
inspected), the server is a real ``jiraplug serve --transport http`` process, the sessions
real MCP clients over streamable HTTP acting as several users (``X-Jira-Authorization``).

Passes (exit status 0) when: no call ended in a protocol error or a hang; every tool error
is a clear message without traceback, internal path or credential; the sandbox holds
exactly the writes reported done (each unique marker once), none reported failed, and at
most once each of those reported as "may have been applied"; and calls succeed again after
the faults stop. Progress goes to stderr, the report to stdout and ``--output`` (JSON).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from loadkit import faults, mix, stack  # noqa: E402
from peerbench import procs  # noqa: E402

WORK_DIR = ROOT / ".tools" / "faults"


def log(message: str) -> None:
    print(f"faulttest: {message}", file=sys.stderr, flush=True)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="faulttest.py", description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    parser.add_argument("--sessions", type=int, default=16, help="concurrent MCP sessions")
    parser.add_argument("--phase-seconds", type=float, default=10.0, help="length of each phase")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sandbox data and of the workload")
    parser.add_argument("--mix", help="call kinds and weights (default: write-heavy, creates included)")
    parser.add_argument("--call-timeout", type=float, default=60.0, help="seconds before a call counts as a hang")
    parser.add_argument("--server-setting", action="append", default=[], metavar="NAME=VALUE",
                        help="extra server environment (repeatable), overriding loadkit.faults.SERVER_SETTINGS")
    parser.add_argument("--output", type=Path, help="JSON report (default .tools/faults/faults-<time>.json)")
    parser.add_argument("--work-dir", type=Path, default=WORK_DIR, help="where the server log goes")
    return parser


def main(argv: list[str] | None = None) -> int:
    import anyio

    parser = build_parser()
    args = parser.parse_args(argv)
    if args.sessions < 1 or args.phase_seconds <= 0 or args.call_timeout <= 0:
        parser.error("--sessions must be >= 1, --phase-seconds and --call-timeout > 0")
    try:
        weights = mix.parse_mix(args.mix) if args.mix else None
    except ValueError as exc:
        parser.error(str(exc))
    settings = {}
    for item in args.server_setting:
        name, sep, value = item.partition("=")
        if not sep or not name.startswith(("JIRAPLUG_", "JIRA_", "OTEL_")):
            parser.error(f"--server-setting {item!r}: expected NAME=VALUE with a JIRAPLUG_/JIRA_/OTEL_ name")
        settings[name] = value
    logging.basicConfig(level=logging.CRITICAL)  # failed calls are counted and reported, not logged
    stack.raise_fd_limit(4096)
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    work = args.work_dir / f"faults-{stamp}"
    work.mkdir(parents=True, exist_ok=True)
    output = args.output or args.work_dir / f"faults-{stamp}.json"
    load_before = stack.load_average()
    with procs.ProcessGroup() as group:
        run = None
        try:
            run = faults.FaultRun(work, group, seed=args.seed, settings=settings, log=log)
            log(f"sandbox (in process) at {run.sandbox.url}, server at {run.server.mcp_url}; "
                f"{args.sessions} sessions as {', '.join(a.name for a in run.actors)}")
            report = anyio.run(lambda: run.run(faults.default_phases(args.phase_seconds), sessions=args.sessions,
                                               seed=args.seed, call_timeout=args.call_timeout,
                                               mix_weights=weights))
        except KeyboardInterrupt:
            log("interrupted: sandbox and server stopped")
            return 130
        except Exception as exc:
            log(f"failed: {type(exc).__name__}: {exc}")
            return 1
        finally:
            if run is not None:
                run.close()
    from compare_peer import git_commit, machine

    document = report.as_dict()
    document["meta"] = {
        "created": dt.datetime.now().isoformat(timespec="seconds"), "commit": git_commit(),
        "command": " ".join([Path(sys.executable).name, *sys.argv]), "machine": machine(),
        "load_average_before": [round(x, 2) for x in load_before],
        "load_average_after": [round(x, 2) for x in stack.load_average()],
        "server_settings": {**faults.SERVER_SETTINGS, **settings}, "logs": str(work),
        "phases": [{"name": p.name, "seconds": p.seconds, "knobs": p.knobs, "restart": p.restart}
                   for p in faults.default_phases(args.phase_seconds)],
    }
    print(f"{'PASSED' if report.passed else 'FAILED'}: {report.tally.calls} calls in {report.seconds:.0f} s, "
          f"{report.tally.sessions_opened} sessions, {report.restarts} sandbox restart(s)")
    for name, counts in report.by_phase.items():
        print(f"  {name:<20} " + "  ".join(f"{k} {v}" for k, v in sorted(counts.items())))
    writes = report.verdict.as_dict()
    print(f"writes: {writes['writes_checked']} checked; {writes['reported_ok']} reported ok, all found once: "
          f"{not writes['lost'] and not writes['duplicated']}; {writes['reported_failed']} reported failed, "
          f"none applied: {not writes['applied_despite_error']}; {writes['reported_unknown']} 'may have been "
          f"applied' ({writes['unknown_found_applied']} were)")
    for text, count in report.tally.errors.most_common(10):
        print(f"  x{count}: {text}")
    for problem in report.problems():
        print(f"PROBLEM: {problem}")
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"JSON report: {output}")
    return 0 if report.passed else 1


if __name__ == "__main__":
    sys.exit(main())
