"""On-demand sampling profile of the live server (pyinstrument, the optional extra ``profiling``).

pyinstrument samples the thread it is started on. The admin tool starts it on the event-loop
thread with ``async_mode="disabled"``, so for the requested seconds every coroutine that
runs there (other clients' tool calls, the Jira client, middleware) is sampled, not just the
tool's own ``await``. Nothing is imported or running unless a profile is asked for.
"""

from __future__ import annotations

import inspect
from typing import Literal

import anyio

from jiraplug.tool_errors import UserFacingError

ProfileFormat = Literal["html", "speedscope"]

class ProfileRunner:
    """Runs at most one profile at a time (pyinstrument allows one per thread)."""

    def __init__(self, interval_seconds: float, max_seconds: float) -> None:
        self._interval = interval_seconds
        self._max = max_seconds
        self._busy = False

    async def profile(self, seconds: float, fmt: ProfileFormat) -> str:
        """Sample the event-loop thread for ``seconds`` and render the result in ``fmt``."""
        if not 0 < seconds <= self._max:
            raise UserFacingError(
                f"seconds = {seconds!r}: expected more than 0 and at most {self._max:g} "
                "([profiling] max_profile_seconds)"
            )
        if fmt not in ("html", "speedscope"):
            raise UserFacingError(f"format = {fmt!r}: expected 'html' or 'speedscope'")
        try:
            from pyinstrument import Profiler
            from pyinstrument.renderers import HTMLRenderer, SpeedscopeRenderer
        except ImportError:
            raise UserFacingError(
                "pyinstrument is not installed on the server: install the extra with "
                "pip install 'jiraplug[profiling]'"
            ) from None
        if self._busy:
            raise UserFacingError("a profile is already running on this server; try again when it ends")
        self._busy = True
        try:
            profiler = Profiler(interval=self._interval, async_mode="disabled")
            profiler.start(caller_frame=inspect.currentframe(), target_description="jiraplug live server")
            try:
                await anyio.sleep(seconds)
            finally:
                session = profiler.stop()
        finally:
            self._busy = False
        # A live server idles most of the time: keep short frames (show_all) instead of
        # dropping everything under 1% of the wall time, or the tool calls vanish.
        renderer = HTMLRenderer() if fmt == "html" else SpeedscopeRenderer(show_all=True)
        return renderer.render(session)
