"""Statistics of a run, the side-by-side table, ratios and the JSON document."""

from __future__ import annotations

import re
import statistics
from collections import Counter
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from peerbench.workload import Played

MIB = 1024 * 1024
_ISSUE_KEY = re.compile(r"/[A-Z][A-Z0-9_]+-\d+(?=/|$)")
_NUMBER = re.compile(r"(?<!/api)(?<!/agile)/\d+(?=/|$)")  # ids, not the API version


@dataclass
class RunStats:
    """Everything measured about one server in one run."""

    name: str
    calls: int
    errors: int
    seconds: float
    calls_per_second: float
    latency_ms: dict[str, float]
    by_kind: dict[str, dict[str, Any]]
    upstream_requests: int
    upstream_per_call: float | None
    upstream_by_endpoint: dict[str, int]
    startup_seconds: float
    startup_upstream_requests: int
    idle_rss_mib: float
    peak_rss_mib: float
    tools: int
    protocol: str | None
    cache_hit_rate: float | None = None  # the server's own figure, where it publishes one
    skipped: dict[str, int] = field(default_factory=dict)
    error_samples: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def percentiles(values: Sequence[float]) -> dict[str, float]:
    """p50 / p95 / p99 / mean of ``values`` (seconds) in milliseconds."""
    if not values:
        return {"p50": 0.0, "p95": 0.0, "p99": 0.0, "mean": 0.0}
    ms = [v * 1000 for v in values]
    if len(ms) == 1:
        return {"p50": ms[0], "p95": ms[0], "p99": ms[0], "mean": ms[0]}
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    return {"p50": round(cuts[49], 3), "p95": round(cuts[94], 3), "p99": round(cuts[98], 3),
            "mean": round(statistics.fmean(ms), 3)}


def endpoint(record: dict[str, Any]) -> str:
    """``GET /rest/api/2/issue/{key}``: a request log record with keys and ids folded."""
    path = _NUMBER.sub("/{id}", _ISSUE_KEY.sub("/{key}", record["path"]))
    return f"{record['method']} {path}"


def summarise(name: str, played: Played, upstream: Sequence[dict[str, Any]], *, startup_seconds: float,
              startup_upstream: int, idle_rss: int, peak_rss: int, tools: int, protocol: str | None,
              notes: list[str], cache_hit_rate: float | None = None) -> RunStats:
    """The statistics of one run from its outcomes and the sandbox's request log of the run."""
    outcomes = played.outcomes
    errors = [o.error for o in outcomes if o.error]
    kinds: dict[str, dict[str, Any]] = {}
    for kind in sorted({o.kind for o in outcomes}):
        mine = [o for o in outcomes if o.kind == kind]
        kinds[kind] = {"calls": len(mine), "errors": sum(o.error is not None for o in mine),
                       "latency_ms": percentiles([o.seconds for o in mine])}
    return RunStats(
        name=name,
        calls=len(outcomes),
        errors=len(errors),
        seconds=round(played.seconds, 3),
        calls_per_second=round(len(outcomes) / played.seconds, 2) if played.seconds > 0 else 0.0,
        latency_ms=percentiles([o.seconds for o in outcomes]),
        by_kind=kinds,
        upstream_requests=len(upstream),
        upstream_per_call=round(len(upstream) / len(outcomes), 3) if outcomes else None,
        upstream_by_endpoint=dict(Counter(endpoint(r) for r in upstream).most_common()),
        startup_seconds=round(startup_seconds, 3),
        startup_upstream_requests=startup_upstream,
        idle_rss_mib=round(idle_rss / MIB, 1),
        peak_rss_mib=round(peak_rss / MIB, 1),
        tools=tools,
        protocol=protocol,
        cache_hit_rate=cache_hit_rate,
        skipped=dict(played.skipped),
        error_samples=list(dict.fromkeys(errors))[:5],
        notes=notes,
    )


# (label, getter, format, better) rows of the side-by-side table.
ROWS: list[tuple[str, Any, str, str]] = [
    ("calls/s", lambda s: s.calls_per_second, "{:.1f}", "higher"),
    ("latency p50 (ms)", lambda s: s.latency_ms["p50"], "{:.1f}", "lower"),
    ("latency p95 (ms)", lambda s: s.latency_ms["p95"], "{:.1f}", "lower"),
    ("latency p99 (ms)", lambda s: s.latency_ms["p99"], "{:.1f}", "lower"),
    ("Jira requests / call", lambda s: s.upstream_per_call, "{:.2f}", "lower"),
    ("cache hit rate (%)", lambda s: None if s.cache_hit_rate is None else s.cache_hit_rate * 100, "{:.1f}", ""),
    ("peak RSS (MiB)", lambda s: s.peak_rss_mib, "{:.1f}", "lower"),
    ("idle RSS (MiB)", lambda s: s.idle_rss_mib, "{:.1f}", "lower"),
    ("start-up to tools/list (s)", lambda s: s.startup_seconds, "{:.2f}", "lower"),
    ("errors", lambda s: s.errors, "{}", ""),
    ("calls made", lambda s: s.calls, "{}", ""),
    ("tools offered", lambda s: s.tools, "{}", ""),
]


def ratios(runs: Sequence[RunStats], baseline: RunStats) -> dict[str, dict[str, float | None]]:
    """``run / baseline`` for every numeric row, per run other than the baseline."""
    out: dict[str, dict[str, float | None]] = {}
    for run in runs:
        if run is baseline:
            continue
        row: dict[str, float | None] = {}
        for label, get, _, better in ROWS:
            if not better:
                continue
            mine, theirs = get(run), get(baseline)
            row[label] = round(mine / theirs, 3) if mine is not None and theirs else None
        out[f"{run.name} / {baseline.name}"] = row
    return out


def table(runs: Sequence[RunStats], baseline: RunStats | None) -> str:
    """Side by side: one column per run, then one ratio column per run against ``baseline``.

    With more than two runs the ratios get a block of their own, so lines stay readable.
    """
    others = [r for r in runs if r is not baseline] if baseline is not None else []
    values = [[label, *("n/a" if get(run) is None else fmt.format(get(run)) for run in runs)]
              for label, get, fmt, _ in ROWS]
    ratio_rows = []
    for label, get, _, better in ROWS:
        if better and baseline is not None:
            ratio_rows.append([label, *(_ratio(get(run), get(baseline)) for run in others)])
    value_header = ["", *(run.name for run in runs)]
    if baseline is None or not others:
        return _grid(value_header, values)
    ratio_header = ["", *(f"{run.name} / {baseline.name}" for run in others)]
    if len(runs) == 2:
        by_label = {row[0]: row[1:] for row in ratio_rows}
        merged = [[*row, *by_label.get(row[0], [""])] for row in values]
        return _grid(value_header + ratio_header[1:], merged)
    return (_grid(value_header, values) + f"\n\nratios against {baseline.name}\n"
            + _grid(["", *(run.name for run in others)], ratio_rows))


def _ratio(mine: float | None, theirs: float | None) -> str:
    return f"{mine / theirs:.2f}x" if mine is not None and theirs else "n/a"


def _grid(header: list[str], rows: list[list[str]]) -> str:
    lines = [header, *rows]
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    rendered = ["  ".join(cell.ljust(widths[i]) if i == 0 else cell.rjust(widths[i]) for i, cell in enumerate(row))
                for row in lines]
    return "\n".join([rendered[0], "-" * len(rendered[0]), *rendered[1:]])


def endpoints_table(runs: Sequence[RunStats]) -> str:
    """Jira requests per endpoint during the measured window, per run."""
    names = sorted({name for run in runs for name in run.upstream_by_endpoint},
                   key=lambda n: -max(run.upstream_by_endpoint.get(n, 0) for run in runs))
    width = max([len(n) for n in names] + [len("Jira endpoint")])
    lines = ["Jira endpoint".ljust(width) + "".join(f"  {run.name:>16}" for run in runs)]
    for name in names:
        lines.append(name.ljust(width) + "".join(f"  {run.upstream_by_endpoint.get(name, 0):>16}" for run in runs))
    return "\n".join(lines)
