"""Writes reported by the calls versus writes found in the sandbox: nothing lost, nothing doubled.

Every write of a run carries a unique marker (``Load check <prefix>-<n>``: in a comment's
body, a worklog's comment, a created issue's summary). After the run, the sandbox's store
is searched for markers and each is held to what its call reported:

- reported ``ok``: found exactly once (0 = lost, 2+ = duplicated);
- a tool error saying the write *may* have been applied (the server could not know, and
  said so without repeating it): found at most once;
- any other error (the server said it failed): not found (found = a write that happened
  although the caller was told it did not);
- never found more than once, whatever was reported.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from loadkit.driver import Outcome

# A server that did not repeat a write whose fate it could not know says so in these words.
UNKNOWN_OUTCOME = re.compile(r"may have been applied|may have reached Jira|outcome is unknown", re.I)


@dataclass
class Entry:
    kind: str
    target: str | None
    status: str  # ok / unknown / failed
    detail: str | None


@dataclass
class Verdict:
    """The comparison of reported writes with the sandbox's state."""

    checked: int
    ok: int
    unknown: int
    failed: int
    lost: list[str] = field(default_factory=list)  # reported ok, not found
    duplicated: list[str] = field(default_factory=list)  # found more than once
    applied_despite_error: list[str] = field(default_factory=list)  # reported failed, found
    unknown_applied: int = 0  # "may have been applied" writes that were applied
    stray: list[str] = field(default_factory=list)  # markers found that no call made

    @property
    def consistent(self) -> bool:
        return not (self.lost or self.duplicated or self.applied_despite_error or self.stray)

    def as_dict(self) -> dict[str, Any]:
        return {"consistent": self.consistent, "writes_checked": self.checked, "reported_ok": self.ok,
                "reported_unknown": self.unknown, "unknown_found_applied": self.unknown_applied,
                "reported_failed": self.failed, "lost": self.lost[:20], "duplicated": self.duplicated[:20],
                "applied_despite_error": self.applied_despite_error[:20], "stray": self.stray[:20]}


class Ledger:
    """Collects the outcome of every write call of a run (use :meth:`record` as ``on_outcome``)."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.entries: dict[str, Entry] = {}
        self._pattern = re.compile(rf"Load check ({re.escape(prefix)}-\d+)(?!\d)")

    def record(self, outcome: Outcome) -> None:
        marker = outcome.call.marker
        if marker is None:
            return
        if outcome.status == "ok":
            status = "ok"
        elif outcome.status == "tool_error" and not UNKNOWN_OUTCOME.search(outcome.detail or ""):
            status = "failed"
        else:  # a protocol error or timeout leaves the caller not knowing either
            status = "unknown"
        self.entries[marker] = Entry(outcome.call.kind, outcome.call.target, status, outcome.detail)

    def markers_in(self, texts: Iterable[str]) -> Counter[str]:
        """How often each of this run's markers occurs in ``texts``."""
        found: Counter[str] = Counter()
        for text in texts:
            found.update(self._pattern.findall(text))
        return found

    def verify(self, found: Counter[str]) -> Verdict:
        """Hold the recorded outcomes to ``found`` (marker -> occurrences in the sandbox)."""
        statuses = Counter(entry.status for entry in self.entries.values())
        verdict = Verdict(len(self.entries), statuses["ok"], statuses["unknown"], statuses["failed"])
        for marker, entry in sorted(self.entries.items()):
            count = found.get(marker, 0)
            if count > 1:
                verdict.duplicated.append(f"{marker} ({entry.kind} {entry.target}) x{count}")
            elif entry.status == "ok" and count == 0:
                verdict.lost.append(f"{marker} ({entry.kind} {entry.target})")
            elif entry.status == "failed" and count:
                verdict.applied_despite_error.append(f"{marker} ({entry.kind} {entry.target}): {entry.detail}")
            elif entry.status == "unknown" and count:
                verdict.unknown_applied += 1
        verdict.stray = sorted(m for m in found if m not in self.entries)
        return verdict


def sandbox_texts(store: Any) -> list[str]:
    """Every text a write of the workload can leave in a sandbox store: comments, worklogs, summaries."""
    from jiraplug.sandbox.richtext import to_plain

    texts = []
    with store.lock:
        for issue in store.issues:
            texts.append(issue.summary)
            texts.extend(to_plain(comment.body) for comment in issue.comments)
            texts.extend(to_plain(log.comment) for log in issue.worklogs if log.comment is not None)
    return texts
