"""The load script works end to end at CI size: a real sandbox and ``jiraplug serve
--transport http``, sessions in two client processes acting as several users, every call
counted, the server's RSS sampled at start, middle and end of a ``--calls`` run.

Figures (calls/s, latency) are not asserted: speed belongs in the real run
(docs/operations.md). What is asserted could fail: zero protocol errors, every session open,
every kind of call made and answered, the result document complete.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "asv_bench" / "loadtest.py"


def run_script(*args: str, timeout: float = 150) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *args], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, stdin=subprocess.DEVNULL)


def test_a_small_load_run_has_no_protocol_errors_and_reports_memory(tmp_path: Path) -> None:
    output = tmp_path / "load.json"
    # Paced (think time) so that the run lasts a few seconds: RSS is sampled once a second.
    done = run_script("--sessions", "12", "--workers", "2", "--calls", "400", "--think-ms", "100", "--latency-ms", "2",
                      "--output", str(output), "--work-dir", str(tmp_path / "work"))
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result = json.loads(output.read_text())
    assert result["sessions"] == {"wanted": 12, "opened": 12, "failed": 0, "closed_uncleanly": 0}
    assert result["protocol_errors"] == 0 and result["tool_errors"] == 0
    assert result["calls"] >= 400 and result["by_status"]["ok"] == result["calls"]
    assert set(result["by_kind"]) == {"get_issue", "search", "transitions", "comment", "worklog"}
    marks = result["memory_marks"]
    assert set(marks) == {"start", "middle", "end"} and marks["start"]["calls"] <= marks["middle"]["calls"]
    assert result["server_rss_mib"]["peak"] >= marks["end"]["rss_mib"] > 0
    assert result["meta"]["workload"]["client_processes"] == 2
    assert "calls/s" in done.stdout and "loadtest:" not in done.stdout  # progress goes to stderr
    assert "loadtest:" in done.stderr and "sandbox-api-token" not in done.stdout + done.stderr


def test_more_sessions_than_slots_and_the_old_queue_get_no_busy_error_with_the_default_pool(tmp_path: Path) -> None:
    """120 sessions calling back to back: 32 run, the rest wait (more than the old 64-place queue held).

    With admission by expected wait the default pool queues them all: no call is refused as busy.
    """
    output = tmp_path / "load.json"
    done = run_script("--sessions", "120", "--workers", "2", "--calls", "1200", "--latency-ms", "20",
                      "--mix", "get_issue=60,search=40", "--output", str(output), "--work-dir", str(tmp_path / "work"),
                      timeout=240)
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    result = json.loads(output.read_text())
    pool_admission = {"JIRAPLUG_POOL__MAX_CONCURRENT_TASKS", "JIRAPLUG_POOL__QUEUE_SIZE",
                      "JIRAPLUG_POOL__QUEUE_TIMEOUT_SECONDS"}
    assert not pool_admission & set(result["meta"]["server_settings"]), "the run must use the default admission"
    assert result["sessions"]["opened"] == 120 and result["calls"] >= 1200
    assert result["tool_errors"] == 0, result["error_samples"]
    assert result["protocol_errors"] == 0


def test_bad_arguments_are_refused_with_a_clear_message(tmp_path: Path) -> None:
    done = run_script("--sessions", "4", "--mix", "get_issue=1,frobnicate=2", timeout=60)
    assert done.returncode == 2 and "unknown call kind 'frobnicate'" in done.stderr
    done = run_script("--sessions", "2", "--workers", "3", timeout=60)
    assert done.returncode == 2 and "--workers must be between 1 and --sessions" in done.stderr
