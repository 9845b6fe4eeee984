"""asv_bench/history.py: the committed history and the CI comparison's 2x rule."""

from __future__ import annotations

import importlib.util
import json
import math
import subprocess
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]


def history() -> ModuleType:
    spec = importlib.util.spec_from_file_location("asv_history", ROOT / "asv_bench" / "history.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def result(**values: object) -> dict:
    return {"results": {name: [value] for name, value in values.items()}}


def test_only_a_2x_regression_of_the_same_benchmark_fails() -> None:
    h = history()
    reference = result(time_a=1.0, time_b=[1.0, 2.0], time_c=1.0, time_gone=1.0)
    head = result(time_a=1.9, time_b=[1.0, 4.5], time_c=math.nan, time_new=100.0)
    assert h.regressions(reference, head, 2.0) == ["time_b[1]: 2 -> 4.5 (2.25x)"]
    assert h.regressions(reference, result(time_a=0.1), 2.0) == []  # faster is never a failure


def test_a_recheck_keeps_the_best_sample() -> None:
    h = history()
    first = result(time_a=3.0, time_b=[5.0, 1.0])
    merged = h.best_of(first, result(time_a=1.2, time_b=[2.0, math.nan]))
    assert merged["results"] == {"time_a": [1.2], "time_b": [[2.0, 1.0]]}


def test_the_committed_history_has_at_least_eight_commits_of_main_on_the_reference_machine() -> None:
    h = history()
    recorded = h.recorded()
    measured = {commit: data for commit, data in recorded.items()
                if any(isinstance(v, (int, float)) and not math.isnan(v)
                       for row in data["results"].values() for v in h._flat(row[0]))}
    assert len(measured) >= 8, sorted(commit[:8] for commit in measured)
    machine = json.loads((h.HISTORY / "machine.json").read_text())
    assert machine["machine"] == h.MACHINE
    for commit in recorded:  # every point is a real commit of this repository
        assert subprocess.run(["git", "cat-file", "-e", f"{commit}^{{commit}}"], cwd=ROOT).returncode == 0
    tracked = subprocess.run(["git", "check-ignore", "-q", str(h.HISTORY / "x.json")], cwd=ROOT).returncode
    assert tracked == 1, "the reference machine's results must not be gitignored"


def test_a_recheck_selects_parameterised_benchmarks_and_only_those_named() -> None:
    import re

    pattern = history().bench_filter(["bench_startup.timeraw_first_tools_list", "bench_markup.time_wiki"])
    assert re.search(pattern, "bench_startup.timeraw_first_tools_list(all plugins)")  # asv's parameterised name
    assert re.search(pattern, "bench_markup.time_wiki")
    assert not re.search(pattern, "bench_markup.time_wiki_to_markdown")
    assert not re.search(pattern, "bench_startup.timeraw_import_server")
