"""Stage checkpoints inside a tool call, for profiling.

Code on the request path marks its stages (``with stage(JIRA_REQUEST): ...``); whoever
listens for the current call (the ``profiling`` plugin, through :func:`listening`) turns
them into span events and histograms. With nobody listening a stage costs one context
variable lookup, so marking stages is free when profiling is off.

Plugin authors add their own checkpoints the same way, with names of their own that start
with the plugin's name (``cache.lookup``, ``pool.wait``, ``ratelimit.wait`` are the built-in
plugins' and are defined by those plugins).
"""

from __future__ import annotations

import contextvars
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import Any

# The core's stage names; a plugin names its own with a dotted prefix (e.g. "myplugin.step").
VALIDATION = "validation"
JIRA_REQUEST = "jira.request"
PARSE = "parse"
RENDER = "render"

StageListener = Callable[[str, float, Mapping[str, Any]], None]
"""Called with (stage name, duration in seconds, attributes) when a stage ends."""

_listener: contextvars.ContextVar[StageListener | None] = contextvars.ContextVar("jiraplug_stage", default=None)


@contextmanager
def stage(name: str, **attributes: Any) -> Iterator[dict[str, Any]]:
    """Time the block as stage ``name`` of the current tool call (if anyone listens).

    Yields the stage's attributes, so the block can add what it learns on the way
    (``with stage("cache.lookup") as found: found["hit"] = True``).
    """
    listener = _listener.get()
    if listener is None:
        yield attributes
        return
    started = time.perf_counter()
    try:
        yield attributes
    finally:
        listener(name, time.perf_counter() - started, attributes)


def record_stage(name: str, seconds: float, **attributes: Any) -> None:
    """Report a stage measured elsewhere (e.g. a wait whose length is known afterwards)."""
    listener = _listener.get()
    if listener is not None:
        listener(name, seconds, attributes)


@contextmanager
def listening(listener: StageListener) -> Iterator[None]:
    """Send the stages of the code run inside the block to ``listener``."""
    token = _listener.set(listener)
    try:
        yield
    finally:
        _listener.reset(token)
