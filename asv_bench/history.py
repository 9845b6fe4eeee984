"""The committed benchmark history of the reference machine, and HEAD compared against it.

    python asv_bench/history.py record [COMMIT ...]   # add HEAD (or the commits) to the history
    python asv_bench/history.py compare               # run HEAD quickly here, asv compare it with the history

The history lives in ``asv_bench/results/jiraplug-ref/`` (committed; other machines' results
stay gitignored): one JSON file per commit, each built into its own virtualenv by asv and run
with ``--quick`` (one sample per benchmark: the reference machine is a shared 2-core VM, where
more samples would not make the numbers much steadier and would take 5-10x longer).
``asv publish`` turns it into the graphs of the docs site (docs/gen/mkdocs_hooks.py).

``compare`` runs the suite on HEAD in the current interpreter (``--python=same --quick``),
into a scratch results folder, and prints ``asv compare`` against the newest recorded commit
that HEAD descends from. It flags changes beyond 10% and fails (exit 1) only when a benchmark
got at least 2x worse: single samples on a busy machine move by tens of percent.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
MACHINE = "jiraplug-ref"
RESULTS = ROOT / "asv_bench" / "results"
HISTORY = RESULTS / MACHINE
FAIL_FACTOR = 2.0
FLAG_FACTOR = 1.1
RECHECKS = 2


def asv(*args: str, config: Path | None = None, check: bool = True) -> subprocess.CompletedProcess[str]:
    command = [str(Path(sys.executable).parent / "asv"), *args]
    if config is not None:
        command += ["--config", str(config)]
    done = subprocess.run(command, cwd=ROOT, text=True, capture_output=True)
    if check and done.returncode != 0:
        raise SystemExit(f"{' '.join(command[:3])} failed ({done.returncode}):\n{done.stdout[-3000:]}{done.stderr[-3000:]}")
    return done


def git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=ROOT, text=True, capture_output=True, check=True).stdout.strip()


def ensure_machine() -> None:
    """Describe the reference machine to asv (``~/.asv-machine.json``) as its committed machine.json says."""
    described = json.loads((HISTORY / "machine.json").read_text())
    asv("machine", "--machine", MACHINE, "--yes",
        *(arg for key in ("os", "arch", "cpu", "num_cpu", "ram") for arg in (f"--{key}", str(described[key]))))


def recorded() -> dict[str, dict[str, Any]]:
    """Commit hash -> the result JSON of that commit on the reference machine."""
    out = {}
    for path in sorted(HISTORY.glob("*.json")):
        if path.name != "machine.json":
            data = json.loads(path.read_text())
            out[data["commit_hash"]] = data | {"_path": path}
    return out


def summary(data: dict[str, Any]) -> str:
    values = [value for row in data["results"].values() for value in _flat(row[0])]
    ok = sum(1 for value in values if isinstance(value, (int, float)) and not math.isnan(value))
    return f"{len(data['results'])} benchmarks, {ok} of {len(values)} results measured"


def record(commits: list[str]) -> int:
    ensure_machine()
    before = recorded()
    hashes = [git("rev-parse", commit) for commit in commits or ["HEAD"]]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as listing:
        listing.write("\n".join(hashes) + "\n")
    try:
        done = asv("run", "--machine", MACHINE, "--quick", "--show-stderr", f"HASHFILE:{listing.name}", check=False)
    finally:
        os.unlink(listing.name)
    print(done.stdout[-4000:], done.stderr[-2000:], sep="\n")
    after = recorded()
    for commit in hashes:
        data = after.get(commit)
        subject = git("log", "-1", "--format=%h %s", commit)
        if data is None:
            print(f"NOT recorded: {subject} (the build failed? see above)")
        else:
            verb = "replaced" if commit in before else "added"
            print(f"{verb}: {subject}: {summary(data)} -> {data['_path'].relative_to(ROOT)}")
    measured = sum(1 for data in after.values() if " 0 of " not in summary(data))
    print(f"history: {len(after)} commits on {MACHINE} ({measured} with measurements); "
          "commit asv_bench/results/ to keep them")
    return 0 if all(commit in after for commit in hashes) else 1


def newest_ancestor(history: dict[str, dict[str, Any]], head: str) -> str | None:
    candidates = [commit for commit in history if commit != head
                  and subprocess.run(["git", "merge-base", "--is-ancestor", commit, head], cwd=ROOT).returncode == 0]
    return max(candidates, key=lambda commit: history[commit]["date"], default=None)


def _flat(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def regressions(reference: dict[str, Any], head: dict[str, Any], factor: float) -> list[str]:
    """Benchmarks (each parameter combination) whose HEAD value is at least ``factor`` x the reference's."""
    out = []
    for name, row in head["results"].items():
        if name not in reference["results"]:
            continue
        for position, (new, old) in enumerate(zip(_flat(row[0]), _flat(reference["results"][name][0]))):
            if all(isinstance(v, (int, float)) and not math.isnan(v) and v > 0 for v in (new, old)) and new >= factor * old:
                out.append(f"{name}[{position}]: {old:.4g} -> {new:.4g} ({new / old:.2f}x)")
    return out


def compare() -> int:
    history = recorded()
    head = git("rev-parse", "HEAD")
    reference = newest_ancestor(history, head)
    if reference is None:
        print(f"no recorded commit on {MACHINE} that HEAD descends from: nothing to compare")
        return 0
    ensure_machine()
    scratch = Path(tempfile.mkdtemp(prefix="asv-compare-"))
    try:
        config = _load_conf()
        config.update(repo=str(ROOT), benchmark_dir=str(ROOT / "asv_bench" / "benchmarks"),
                      results_dir=str(scratch / "results"), html_dir=str(scratch / "html"), env_dir=str(scratch / "env"))
        (scratch / "asv.conf.json").write_text(json.dumps(config))
        (scratch / "results" / MACHINE).mkdir(parents=True)
        shutil.copy(HISTORY / "machine.json", scratch / "results" / MACHINE)
        shutil.copy(history[reference]["_path"], scratch / "results" / MACHINE)
        conf = scratch / "asv.conf.json"
        data = run_head(conf, head)
        worse = regressions(history[reference], data, FAIL_FACTOR)
        for attempt in range(RECHECKS):
            if not worse:
                break
            # One sample on a busy machine can be 2x off: re-run only what looks 2x worse, keep the best.
            names = sorted({line.split("[", 1)[0] for line in worse})
            print(f"re-checking {len(names)} benchmark(s) that look {FAIL_FACTOR:g}x worse ({attempt + 1}/{RECHECKS})")
            data = best_of(data, run_head(conf, head, names))
            worse = regressions(history[reference], data, FAIL_FACTOR)
        # asv compare pairs results by environment name: give HEAD's the history's.
        data["env_name"] = history[reference]["env_name"]
        (scratch / "results" / MACHINE / f"{head[:8]}-{data['env_name']}.json").write_text(json.dumps(data))
        subject = git("log", "-1", "--format=%h %s", reference)
        print(f"HEAD {head[:8]} (this machine, --python=same --quick) against {subject} ({MACHINE}, recorded):")
        shown = asv("compare", "--machine", MACHINE, "--factor", str(FLAG_FACTOR), "--split", reference, head,
                    config=scratch / "asv.conf.json")
        print(shown.stdout)
        for line in worse:
            print(f"REGRESSION >= {FAIL_FACTOR:g}x: {line}")
        if not worse:
            print(f"no benchmark got {FAIL_FACTOR:g}x worse (changes beyond {FLAG_FACTOR:g}x above are flagged only)")
        return 1 if worse else 0
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def bench_filter(names: list[str]) -> str:
    """An ``asv run --bench`` regex selecting exactly ``names``.

    asv matches a parameterised benchmark as ``name(param, ...)``, so the name is anchored
    and followed by ``(`` or the end, never by more of another benchmark's name.
    """
    return "^(" + "|".join(re.escape(name) for name in names) + r")(\(|$)"


def run_head(conf: Path, head: str, names: list[str] | None = None) -> dict[str, Any]:
    """Run the suite (or ``names``) once on HEAD in this interpreter; its result JSON, removed from disk."""
    only = ["--bench", bench_filter(names)] if names else []
    run = asv("run", "--python=same", "--quick", "--machine", MACHINE, "--set-commit-hash", head, *only,
              config=conf, check=False)
    produced = sorted((conf.parent / "results" / MACHINE).glob(f"{head[:8]}-existing*.json"))
    if run.returncode != 0 or not produced:
        print(run.stdout[-6000:], run.stderr[-3000:], sep="\n")
        # The tail above may have lost which benchmark it was: name every one asv marked failed.
        for line in run.stdout.splitlines():
            if line.rstrip().endswith("failed"):
                print(f"FAILED: {line.strip()}")
        raise SystemExit("a benchmark failed on HEAD (above)" if produced else "the HEAD run saved no results")
    data = json.loads(produced[0].read_text())
    produced[0].unlink()
    return data


def best_of(first: dict[str, Any], again: dict[str, Any]) -> dict[str, Any]:
    """``first`` with each value of ``again`` taken where it is lower (a quieter moment)."""
    for name, row in again["results"].items():
        old = first["results"].get(name)
        if old is None:
            continue
        values = [min(a, b) if all(isinstance(v, (int, float)) and not math.isnan(v) for v in (a, b)) else a
                  for a, b in zip(_flat(old[0]), _flat(row[0]))]
        old[0] = values if isinstance(old[0], list) else values[0]
    return first


def _load_conf() -> dict[str, Any]:
    from asv.util import load_json

    return load_json(str(ROOT / "asv.conf.json"), js_comments=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    rec = sub.add_parser("record", help="run COMMITs (default HEAD) on the reference machine and keep the results")
    rec.add_argument("commits", nargs="*")
    sub.add_parser("compare", help="run HEAD here quickly and asv compare it with the newest recorded ancestor")
    args = parser.parse_args()
    return record(args.commits) if args.command == "record" else compare()


if __name__ == "__main__":
    sys.exit(main())
