"""Faults between a shared jiraplug HTTP server and Jira: 5xx, a 429 storm, slow bodies,
dropped connections and a Jira restart, while MCP sessions keep calling.

Every call must end as a success or a clear tool error (no protocol error, no hang), and
the sandbox must hold exactly the writes the calls reported (by unique markers). This is
the CI-sized version of ``asv_bench/faulttest.py``, built from the same ``loadkit`` code.
"""

from __future__ import annotations

import sys
from collections import Counter
from pathlib import Path

import anyio
import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "asv_bench"))

from loadkit import driver, faults, ledger, mix  # noqa: E402
from peerbench import procs  # noqa: E402

pytestmark = pytest.mark.anyio


@pytest.fixture
def fault_run(tmp_path: Path):  # type: ignore[no-untyped-def]
    with procs.ProcessGroup() as group:
        run = faults.FaultRun(tmp_path, group, seed=3)
        try:
            yield run
        finally:
            run.close()


async def test_every_call_succeeds_or_fails_clearly_and_writes_match_the_sandbox(
        fault_run: faults.FaultRun) -> None:
    phases = faults.default_phases(1.5)
    # A bound against hangs, not a timing assertion: the run takes ~20 s on a quiet machine.
    with anyio.fail_after(240):
        report = await fault_run.run(phases, sessions=4, seed=3, call_timeout=45)

    assert report.passed, report.problems()
    assert report.tally.protocol_errors == 0 and report.tally.sessions_opened == 4
    # The faults really happened: Jira answered 5xx and 429, dropped connections, restarted...
    statuses = Counter(record.status for record in fault_run.sandbox.request_log)
    assert statuses[429] and statuses[0] and (statuses[500] + statuses[502] + statuses[503]), statuses
    assert report.restarts == 1 and fault_run.restarted_at is not None
    # ... served again afterwards (arrival times are taken before the app runs) ...
    assert any(record.arrived > fault_run.restarted_at and record.status in (200, 201)
               for record in fault_run.sandbox.request_log)
    # ... and callers were told: some calls failed, with clear tool errors, and others went through.
    assert report.tally.by_status["tool_error"] > 0 and report.tally.by_status["ok"] > 0
    verdict = report.verdict
    assert verdict.ok > 0 and verdict.checked == verdict.ok + verdict.failed + verdict.unknown
    assert report.by_phase["recovery"]["ok"] > 0 and set(report.probe.values()) == {"ok"}


def _outcome(marker: str, status: str, detail: str | None = None) -> driver.Outcome:
    actor = mix.Actor("alice", "Basic x", ("PLAT-1",), ("PLAT-1",), ("PLAT",), ("PLAT",))
    call = mix.Call("comment", actor, "jira_add_comment", {}, marker=marker, target="PLAT-1")
    return driver.Outcome(call, status, 0.1, 0.0, detail)


def test_ledger_finds_lost_duplicated_and_unreported_writes() -> None:
    book = ledger.Ledger("ft9")
    book.record(_outcome("ft9-1", "ok"))  # found once: fine
    book.record(_outcome("ft9-2", "ok"))  # not found: lost
    book.record(_outcome("ft9-3", "ok"))  # found twice: duplicated
    book.record(_outcome("ft9-4", "tool_error", "Jira had an internal error (500)"))  # found: applied anyway
    book.record(_outcome("ft9-5", "tool_error", "comment.add may have been applied by Jira: ..."))  # either way
    book.record(_outcome("ft9-6", "tool_error", "Jira had an internal error (500)"))  # not found: fine
    texts = ["Load check ft9-1", "Load check ft9-3", "x Load check ft9-3", "Load check ft9-4",
             "Load check ft9-5", "Load check ft9-10", "Load check ft8-2"]
    verdict = book.verify(book.markers_in(texts))
    assert not verdict.consistent
    assert [entry.split()[0] for entry in verdict.lost] == ["ft9-2"]
    assert [entry.split()[0] for entry in verdict.duplicated] == ["ft9-3"]
    assert [entry.split()[0] for entry in verdict.applied_despite_error] == ["ft9-4"]
    assert verdict.unknown_applied == 1 and verdict.stray == ["ft9-10"]  # ft9-1 is not a prefix match


def test_unclear_tool_errors_are_recognised() -> None:
    assert faults.is_clear("Error executing tool jira_get_issue: Not found in Jira (404, issue.get PLAT-9)")
    assert not faults.is_clear("Error executing tool jira_get_issue")  # the SDK hid an unexpected exception
    assert not faults.is_clear('Traceback (most recent call last):\n  File "/work/main/core/x.py"')
