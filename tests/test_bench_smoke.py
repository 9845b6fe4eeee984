"""The benchmark tooling stays runnable: asv finds and checks every benchmark, each benchmark
module imports, a quick asv run of the cheap families passes, and the comparison script
works end to end (plugins on vs off, tiny workload) and keeps its workload deterministic."""

from __future__ import annotations

import importlib
import inspect
import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "asv_bench"
ASV = [sys.executable, "-m", "asv"]
PREFIXES = ("time_", "timeraw_", "mem_", "peakmem_", "track_")


def asv(*args: str, home: Path, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    # A scratch HOME keeps asv's machine file (~/.asv-machine.json) out of the real one.
    env = {**os.environ, "HOME": str(home)}
    return subprocess.run([*ASV, *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL)


def benchmark_modules() -> list[str]:
    return sorted(p.stem for p in (BENCH / "benchmarks").glob("bench_*.py"))


def test_asv_check_finds_no_problems(tmp_path: Path) -> None:
    proc = asv("check", "--python=same", home=tmp_path)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "No problems found" in proc.stdout


@pytest.mark.parametrize("module", benchmark_modules())
def test_every_benchmark_module_imports_and_defines_benchmarks(module: str, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(BENCH))
    mod = importlib.import_module(f"benchmarks.{module}")
    names = [name for name, obj in vars(mod).items() if name.startswith(PREFIXES) and callable(obj)]
    for cls in (obj for obj in vars(mod).values() if inspect.isclass(obj) and obj.__module__ == mod.__name__):
        names += [f"{cls.__name__}.{name}" for name in vars(cls) if name.startswith(PREFIXES)]
    assert names, f"{module} defines no benchmark"
    # Benchmark classes must not be imported into other modules (asv would run them twice).
    foreign = [name for name, obj in vars(mod).items() if inspect.isclass(obj) and obj.__module__ != mod.__name__
               and any(attr.startswith(PREFIXES) for attr in vars(obj))]
    assert not foreign, f"{module} re-exports benchmark classes {foreign}"


def test_a_quick_asv_run_passes(tmp_path: Path) -> None:
    # One cheap benchmark through the whole asv pipeline (machine file, --python=same, this
    # config, setup_cache against the sandbox); CI's smoke run covers every benchmark.
    assert asv("machine", "--yes", home=tmp_path).returncode == 0
    proc = asv("run", "--python=same", "--quick", "--dry-run", "--show-stderr",
               "--bench", r"^bench_client\.IssueParsing\.time_compact_issue$", home=tmp_path)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output
    assert "failed" not in output and "Traceback" not in output, output
    assert "bench_client.IssueParsing.time_compact_issue" in output


def test_only_the_reference_machines_results_are_committed() -> None:
    config = json.loads("\n".join(line for line in (ROOT / "asv.conf.json").read_text().splitlines()
                                  if not line.strip().startswith("//")))

    def ignored(path: str) -> bool:
        return subprocess.run(["git", "check-ignore", "-q", path], cwd=ROOT).returncode == 0

    assert ignored(f"{config['results_dir']}/some-other-machine/abcdef12-virtualenv-py3.11.json")
    assert ignored(f"{config['html_dir']}/index.html")
    # The history (asv_bench/history.py) is kept.
    assert not ignored(f"{config['results_dir']}/jiraplug-ref/abcdef12-virtualenv-py3.11.json")
    assert not ignored(f"{config['results_dir']}/benchmarks.json")


# ------------------------------------------------------------------ comparison script


@pytest.fixture
def workload(monkeypatch: pytest.MonkeyPatch):  # type: ignore[no-untyped-def]
    monkeypatch.syspath_prepend(str(BENCH))
    return importlib.import_module("peerbench.workload")


def test_the_plan_is_fixed_by_the_seed_and_skewed(workload) -> None:  # type: ignore[no-untyped-def]
    keys = [f"PLAT-{n}" for n in range(1, 301)]
    mix = workload.parse_mix("get_issue=50,search=25,transitions=15,comment=10")
    plan = workload.make_plan(2000, keys, mix, seed=7, skew=1.1)
    assert plan == workload.make_plan(2000, keys, mix, seed=7, skew=1.1)
    assert plan != workload.make_plan(2000, keys, mix, seed=8, skew=1.1)
    kinds = Counter(call.kind for call in plan)
    assert kinds["get_issue"] > kinds["search"] > kinds["transitions"] > kinds["comment"] > 0
    reads = Counter(call.key for call in plan if call.kind == "get_issue")
    top_share = sum(count for _, count in reads.most_common(10)) / sum(reads.values())
    assert top_share > 0.3  # uniform over 300 keys would give 10/300
    assert {call.tool()[0] for call in plan} == {"jira_get_issue", "jira_search", "jira_get_transitions",
                                                 "jira_add_comment"}


@pytest.mark.parametrize("mix, message", [
    ("get_issue=50,delete=5", "unknown call kind 'delete'"),
    ("search=lots", "expected search=<weight>"),
    ("search=0", "at least one kind"),
])
def test_a_bad_mix_is_named(workload, mix: str, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError, match=message):
        workload.parse_mix(mix)


def test_compare_plugins_on_off_runs_end_to_end(tmp_path: Path) -> None:
    out = tmp_path / "compare.json"
    proc = subprocess.run(
        [sys.executable, str(BENCH / "compare_peer.py"), "--plugins-on-off", "--calls", "16", "--clients", "2",
         "--latency-ms", "0", "--duration", "60", "--output", str(out), "--work-dir", str(tmp_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=180,
    )
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    data = json.loads(out.read_text())
    runs = {run["name"]: run for run in data["runs"]}
    on, off = runs["plugins on"], runs["plugins off"]
    assert on["calls"] == off["calls"] == 16 and on["errors"] == off["errors"] == 0
    assert off["upstream_per_call"] >= 1.0  # without the cache every call reaches Jira
    assert on["upstream_requests"] <= off["upstream_requests"]
    assert on["startup_seconds"] > 0 and on["peak_rss_mib"] >= on["idle_rss_mib"] > 10
    assert data["baseline"] == "plugins off" and "plugins on / plugins off" in data["ratios"]
    assert "calls/s" in proc.stdout and "Jira requests / call" in proc.stdout and "cache hit rate" in proc.stdout
    assert on["cache_hit_rate"] is not None and off["cache_hit_rate"] is None
    assert Path(data["meta"]["logs"]).parent == tmp_path  # server and sandbox logs kept per run
    assert "[plugins on]" in proc.stderr  # progress lines
