"""A thread-safe log of the requests the sandbox served."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Sequence
from typing import NamedTuple, overload

__all__ = ["RequestRecord", "RequestLog"]


class _Served(NamedTuple):
    method: str
    path: str
    status: int


class RequestRecord(_Served):
    """One served request. ``status`` is 0 when the connection was dropped on purpose.

    ``arrived`` is the :func:`time.monotonic` instant the request reached the sandbox, taken
    before the app (and the latency knob) ran, so records can be placed on one clock with a
    client's own timings (e.g. "did this request arrive after the restart?"). It defaults to
    the moment the record is made. It is metadata: a record is still the tuple
    ``(method, path, status)`` and compares equal to one, whatever its arrival time.
    """

    arrived: float

    def __new__(cls, method: str, path: str, status: int, arrived: float | None = None) -> RequestRecord:
        record = super().__new__(cls, method, path, status)
        # A NamedTuple keeps fields in the tuple; an attribute keeps equality and unpacking 3-wide.
        record.arrived = time.monotonic() if arrived is None else float(arrived)
        return record

    def _replace(self, **changes: object) -> RequestRecord:  # type: ignore[override]
        arrived = changes.pop("arrived", self.arrived)
        return RequestRecord(*super()._replace(**changes), arrived=arrived)  # type: ignore[arg-type]

    def __repr__(self) -> str:
        return (f"RequestRecord(method={self.method!r}, path={self.path!r}, status={self.status!r}, "
                f"arrived={self.arrived!r})")


class RequestLog(Sequence[RequestRecord]):
    """An append-only, thread-safe sequence of :class:`RequestRecord` (``clear()`` resets it).

    It behaves like a read-only list (``len``, indexing, slicing, ``in``, ``count``,
    comparison with a list); reads use snapshots, so iterating while the server appends
    is safe.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._records: list[RequestRecord] = []

    def append(self, record: RequestRecord) -> None:
        """Add one record."""
        with self._lock:
            self._records.append(record)

    def clear(self) -> None:
        """Forget every record."""
        with self._lock:
            self._records.clear()

    def snapshot(self) -> list[RequestRecord]:
        """A copy of the records so far."""
        with self._lock:
            return list(self._records)

    copy = snapshot

    def __contains__(self, item: object) -> bool:
        return item in self.snapshot()

    def __len__(self) -> int:
        with self._lock:
            return len(self._records)

    @overload
    def __getitem__(self, index: int) -> RequestRecord: ...

    @overload
    def __getitem__(self, index: slice) -> list[RequestRecord]: ...

    def __getitem__(self, index: int | slice) -> RequestRecord | list[RequestRecord]:
        with self._lock:
            return self._records[index]

    def __iter__(self) -> Iterator[RequestRecord]:
        return iter(self.snapshot())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RequestLog):
            return self.snapshot() == other.snapshot()
        if isinstance(other, list):
            return self.snapshot() == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"RequestLog({self.snapshot()!r})"
