"""A real OTLP receiver for tests: OTLP/HTTP (protobuf) on 127.0.0.1, optionally OTLP/gRPC.

It decodes export requests with ``opentelemetry-proto``, keeps them, answers with the matching
``Export*ServiceResponse``, and flattens them into simple records for assertions::

    def test_something(otlp_receiver):
        env = {**os.environ, **otlp_receiver.env()}          # OTEL_* vars pointing here
        subprocess.run([...], env=env, check=True)
        span = otlp_receiver.wait_for_span("GET")
        parent = otlp_receiver.parent_of(span)
        metric = otlp_receiver.wait_for_metric("http.client.request.duration")
        assert metric.unit == "s"

Use in a conftest: ``from otlp_receiver import otlp_receiver  # noqa: F401``.
"""

from __future__ import annotations

import gzip
import threading
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, TypeVar

import pytest
from google.protobuf.message import DecodeError
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2
from opentelemetry.proto.common.v1 import common_pb2

__all__ = [
    "DataPointRecord",
    "ExportRecord",
    "LogRecord",
    "MetricRecord",
    "OTLPReceiver",
    "SpanRecord",
    "otlp_receiver",
]

T = TypeVar("T")

_KINDS = {0: "UNSPECIFIED", 1: "INTERNAL", 2: "SERVER", 3: "CLIENT", 4: "PRODUCER", 5: "CONSUMER"}
_STATUS = {0: "UNSET", 1: "OK", 2: "ERROR"}

_REQUEST_TYPES: dict[str, tuple[str, Any, Any]] = {
    "/v1/traces": (
        "traces",
        trace_service_pb2.ExportTraceServiceRequest,
        trace_service_pb2.ExportTraceServiceResponse,
    ),
    "/v1/metrics": (
        "metrics",
        metrics_service_pb2.ExportMetricsServiceRequest,
        metrics_service_pb2.ExportMetricsServiceResponse,
    ),
    "/v1/logs": (
        "logs",
        logs_service_pb2.ExportLogsServiceRequest,
        logs_service_pb2.ExportLogsServiceResponse,
    ),
}


# ---------------------------------------------------------------------------------- records


def any_value(value: common_pb2.AnyValue) -> Any:
    """Convert an OTLP ``AnyValue`` to a plain Python value (arrays -> tuple, kvlist -> dict)."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return tuple(any_value(v) for v in value.array_value.values)
    if kind == "kvlist_value":
        return attributes_dict(value.kvlist_value.values)
    return getattr(value, kind)


def attributes_dict(attributes: Any) -> dict[str, Any]:
    return {kv.key: any_value(kv.value) for kv in attributes}


@dataclass(frozen=True)
class EventRecord:
    name: str
    attributes: dict[str, Any]


@dataclass(frozen=True)
class SpanRecord:
    name: str
    trace_id: str  # 32 hex digits
    span_id: str  # 16 hex digits
    parent_span_id: str | None  # None for a root span
    kind: str  # "SERVER", "CLIENT", "INTERNAL", ...
    attributes: dict[str, Any]
    status_code: str  # "UNSET", "OK", "ERROR"
    status_message: str
    events: tuple[EventRecord, ...]
    start_time_unix_nano: int
    end_time_unix_nano: int
    resource: dict[str, Any]
    scope: str  # instrumentation scope name


@dataclass(frozen=True)
class DataPointRecord:
    attributes: dict[str, Any]
    value: float | int | None = None  # sum / gauge
    count: int | None = None  # histogram
    sum: float | None = None  # histogram
    bucket_counts: tuple[int, ...] = ()
    explicit_bounds: tuple[float, ...] = ()
    min: float | None = None
    max: float | None = None


@dataclass(frozen=True)
class MetricRecord:
    name: str
    unit: str
    description: str
    type: str  # "histogram", "sum", "gauge", "exponential_histogram", "summary"
    data_points: tuple[DataPointRecord, ...]
    resource: dict[str, Any]
    scope: str


@dataclass(frozen=True)
class LogRecord:
    body: Any
    severity_text: str
    attributes: dict[str, Any]
    trace_id: str
    span_id: str
    resource: dict[str, Any]
    scope: str


@dataclass(frozen=True)
class ExportRecord:
    """One export request as received: ``signal`` is "traces", "metrics" or "logs"."""

    signal: str
    transport: str  # "http" or "grpc"
    headers: dict[str, str]  # lower-cased names (gRPC: metadata)
    body: bytes  # the decompressed protobuf body
    message: Any  # the decoded Export*ServiceRequest


def _hex(raw: bytes) -> str:
    return raw.hex()


def _span_records(request: trace_service_pb2.ExportTraceServiceRequest) -> Iterator[SpanRecord]:
    for resource_spans in request.resource_spans:
        resource = attributes_dict(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            for span in scope_spans.spans:
                yield SpanRecord(
                    name=span.name,
                    trace_id=_hex(span.trace_id),
                    span_id=_hex(span.span_id),
                    parent_span_id=_hex(span.parent_span_id) or None,
                    kind=_KINDS.get(span.kind, str(span.kind)),
                    attributes=attributes_dict(span.attributes),
                    status_code=_STATUS.get(span.status.code, str(span.status.code)),
                    status_message=span.status.message,
                    events=tuple(EventRecord(e.name, attributes_dict(e.attributes)) for e in span.events),
                    start_time_unix_nano=span.start_time_unix_nano,
                    end_time_unix_nano=span.end_time_unix_nano,
                    resource=resource,
                    scope=scope_spans.scope.name,
                )


def _number(point: Any) -> float | int | None:
    kind = point.WhichOneof("value")
    return getattr(point, kind) if kind else None


def _metric_records(request: metrics_service_pb2.ExportMetricsServiceRequest) -> Iterator[MetricRecord]:
    for resource_metrics in request.resource_metrics:
        resource = attributes_dict(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data") or ""
                data = getattr(metric, kind) if kind else None
                points: list[DataPointRecord] = []
                for point in getattr(data, "data_points", ()):
                    attrs = attributes_dict(point.attributes)
                    if kind in ("sum", "gauge"):
                        points.append(DataPointRecord(attrs, value=_number(point)))
                    elif kind == "histogram":
                        points.append(
                            DataPointRecord(
                                attrs,
                                count=point.count,
                                sum=point.sum,
                                bucket_counts=tuple(point.bucket_counts),
                                explicit_bounds=tuple(point.explicit_bounds),
                                min=point.min if point.HasField("min") else None,
                                max=point.max if point.HasField("max") else None,
                            )
                        )
                    else:  # exponential_histogram, summary
                        points.append(DataPointRecord(attrs, count=point.count, sum=point.sum))
                yield MetricRecord(
                    name=metric.name,
                    unit=metric.unit,
                    description=metric.description,
                    type=kind,
                    data_points=tuple(points),
                    resource=resource,
                    scope=scope_metrics.scope.name,
                )


def _log_records(request: logs_service_pb2.ExportLogsServiceRequest) -> Iterator[LogRecord]:
    for resource_logs in request.resource_logs:
        resource = attributes_dict(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            for log in scope_logs.log_records:
                yield LogRecord(
                    body=any_value(log.body),
                    severity_text=log.severity_text,
                    attributes=attributes_dict(log.attributes),
                    trace_id=_hex(log.trace_id),
                    span_id=_hex(log.span_id),
                    resource=resource,
                    scope=scope_logs.scope.name,
                )


# ---------------------------------------------------------------------------------- receiver


class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: bytes, content_type: str = "text/plain") -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self) -> None:  # noqa: N802 (http.server API)
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length)
        route = _REQUEST_TYPES.get(self.path.split("?", 1)[0])
        if route is None:
            self._reply(404, b"unknown OTLP path")
            return
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip()
        if content_type != "application/x-protobuf":
            self._reply(415, b"only application/x-protobuf is supported")
            return
        encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
        try:
            if encoding == "gzip":
                raw = gzip.decompress(raw)
            elif encoding == "deflate":
                raw = zlib.decompress(raw)
            elif encoding != "identity":
                self._reply(415, b"unsupported Content-Encoding")
                return
            signal, request_type, response_type = route
            message = request_type.FromString(raw)
        except (OSError, zlib.error, DecodeError) as exc:
            self._reply(400, f"cannot decode body: {exc}".encode())
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        self.server.receiver._store(ExportRecord(signal, "http", headers, raw, message))
        self._reply(200, response_type().SerializeToString(), "application/x-protobuf")


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: OTLPReceiver


class OTLPReceiver:
    """OTLP/HTTP receiver on 127.0.0.1 (``port=0`` picks a free port); ``grpc=True`` adds OTLP/gRPC."""

    def __init__(self, port: int = 0, grpc: bool = False) -> None:
        self._lock = threading.Condition()
        self._exports: list[ExportRecord] = []
        self._server = _HTTPServer(("127.0.0.1", port), _Handler)
        self._server.receiver = self
        self._thread: threading.Thread | None = None
        self._grpc_server: Any = None
        self.grpc_port: int | None = None
        if grpc:
            self._start_grpc()

    # -- lifecycle
    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def endpoint(self) -> str:
        """Base URL for ``OTEL_EXPORTER_OTLP_ENDPOINT`` (OTLP/HTTP)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def grpc_endpoint(self) -> str:
        if self.grpc_port is None:
            raise RuntimeError("this receiver was started without grpc=True")
        return f"http://127.0.0.1:{self.grpc_port}"

    def start(self) -> OTLPReceiver:
        if self._thread is None:
            self._thread = threading.Thread(target=self._server.serve_forever, name="otlp-receiver", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait(5)
            self._grpc_server = None

    def __enter__(self) -> OTLPReceiver:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def _start_grpc(self) -> None:
        from concurrent import futures

        import grpc
        from opentelemetry.proto.collector.logs.v1 import logs_service_pb2_grpc
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2_grpc
        from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

        receiver = self

        def handler(signal: str, response_type: Any) -> Callable[[Any, Any, Any], Any]:
            def export(_servicer: Any, request: Any, context: Any) -> Any:
                headers = {k.lower(): v for k, v in (context.invocation_metadata() or ())}
                receiver._store(ExportRecord(signal, "grpc", headers, request.SerializeToString(), request))
                return response_type()

            return export

        trace_servicer = type(
            "TraceServicer",
            (trace_service_pb2_grpc.TraceServiceServicer,),
            {"Export": handler("traces", trace_service_pb2.ExportTraceServiceResponse)},
        )
        metrics_servicer = type(
            "MetricsServicer",
            (metrics_service_pb2_grpc.MetricsServiceServicer,),
            {"Export": handler("metrics", metrics_service_pb2.ExportMetricsServiceResponse)},
        )
        logs_servicer = type(
            "LogsServicer",
            (logs_service_pb2_grpc.LogsServiceServicer,),
            {"Export": handler("logs", logs_service_pb2.ExportLogsServiceResponse)},
        )
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(trace_servicer(), server)
        metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(metrics_servicer(), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(logs_servicer(), server)
        self.grpc_port = server.add_insecure_port("127.0.0.1:0")
        server.start()
        self._grpc_server = server

    # -- configuration helper
    def env(self, protocol: str = "http/protobuf", metric_interval_ms: int = 500) -> dict[str, str]:
        """``OTEL_*`` variables that make a jiraplug process export here, quickly."""
        endpoint = self.grpc_endpoint if protocol == "grpc" else self.endpoint
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": endpoint,
            "OTEL_EXPORTER_OTLP_PROTOCOL": protocol,
            "OTEL_METRIC_EXPORT_INTERVAL": str(metric_interval_ms),
            "OTEL_BSP_SCHEDULE_DELAY": "100",
        }

    # -- storage
    def _store(self, record: ExportRecord) -> None:
        with self._lock:
            self._exports.append(record)
            self._lock.notify_all()

    def clear(self) -> None:
        with self._lock:
            self._exports.clear()

    def exports(self, signal: str | None = None) -> list[ExportRecord]:
        """The raw export requests received so far (optionally only one signal)."""
        with self._lock:
            return [e for e in self._exports if signal is None or e.signal == signal]

    def spans(self) -> list[SpanRecord]:
        return [s for e in self.exports("traces") for s in _span_records(e.message)]

    def metrics(self) -> list[MetricRecord]:
        """Every metric in every export, in arrival order (a metric exported twice appears twice)."""
        return [m for e in self.exports("metrics") for m in _metric_records(e.message)]

    def logs(self) -> list[LogRecord]:
        return [r for e in self.exports("logs") for r in _log_records(e.message)]

    # -- queries
    def find_spans(self, name: str | None = None, **attributes: Any) -> list[SpanRecord]:
        """Spans with this name (if given) whose attributes include ``attributes``.

        Attribute keys contain dots, so pass them as a dict: ``find_spans("GET", **{"http.request.method": "GET"})``.
        """
        return [
            s
            for s in self.spans()
            if (name is None or s.name == name) and all(s.attributes.get(k) == v for k, v in attributes.items())
        ]

    def parent_of(self, span: SpanRecord) -> SpanRecord | None:
        for candidate in self.spans():
            if candidate.trace_id == span.trace_id and candidate.span_id == span.parent_span_id:
                return candidate
        return None

    def children_of(self, span: SpanRecord) -> list[SpanRecord]:
        return [s for s in self.spans() if s.trace_id == span.trace_id and s.parent_span_id == span.span_id]

    def find_metrics(self, name: str) -> list[MetricRecord]:
        return [m for m in self.metrics() if m.name == name]

    def attribute_text(self) -> str:
        """Every attribute key and value received (spans, events, resources, data points, logs) as one string."""
        parts: list[str] = []
        for s in self.spans():
            parts += [repr(s.attributes), repr(s.resource), s.status_message, s.name]
            parts += [repr(e.attributes) for e in s.events]
        for m in self.metrics():
            parts.append(repr(m.resource))
            parts += [repr(p.attributes) for p in m.data_points]
        for r in self.logs():
            parts += [repr(r.attributes), repr(r.body), repr(r.resource)]
        return "\n".join(parts)

    # -- waiting
    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05) -> T:
        """Call ``predicate`` until it returns something truthy; return that, or fail after ``timeout``."""
        deadline = time.monotonic() + timeout
        while True:
            result = predicate()
            if result:
                return result
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"timed out after {timeout}s waiting for OTLP data; received: {self.summary()}")
            with self._lock:
                self._lock.wait(min(interval, remaining))

    def wait_for_span(self, name: str, timeout: float = 10.0, **attributes: Any) -> SpanRecord:
        return self.wait_for(lambda: self.find_spans(name, **attributes), timeout)[0]

    def wait_for_metric(self, name: str, timeout: float = 10.0) -> MetricRecord:
        """The most recent export of metric ``name`` that has data points."""
        found = self.wait_for(lambda: [m for m in self.find_metrics(name) if m.data_points], timeout)
        return found[-1]

    def summary(self) -> str:
        spans = sorted({s.name for s in self.spans()})
        metrics = sorted({m.name for m in self.metrics()})
        return f"{len(self.exports())} export(s); spans={spans}; metrics={metrics}"


@pytest.fixture
def otlp_receiver() -> Iterator[OTLPReceiver]:
    """A started OTLP/HTTP receiver on 127.0.0.1, stopped after the test."""
    receiver = OTLPReceiver().start()
    try:
        yield receiver
    finally:
        receiver.stop()
