"""Workers family: ``jiraplug serve --transport http`` with 1 worker vs ``--workers 2``.

Real processes on loopback (the emulator answering in 50 ms, the server with no client-side
rate cap), 32 MCP sessions in one client process calling ``jira_get_issue`` back to back,
cache warm (``cached``) or off (``uncached``); with cached calls that one client process is
the limit on this 2-core machine (``cpu_per_call.py --client-processes`` spreads it).
``track_`` figures, measured once for all cases in ``setup_cache`` by the same code as
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
    timeout = 900

    def setup_cache(self) -> dict[str, dict[str, float]]:
        """Every case measured once (asv calls this once for all parameters and all three ``track_``)."""
        here = str(Path(__file__).resolve().parent.parent)
        if here not in sys.path:
            sys.path.insert(0, here)
        from jiraplug.sandbox.data import generate
        from loadkit import mix

        actor = mix.actors_for(generate(1).users, ["PLAT-1"], "cloud")[0]
        work = Path(here).parent / ".tools" / "asv-workers"
        work.mkdir(parents=True, exist_ok=True)
        figures: dict[str, dict[str, float]] = {}
        for workers in self.params[0]:
            for cache in self.params[1]:
                figures[f"{workers}-{cache}"] = _measure_once_more_on_a_dropped_connection(
                    work, actor.authorization, workers, cache)
        return figures

    setup_cache.timeout = 900  # type: ignore[attr-defined]

    def track_calls_per_second(self, figures: dict[str, dict[str, float]], workers: int, cache: str) -> float:
        return figures[f"{workers}-{cache}"]["calls_per_second"]

    track_calls_per_second.unit = "calls/s"  # type: ignore[attr-defined]

    def track_p50_ms(self, figures: dict[str, dict[str, float]], workers: int, cache: str) -> float:
        return figures[f"{workers}-{cache}"]["p50_ms"]

    track_p50_ms.unit = "ms"  # type: ignore[attr-defined]

    def track_server_cpu_ms_per_call(self, figures: dict[str, dict[str, float]], workers: int, cache: str) -> float:
        return figures[f"{workers}-{cache}"]["cpu_ms_per_call"]

    track_server_cpu_ms_per_call.unit = "ms"  # type: ignore[attr-defined]


def _measure(work: Path, authorization: str, workers: int, cache: str) -> dict[str, float]:
    import cpu_per_call
    from loadkit import stack
    from peerbench import procs

    settings: dict[str, Any] = {"JIRAPLUG_RATELIMIT__RATE_LIMIT_REQUESTS_PER_SECOND": "0"}
    if cache == "uncached":
        settings["JIRAPLUG_DISABLE_PLUGINS"] = "cache"
    with procs.ProcessGroup() as group:
        sandbox = stack.start_sandbox(group, work, seed=1, latency_ms=50)
        server = stack.start_server(group, work, stack.server_env(work, sandbox.url, settings),
                                    extra_args=["--workers", str(workers)] if workers > 1 else [])
        return cpu_per_call.measure(server, authorization, "jira_get_issue", {"issue_key": "PLAT-1"}, CALLS, CLIENTS)


def _measure_once_more_on_a_dropped_connection(work: Path, authorization: str, workers: int,
                                               cache: str) -> dict[str, float]:
    """One measurement; a connection the loaded machine dropped costs one fresh attempt, said on stderr.

    32 sessions in one client process on 2 shared cores can lose a connection (an MCP client session
    then fails as a whole); that is no figure of the server's cost, but a second drop fails the run.
    """
    import httpx2

    try:
        return _measure(work, authorization, workers, cache)
    except* httpx2.TransportError as group:
        print(f"bench_workers: workers={workers} {cache}: {group.exceptions[0]!r}; measuring once more",
              file=sys.stderr)
    return _measure(work, authorization, workers, cache)
