"""Recent writes, so a read can tell whether one that may stale its answer ran meanwhile.

A read that was in flight while a write ran may carry a pre-write answer; it must not be
stored. Asking "did *any* write run?" is safe but, on a shared server where some write is
always running, means nothing is ever stored. So each write is logged with the tags it
evicts, and a read is refused only when a write since it started names one of the read's
own tags: exactly the writes whose eviction would have dropped it. The log keeps the latest
``size`` writes; a read older than all of them is refused (correctness first).
"""

from __future__ import annotations

from collections import deque
from collections.abc import Set


class WriteLog:
    """A sequence number per write, and the tags of the latest ``size`` writes."""

    def __init__(self, size: int = 4096) -> None:
        self._seq = 0
        self._recent: deque[tuple[int, frozenset[str] | None]] = deque(maxlen=size)

    @property
    def seq(self) -> int:
        """Number of the latest write (a read notes it when it starts)."""
        return self._seq

    def record(self, tags: Set[str] | None) -> None:
        """A write that evicts ``tags`` (``None``: it clears everything)."""
        self._seq += 1
        self._recent.append((self._seq, None if tags is None else frozenset(tags)))

    def stales(self, since: int, tags: Set[str]) -> bool:
        """Whether a write after number ``since`` may have changed an answer tagged ``tags``."""
        if since >= self._seq:
            return False
        if not self._recent or self._recent[0][0] > since + 1:
            return True  # some of those writes are forgotten: assume the worst
        for seq, written in reversed(self._recent):
            if seq <= since:
                break
            if written is None or not written.isdisjoint(tags):
                return True
        return False
