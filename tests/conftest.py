"""Shared fixtures: the anyio backend and sandboxes to test against."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def cloud_sandbox():
    """A Jira Cloud emulator on loopback, shared by the session (read-only tests only)."""
    from jiraplug.sandbox import SandboxServer

    with SandboxServer(flavour="cloud", seed=1, port=0) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def dc_sandbox():
    """A Jira Data Center emulator on loopback, shared by the session (read-only tests only)."""
    from jiraplug.sandbox import SandboxServer

    with SandboxServer(flavour="dc", seed=1, port=0) as sandbox:
        yield sandbox


# One definition for the project's tests and for plugin authors (jiraplug.testing).
from jiraplug.testing import sandbox_environ  # noqa: E402,F401


from tests.otlp_receiver import otlp_receiver  # noqa: E402,F401  (fixture)
from tests.redis_server import redis_cluster, redis_sentinel, redis_server  # noqa: E402,F401  (fixtures)


class MemoryTelemetry:
    """In-process spans and metrics: global SDK providers with in-memory exporters.

    Global providers can be set once per process, so this is session-wide; call
    :meth:`clear` at the start of a test and read what that test produced.
    """

    def __init__(self) -> None:
        from opentelemetry import metrics, trace
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

        self.span_exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.span_exporter))
        trace.set_tracer_provider(tracer_provider)
        self.metric_reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[self.metric_reader]))

    def clear(self) -> None:
        self.span_exporter.clear()
        self.metric_reader.get_metrics_data()  # collecting resets delta state; cumulative stays

    def spans(self):  # type: ignore[no-untyped-def]
        return list(self.span_exporter.get_finished_spans())

    def metrics(self) -> dict[str, list]:
        """Metric name -> its data points (cumulative since the session started)."""
        out: dict[str, list] = {}
        data = self.metric_reader.get_metrics_data()
        for resource_metrics in data.resource_metrics if data else []:
            for scope_metrics in resource_metrics.scope_metrics:
                for metric in scope_metrics.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


_memory_telemetry: MemoryTelemetry | None = None


@pytest.fixture
def otel_memory() -> MemoryTelemetry:
    """Spans and metrics produced in this process (see :class:`MemoryTelemetry`)."""
    global _memory_telemetry
    if _memory_telemetry is None:
        _memory_telemetry = MemoryTelemetry()
    _memory_telemetry.clear()
    return _memory_telemetry


def missing_shared_input(reason: str) -> None:
    """Skip a test whose input from ../shared is absent; in CI, where shared/ is laid beside
    the clone, fail instead, so that contract checks cannot pass by not running."""
    import os

    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{reason} (CI=true: shared/ must be beside the checkout)")
    pytest.skip(reason)
