"""Every converter finishes, and gets the text right, on hostile input (issue 19 point 3).

Nothing here is timed. Each case runs in a worker process with a generous time limit as a
safety net only: a linear conversion of these sizes takes about a second, a quadratic one
minutes, and a runaway conversion is killed with its process instead of hanging the run.
"""

from __future__ import annotations

import multiprocessing
import multiprocessing.pool
from collections.abc import Iterator

import pytest

from tests.hostile.markup_cases import CASES, run_case

CASE_TIMEOUT_S = 60.0


class _Worker:
    """One spawned process that runs cases; replaced after a case overruns."""

    def __init__(self) -> None:
        self._pool: multiprocessing.pool.Pool | None = None

    def run(self, source: str, name: str) -> str:
        if self._pool is None:
            self._pool = multiprocessing.get_context("spawn").Pool(1)
        try:
            return self._pool.apply_async(run_case, (source, name)).get(CASE_TIMEOUT_S)
        except multiprocessing.TimeoutError:
            self.close()
            pytest.fail(f"the {source} case {name!r} did not finish within {CASE_TIMEOUT_S:g} s: superlinear?")

    def close(self) -> None:
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None


@pytest.fixture(scope="module")
def worker() -> Iterator[_Worker]:
    runner = _Worker()
    yield runner
    runner.close()


@pytest.mark.parametrize(("source", "name"), [(source, name) for source, cases in CASES.items() for name in cases])
def test_hostile_input_converts_completely_and_correctly(worker: _Worker, source: str, name: str) -> None:
    assert worker.run(source, name) == ""
