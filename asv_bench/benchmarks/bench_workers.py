"""Workers family: ``jiraplug serve --transport http`` with 1 worker vs ``--workers 2``.

Real processes on loopback (the emulator answering in 50 ms, the server with no client-side
rate cap), 32 MCP sessions in one client process calling ``jira_get_issue`` back to back,
cache warm (``cached``) or off (``uncached``); with cached calls that one client process is
the limit on this 2-core machine (``cpu_per_call.py --client-processes`` spreads it). ``track_`` figures, measured once in ``setup`` by the same code as
``asv_bench/cpu_per_call.py``: calls/s, p50 latency, and the server's CPU per call (the
supervisor and its workers together). Client, server and emulator share the machine's cores:
read the ratio between the two worker counts, not the absolute figures.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

CALLS = 400
CLIENTS = 32


class ServeWorkers:
    params = ([1, 2], ["cached", "uncached"])
    param_names = ["workers", "cache"]
    timeout = 300
    figures: dict[str, float] | None = None

    def setup(self, workers: int, cache: str) -> None:
        here = str(Path(__file__).resolve().parent.parent)
        if here not in sys.path:
            sys.path.insert(0, here)
        import cpu_per_call
        from loadkit import mix, stack
        from peerbench import procs

        from jiraplug.sandbox.data import generate

        actor = mix.actors_for(generate(1).users, ["PLAT-1"], "cloud")[0]
        work = Path(here).parent / ".tools" / "asv-workers"
        work.mkdir(parents=True, exist_ok=True)
        settings: dict[str, Any] = {"JIRAPLUG_RATELIMIT__RATE_LIMIT_REQUESTS_PER_SECOND": "0"}
        if cache == "uncached":
            settings["JIRAPLUG_DISABLE_PLUGINS"] = "cache"
        with procs.ProcessGroup() as group:
            sandbox = stack.start_sandbox(group, work, seed=1, latency_ms=50)
            server = stack.start_server(group, work, stack.server_env(work, sandbox.url, settings),
                                        extra_args=["--workers", str(workers)] if workers > 1 else [])
            self.figures = cpu_per_call.measure(server, actor.authorization, "jira_get_issue",
                                                {"issue_key": "PLAT-1"}, CALLS, CLIENTS)

    def track_calls_per_second(self, workers: int, cache: str) -> float:
        assert self.figures is not None
        return self.figures["calls_per_second"]

    track_calls_per_second.unit = "calls/s"  # type: ignore[attr-defined]

    def track_p50_ms(self, workers: int, cache: str) -> float:
        assert self.figures is not None
        return self.figures["p50_ms"]

    track_p50_ms.unit = "ms"  # type: ignore[attr-defined]

    def track_server_cpu_ms_per_call(self, workers: int, cache: str) -> float:
        assert self.figures is not None
        return self.figures["cpu_ms_per_call"]

    track_server_cpu_ms_per_call.unit = "ms"  # type: ignore[attr-defined]
