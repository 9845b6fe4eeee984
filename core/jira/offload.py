"""Run CPU-heavy rich-text work (Markdown <-> ADF / wiki markup) off the event loop.

A conversion is pure Python: run on the event loop, a large body would stall every other
request of the process (``/healthz`` included) for as long as it takes. :func:`off_loop`
runs it on a worker thread instead, at most ``tools.markup_workers`` at a time, and gives
up waiting after ``tools.markup_timeout_seconds`` with a :class:`MarkupTooSlow` tool error.

A worker slot stays taken until the thread really finishes, even when its caller stopped
waiting: a thread cannot be interrupted, and freeing its slot early would let abandoned
conversions pile up. The converters are linear and tool arguments are capped
(``tools.max_text_chars``), so an abandoned conversion still ends soon.
"""

from __future__ import annotations

import contextvars
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import anyio
import anyio.from_thread
import anyio.lowlevel
import anyio.to_thread

from jiraplug.tool_errors import UserFacingError

if TYPE_CHECKING:
    from jiraplug.settings import ToolsSettings

T = TypeVar("T")

#: Text this short converts in well under a millisecond per kilobyte, hostile or not: it is
#: converted in place, so ordinary calls need no worker (and are never queued behind one).
INLINE_CHARS = 4096


#: A tool call that read at most this much JSON from Jira renders its answer in place (see
#: :func:`read_little`): rendering takes about 20 us per KB of Jira JSON (0.6 ms at the limit,
#: no more than decoding it took), while a trip to a worker thread and back costs 0.3-0.5 ms of
#: CPU for any size (measured with Jira answering in 50 ms; see docs/benchmarks.md).
INLINE_RENDER_BYTES = 32 * 1024

_jira_bytes: contextvars.ContextVar[list[int] | None] = contextvars.ContextVar("jiraplug_jira_bytes", default=None)


@contextmanager
def counting_reads() -> Iterator[None]:
    """Count the bytes of the Jira answers decoded inside the block (tasks it starts included)."""
    token = _jira_bytes.set([0])  # a mutable cell: a task started inside adds to the same count
    try:
        yield
    finally:
        _jira_bytes.reset(token)


def note_read(nbytes: int) -> None:
    """Add one decoded Jira answer of ``nbytes`` to the count of the enclosing :func:`counting_reads`."""
    count = _jira_bytes.get()
    if count is not None:
        count[0] += nbytes


def read_little() -> bool:
    """Whether the code running counts its Jira reads and they total at most ``INLINE_RENDER_BYTES``."""
    count = _jira_bytes.get()
    return count is not None and count[0] <= INLINE_RENDER_BYTES


class MarkupTooSlow(UserFacingError):
    """A conversion did not finish (or could not start) within the time limit."""


@dataclass(frozen=True)
class OffloadLimits:
    """How long a text may be, how many conversions may run at once, and how long a caller waits.

    One per Jira client, from the ``[tools]`` settings (:meth:`from_settings`); the defaults
    are those settings' defaults.
    """

    max_text_chars: int = 131_072
    workers: int = 2
    timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls, tools: ToolsSettings) -> OffloadLimits:
        return cls(max_text_chars=tools.max_text_chars, workers=tools.markup_workers,
                   timeout_seconds=tools.markup_timeout_seconds)


_limiter: anyio.lowlevel.RunVar[anyio.CapacityLimiter] = anyio.lowlevel.RunVar("jiraplug_markup_limiter")


async def off_loop(func: Callable[..., T], *args: object, what: str, limits: OffloadLimits = OffloadLimits()) -> T:
    """``func(*args)`` on a worker thread; the caller's context (current tool call) goes along.

    ``what`` names the work in the error (``"body"``, ``"the comments"``). Raises
    :class:`MarkupTooSlow` when no result arrives within the time limit, waiting for a free
    worker included.
    """
    limiter = _workers(limits.workers)
    borrower = object()
    job = _Job()
    token = anyio.lowlevel.current_token()

    def work() -> T | None:
        with job.lock:
            if job.abandoned:  # the caller gave up before the thread started: it freed the slot
                return None
            job.started = True
        try:
            return func(*args)
        finally:
            try:
                anyio.from_thread.run_sync(limiter.release_on_behalf_of, borrower, token=token)
            except RuntimeError:  # the event loop is gone: so is the limiter
                pass

    acquired = False
    try:
        with anyio.fail_after(limits.timeout_seconds):
            await limiter.acquire_on_behalf_of(borrower)
            acquired = True
            return await anyio.to_thread.run_sync(work, abandon_on_cancel=True)  # type: ignore[return-value]
    except TimeoutError:
        raise MarkupTooSlow(
            f"converting {what} took longer than {limits.timeout_seconds:g} s "
            "(tools.markup_timeout_seconds); try a shorter or simpler text"
        ) from None
    finally:
        if acquired:
            with job.lock:
                job.abandoned = True
                started = job.started
            if not started:
                limiter.release_on_behalf_of(borrower)


class _Job:
    """Whether the worker thread has started, and whether its caller stopped waiting."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.started = False
        self.abandoned = False


def _workers(count: int) -> anyio.CapacityLimiter:
    """This event loop's limiter, resized to ``count`` when the setting changed."""
    try:
        limiter = _limiter.get()
    except LookupError:
        limiter = anyio.CapacityLimiter(count)
        _limiter.set(limiter)
    if limiter.total_tokens != count:
        limiter.total_tokens = count
    return limiter
