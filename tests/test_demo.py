"""``jiraplug demo``: run as a user runs it (a subprocess), check the table adds up."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

CALLS = 12


def run_demo(tmp_path: Path, *args: str) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path / "demo.json"
    proc = subprocess.run(
        [sys.executable, "-m", "jiraplug", "demo", "--calls", str(CALLS), "--latency-ms", "0",
         "--json", str(out), *args],
        cwd=tmp_path, capture_output=True, text=True, timeout=120,
    )
    return proc, (json.loads(out.read_text()) if out.exists() else {})


def table(stdout: str) -> dict[str, str]:
    """The closing table's rows, label -> value (the block between the two rules)."""
    lines = stdout.splitlines()
    rules = [n for n, line in enumerate(lines) if len(line) >= 20 and set(line) == {"-"}]
    assert len(rules) == 2, stdout[-3000:]
    rows = {}
    for line in lines[rules[0] + 1 : rules[1]]:
        label, _, value = re.split(r"(\s{2,})", line.strip(), maxsplit=1)
        rows[label] = value.strip()
    return rows


def number(text: str) -> float:
    return float(re.match(r"[\d.]+", text)[0])  # type: ignore[index]


@pytest.fixture(scope="module")
def default_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    return run_demo(tmp_path_factory.mktemp("demo"))


def test_demo_runs_a_scripted_session_and_ends_with_a_consistent_table(default_run) -> None:  # type: ignore[no-untyped-def]
    proc, data = default_run
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    progress = [line for line in proc.stdout.splitlines() if re.match(rf"\[\s*\d+/{CALLS}\]", line)]
    assert len(progress) == CALLS
    steps = [line.split()[2] for line in progress]
    assert steps[0] == "search" and "write" in steps and "re-read" in steps and "repeat" in steps
    assert "the new comment is in the re-read" in proc.stdout

    rows, summary, calls = table(proc.stdout), data["summary"], data["calls"]
    assert rows["calls"] == f"{CALLS} (0 errors)" and summary["calls"] == len(calls) == CALLS
    latencies = sorted(call["milliseconds"] for call in calls)
    assert latencies[0] <= summary["p50_ms"] <= summary["p95_ms"] <= latencies[-1]
    assert rows["latency p50"] == f"{summary['p50_ms']:.1f} ms"
    # Jira requests: every one the tools asked for was either sent or saved (retries are extra sends).
    sent = sum(call["jira_requests"] for call in calls)
    assert summary["jira_requests_sent"] == sent
    assert summary["requests_saved"] == summary["jira_requests_asked"] - sent + (summary["retries"] or 0)
    assert rows["upstream requests saved"] == str(summary["requests_saved"])
    assert rows["jira requests"] == f"{summary['jira_requests_asked']} asked by tools, {sent} sent to Jira"
    assert rows["stale reads after writes"] == "0"
    assert rows["retries"] == str(summary["retries"]) and summary["retries"] == 0  # no faults injected


def test_demo_cache_figures_agree_with_what_reached_jira(default_run) -> None:  # type: ignore[no-untyped-def]
    proc, data = default_run
    summary, rows = data["summary"], table(proc.stdout)
    if summary["cache_hit_rate"] is None:
        pytest.skip("the cache plugin is not available")
    # Repeated reads were answered without Jira, and the cache's own counters say the same.
    assert summary["requests_saved"] >= 3
    assert summary["requests_saved"] == summary["cache_hits"] + summary["cache_coalesced"]
    assert rows["cache hit rate"].startswith(f"{summary['cache_hit_rate'] * 100:.1f}%")
    assert summary["cache_hits"] / summary["cache_reads"] == pytest.approx(summary["cache_hit_rate"], abs=1e-3)
    cached_calls = [c for c in data["calls"] if c["jira_requests"] == 0]
    assert cached_calls and all(c["step"] in ("repeat", "re-read", "read") for c in cached_calls)


def test_demo_without_the_cache_sends_every_request(tmp_path: Path) -> None:
    proc, data = run_demo(tmp_path, "--disable", "cache")
    assert proc.returncode == 0, proc.stdout[-2000:] + proc.stderr[-2000:]
    summary, rows = data["summary"], table(proc.stdout)
    assert "off: cache" in proc.stdout
    assert rows["cache hit rate"] == "n/a" and summary["cache_hit_rate"] is None
    assert summary["requests_saved"] == 0
    assert summary["jira_requests_asked"] == summary["jira_requests_sent"] >= CALLS
    assert all(call["jira_requests"] >= 1 for call in data["calls"])


def test_demo_rejects_bad_arguments_in_one_line(tmp_path: Path) -> None:
    proc = subprocess.run([sys.executable, "-m", "jiraplug", "demo", "--calls", "0"], cwd=tmp_path,
                          capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "jiraplug demo: error: argument --calls: expected a whole number >= 1, got '0' (see --help)"
    ]
