"""OpenTelemetry set-up for jiraplug: providers from ``OTEL_*`` variables, and our instruments.

One job: read the standard OpenTelemetry environment variables, install the *global* tracer and
meter providers once per process (the MCP SDK's own server spans use the global tracer, so they
flow through the same pipeline as ours), and hand the rest of the code its tracer, meter,
an HTTP transport wrapper and the ``mcp.server.operation.duration`` histogram.

Rules (see ``docs``/DESIGN "Telemetry"):

* Nothing configured -> nothing exported. The global providers stay the API's no-op proxies, so
  the cost is a few no-op calls, and a host that installs its own providers (a test harness with
  an ``InMemorySpanExporter``, say) still receives our spans and metrics through the proxies.
* ``OTEL_EXPORTER_OTLP_ENDPOINT`` (or a signal-specific endpoint) or an exporter name ``otlp``
  -> OTLP over HTTP/protobuf (default) or gRPC, per ``OTEL_EXPORTER_OTLP[_<SIGNAL>]_PROTOCOL``.
* ``console`` -> console exporters writing to **stderr** (stdout carries the MCP stdio protocol).
* ``none`` disables a signal. ``OTEL_SDK_DISABLED=true`` disables everything.
* A bad value raises ``ValueError`` naming the variable, the value and what is accepted.

Exporter packages are imported only when configured. Transport details of the OTLP exporters
(``OTEL_EXPORTER_OTLP[_<SIGNAL>]_HEADERS``, ``_TIMEOUT``, ``_COMPRESSION``, ``_CERTIFICATE``,
``_INSECURE``, ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``) and the batch processor
settings (``OTEL_BSP_*``) are read by the OpenTelemetry SDK itself from the process environment.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlparse

from opentelemetry import baggage, metrics, trace

if TYPE_CHECKING:
    import httpx2

__all__ = [
    "MCP_SERVER_OPERATION_DURATION",
    "HTTP_CLIENT_REQUEST_DURATION",
    "Telemetry",
    "TelemetryConfig",
    "get_telemetry",
    "instrument_transport",
    "read_config",
    "record_operation_duration",
    "setup_telemetry",
]

_logger = logging.getLogger(__name__)

INSTRUMENTATION_NAME = "jiraplug"
MCP_SERVER_OPERATION_DURATION = "mcp.server.operation.duration"
HTTP_CLIENT_REQUEST_DURATION = "http.client.request.duration"
# Description and bucket boundaries from the MCP semantic conventions (mcp/metrics.yaml).
_MCP_OPERATION_DURATION_DESCRIPTION = (
    "MCP request or notification duration as observed on the receiver from the time it was "
    "received until the result or ack is sent."
)
_MCP_OPERATION_DURATION_BUCKETS = (0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0, 2.0, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0)

# Header names whose values never go into span attributes, even when the user asks the httpx
# instrumentation to capture request/response headers (OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_*).
# They are regular expressions, matched case-insensitively by opentelemetry-util-http.
_SENSITIVE_HEADERS = (
    "authorization",
    "proxy-authorization",
    "cookie",
    "set-cookie",
    ".*token.*",
    ".*api-?key.*",
    ".*secret.*",
    ".*password.*",
)

_SIGNALS = ("traces", "metrics")
_EXPORTER_NAMES = ("otlp", "console", "none")
_PROTOCOLS = ("http/protobuf", "grpc")
_DEFAULT_ENDPOINTS = {"http/protobuf": "http://localhost:4318", "grpc": "http://localhost:4317"}


# --------------------------------------------------------------------------------------------
# Configuration (pure: reads a mapping, touches no global state)
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SignalConfig:
    """Where one signal (traces or metrics) goes. ``exporters`` is empty when it is not exported."""

    exporters: tuple[str, ...] = ()  # subset of ("otlp", "console"), in the order given
    protocol: str = "http/protobuf"  # for "otlp"
    endpoint: str = ""  # full URL (HTTP: including /v1/<signal>) or gRPC target, for "otlp"


@dataclass(frozen=True)
class TelemetryConfig:
    """The validated telemetry configuration read from ``OTEL_*`` variables."""

    disabled: bool = False
    service_name: str = "jiraplug"
    resource_attributes: Mapping[str, str] = field(default_factory=dict)
    traces: SignalConfig = field(default_factory=SignalConfig)
    metrics: SignalConfig = field(default_factory=SignalConfig)
    metric_export_interval_millis: int = 60_000
    metric_export_timeout_millis: int = 30_000

    @property
    def exporting(self) -> bool:
        return not self.disabled and bool(self.traces.exporters or self.metrics.exporters)


def _get(environ: Mapping[str, str], name: str) -> str:
    """Return the stripped value of ``name``; the spec treats an empty value as unset."""
    return (environ.get(name) or "").strip()


def _invalid(name: str, value: str, accepted: str) -> ValueError:
    return ValueError(f"invalid telemetry setting {name}={value!r}: expected {accepted}")


def _parse_bool(environ: Mapping[str, str], name: str) -> bool:
    value = _get(environ, name)
    if not value:
        return False
    if value.lower() in ("true", "false"):
        return value.lower() == "true"
    raise _invalid(name, value, "'true' or 'false'")


def _parse_positive_int(environ: Mapping[str, str], name: str, default: int) -> int:
    value = _get(environ, name)
    if not value:
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number <= 0:
        raise _invalid(name, value, "a positive whole number of milliseconds")
    return number


def _parse_resource_attributes(environ: Mapping[str, str]) -> dict[str, str]:
    name = "OTEL_RESOURCE_ATTRIBUTES"
    value = _get(environ, name)
    attributes: dict[str, str] = {}
    if not value:
        return attributes
    for item in value.split(","):
        if not item.strip():
            continue
        key, sep, val = item.partition("=")
        if not sep or not key.strip():
            raise _invalid(name, value, "comma-separated key=value pairs (values percent-encoded)")
        attributes[unquote(key.strip())] = unquote(val.strip())
    return attributes


def _parse_exporters(environ: Mapping[str, str], name: str) -> tuple[str, ...] | None:
    """The exporter names in ``name``; ``None`` when unset; ``()`` for ``none``."""
    value = _get(environ, name)
    if not value:
        return None
    names = [part.strip().lower() for part in value.split(",") if part.strip()]
    for part in names:
        if part not in _EXPORTER_NAMES:
            raise _invalid(name, value, "a comma-separated list of " + ", ".join(repr(n) for n in _EXPORTER_NAMES))
    if "none" in names:
        if len(names) > 1:
            raise _invalid(name, value, "'none' alone, or a list of 'otlp' and 'console'")
        return ()
    return tuple(dict.fromkeys(names))  # de-duplicated, order kept


def _parse_protocol(environ: Mapping[str, str], signal: str) -> str:
    specific = f"OTEL_EXPORTER_OTLP_{signal.upper()}_PROTOCOL"
    for name in (specific, "OTEL_EXPORTER_OTLP_PROTOCOL"):
        value = _get(environ, name)
        if value:
            if value.lower() not in _PROTOCOLS:
                raise _invalid(name, value, " or ".join(repr(p) for p in _PROTOCOLS))
            return value.lower()
    return "http/protobuf"


def _check_endpoint(name: str, value: str, protocol: str) -> None:
    parsed = urlparse(value)
    if parsed.scheme in ("http", "https") and parsed.netloc:
        return
    if protocol == "grpc" and "://" not in value and value.rpartition(":")[2].isdigit():
        return  # the gRPC exporter also accepts a bare host:port target
    accepted = "an http:// or https:// URL" + (" or host:port" if protocol == "grpc" else "")
    raise _invalid(name, value, accepted)


def _signal_config(environ: Mapping[str, str], signal: str) -> SignalConfig:
    exporter_var = f"OTEL_{signal.upper()}_EXPORTER"
    specific_endpoint_var = f"OTEL_EXPORTER_OTLP_{signal.upper()}_ENDPOINT"
    exporters = _parse_exporters(environ, exporter_var)
    specific_endpoint = _get(environ, specific_endpoint_var)
    base_endpoint = _get(environ, "OTEL_EXPORTER_OTLP_ENDPOINT")
    protocol = _parse_protocol(environ, signal)
    if exporters is None:
        # Unlike the SDK's own default ("otlp" to localhost), jiraplug exports nothing unless asked:
        # an endpoint for this signal counts as asking.
        exporters = ("otlp",) if (specific_endpoint or base_endpoint) else ()
    endpoint = ""
    if "otlp" in exporters:
        if specific_endpoint:
            _check_endpoint(specific_endpoint_var, specific_endpoint, protocol)
            endpoint = specific_endpoint  # used as is (the spec: no path appended)
        else:
            if base_endpoint:
                _check_endpoint("OTEL_EXPORTER_OTLP_ENDPOINT", base_endpoint, protocol)
            base = base_endpoint or _DEFAULT_ENDPOINTS[protocol]
            endpoint = base if protocol == "grpc" else f"{base.rstrip('/')}/v1/{signal}"
    return SignalConfig(exporters=exporters, protocol=protocol, endpoint=endpoint)


def read_config(environ: Mapping[str, str] | None = None, service_name: str = "jiraplug") -> TelemetryConfig:
    """Validate the ``OTEL_*`` variables in ``environ`` (default ``os.environ``).

    Raises ``ValueError`` with one message naming the variable, its value and what is accepted.
    Touches no global state, so the CLI may call it to check a configuration.
    """
    env: Mapping[str, str] = os.environ if environ is None else environ
    disabled = _parse_bool(env, "OTEL_SDK_DISABLED")
    resource_attributes = _parse_resource_attributes(env)
    name = _get(env, "OTEL_SERVICE_NAME") or resource_attributes.get("service.name") or service_name
    traces = _signal_config(env, "traces")
    metrics_ = _signal_config(env, "metrics")
    logs = _parse_exporters(env, "OTEL_LOGS_EXPORTER")
    if logs and not disabled:
        _logger.warning("OTEL_LOGS_EXPORTER=%s is ignored: jiraplug exports traces and metrics only", ",".join(logs))
    return TelemetryConfig(
        disabled=disabled,
        service_name=name,
        resource_attributes=resource_attributes,
        traces=SignalConfig() if disabled else traces,
        metrics=SignalConfig() if disabled else metrics_,
        metric_export_interval_millis=_parse_positive_int(env, "OTEL_METRIC_EXPORT_INTERVAL", 60_000),
        metric_export_timeout_millis=_parse_positive_int(env, "OTEL_METRIC_EXPORT_TIMEOUT", 30_000),
    )


# --------------------------------------------------------------------------------------------
# The Telemetry handle
# --------------------------------------------------------------------------------------------


@dataclass
class Telemetry:
    """The tracer and meter for jiraplug code, and the providers this module created (if any)."""

    tracer: trace.Tracer
    meter: metrics.Meter
    exporting: bool  # True when any exporter (otlp or console) is configured
    config: TelemetryConfig = field(default_factory=TelemetryConfig, repr=False)
    # exporter objects per signal, e.g. {"traces": (OTLPSpanExporter,), "metrics": (...)}
    exporters: Mapping[str, tuple[Any, ...]] = field(default_factory=dict, repr=False)
    _tracer_provider: Any = field(default=None, repr=False)
    _meter_provider: Any = field(default=None, repr=False)
    _shut_down: bool = field(default=False, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def force_flush(self, timeout_millis: int = 5000) -> None:
        """Push pending spans and metrics to the exporters now (no-op when not exporting)."""
        if self._shut_down:
            return
        if self._tracer_provider is not None:
            self._tracer_provider.force_flush(timeout_millis)
        if self._meter_provider is not None:
            self._meter_provider.force_flush(timeout_millis)

    def shutdown(self) -> None:
        """Flush and shut down the providers this module created. Safe to call more than once."""
        with self._lock:
            if self._shut_down:
                return
            self._shut_down = True
        # Shutting a provider down exports what is pending (BatchSpanProcessor drains its queue,
        # the PeriodicExportingMetricReader collects once more) and unregisters its atexit hook.
        if self._tracer_provider is not None:
            self._tracer_provider.shutdown()
        if self._meter_provider is not None:
            self._meter_provider.shutdown()


_setup_lock = threading.RLock()
_telemetry: Telemetry | None = None  # the one set up by setup_telemetry()
_noop_telemetry: Telemetry | None = None  # handed out by get_telemetry() before set-up


def _version() -> str:
    try:
        from jiraplug import __version__
    except ImportError:  # pragma: no cover - only when the package is half-installed
        return ""
    return __version__


def _proxy_tracer() -> trace.Tracer:
    return trace.get_tracer(INSTRUMENTATION_NAME, _version())


def _proxy_meter() -> metrics.Meter:
    return metrics.get_meter(INSTRUMENTATION_NAME, _version())


def get_telemetry() -> Telemetry:
    """The Telemetry set up by :func:`setup_telemetry`, or a no-op one if set-up never ran.

    The no-op one uses the API's proxy tracer and meter, so spans and metrics made through it
    reach whatever global providers are installed later.
    """
    global _noop_telemetry
    if _telemetry is not None:
        return _telemetry
    with _setup_lock:
        if _telemetry is not None:
            return _telemetry
        if _noop_telemetry is None:
            _noop_telemetry = Telemetry(tracer=_proxy_tracer(), meter=_proxy_meter(), exporting=False)
        return _noop_telemetry


def setup_telemetry(service_name: str = "jiraplug", environ: Mapping[str, str] | None = None) -> Telemetry:
    """Configure OpenTelemetry from ``OTEL_*`` variables (``environ``, default ``os.environ``).

    Installs the global tracer/meter providers at most once per process; later calls return the
    existing Telemetry unchanged. Raises ``ValueError`` on an invalid setting, before touching
    any global state.
    """
    global _telemetry
    with _setup_lock:
        if _telemetry is not None:
            return _telemetry
        config = read_config(environ, service_name)
        if not config.exporting:
            telemetry = Telemetry(tracer=_proxy_tracer(), meter=_proxy_meter(), exporting=False, config=config)
        else:
            telemetry = _build(config)
        _telemetry = telemetry
        return telemetry


def _resource(config: TelemetryConfig) -> Any:
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.version import __version__ as sdk_version

    attributes: dict[str, str] = {
        "telemetry.sdk.language": "python",
        "telemetry.sdk.name": "opentelemetry",
        "telemetry.sdk.version": sdk_version,
        "service.version": _version(),
    }
    attributes.update(config.resource_attributes)
    attributes["service.name"] = config.service_name
    return Resource(attributes)


def _span_exporter(name: str, signal: SignalConfig) -> Any:
    if name == "console":
        from opentelemetry.sdk.trace.export import ConsoleSpanExporter

        return ConsoleSpanExporter(out=sys.stderr)
    if signal.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter  # type: ignore[assignment]
    return OTLPSpanExporter(endpoint=signal.endpoint)


def _metric_exporter(name: str, signal: SignalConfig) -> Any:
    if name == "console":
        from opentelemetry.sdk.metrics.export import ConsoleMetricExporter

        return ConsoleMetricExporter(out=sys.stderr)
    if signal.protocol == "grpc":
        from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter
    else:
        from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter  # type: ignore[assignment]
    return OTLPMetricExporter(endpoint=signal.endpoint)


def _build(config: TelemetryConfig) -> Telemetry:
    resource = _resource(config)
    tracer_provider = meter_provider = None
    exporters: dict[str, tuple[Any, ...]] = {}
    tracer: trace.Tracer = _proxy_tracer()
    meter: metrics.Meter = _proxy_meter()

    if config.traces.exporters:
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        span_exporters = tuple(_span_exporter(n, config.traces) for n in config.traces.exporters)
        tracer_provider = TracerProvider(resource=resource)
        for exporter in span_exporters:
            tracer_provider.add_span_processor(BatchSpanProcessor(exporter))
        trace.set_tracer_provider(tracer_provider)
        if trace.get_tracer_provider() is not tracer_provider:
            # Someone (the embedding application) installed a provider first; ours would be
            # orphaned and the MCP SDK's spans would not reach it, so use theirs.
            _logger.warning("a global TracerProvider was already installed; jiraplug traces go to it")
            tracer_provider.shutdown()
            tracer_provider = None
        else:
            exporters["traces"] = span_exporters
            tracer = tracer_provider.get_tracer(INSTRUMENTATION_NAME, _version())

    if config.metrics.exporters:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        metric_exporters = tuple(_metric_exporter(n, config.metrics) for n in config.metrics.exporters)
        readers = [
            PeriodicExportingMetricReader(
                exporter,
                export_interval_millis=config.metric_export_interval_millis,
                export_timeout_millis=config.metric_export_timeout_millis,
            )
            for exporter in metric_exporters
        ]
        meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        metrics.set_meter_provider(meter_provider)
        if metrics.get_meter_provider() is not meter_provider:
            _logger.warning("a global MeterProvider was already installed; jiraplug metrics go to it")
            meter_provider.shutdown()
            meter_provider = None
        else:
            exporters["metrics"] = metric_exporters
            meter = meter_provider.get_meter(INSTRUMENTATION_NAME, _version())

    return Telemetry(
        tracer=tracer,
        meter=meter,
        exporting=bool(exporters),
        config=config,
        exporters=exporters,
        _tracer_provider=tracer_provider,
        _meter_provider=meter_provider,
    )


# --------------------------------------------------------------------------------------------
# Instruments
# --------------------------------------------------------------------------------------------


def _ensure_stable_http_semconv() -> None:
    """Make the httpx instrumentation emit the *stable* HTTP semantic conventions.

    opentelemetry-instrumentation reads ``OTEL_SEMCONV_STABILITY_OPT_IN`` once per process (into
    a class-level mapping) the first time any instrumentation initialises. We add ``http`` to the
    variable unless the user already chose ``http`` or ``http/dup``, then initialise. If some
    other instrumentation initialised the mapping earlier without ``http``, we switch the HTTP
    entry to stable mode so ``http.client.request.duration`` (seconds) is what gets emitted.
    """
    var = "OTEL_SEMCONV_STABILITY_OPT_IN"
    tokens = [t.strip() for t in os.environ.get(var, "").split(",") if t.strip()]
    if "http" not in tokens and "http/dup" not in tokens:
        os.environ[var] = ",".join([*tokens, "http"])

    try:  # private API of opentelemetry-instrumentation; the variable above is the public path
        from opentelemetry.instrumentation import _semconv

        stability = _semconv._OpenTelemetrySemanticConventionStability
        stability._initialize()
        http = _semconv._OpenTelemetryStabilitySignalType.HTTP
        mode = stability._get_opentelemetry_stability_opt_in_mode(http)
        if mode not in (_semconv._StabilityMode.HTTP, _semconv._StabilityMode.HTTP_DUP):
            with stability._lock:
                stability._OTEL_SEMCONV_STABILITY_SIGNAL_MAPPING[http] = _semconv._StabilityMode.HTTP
    except (ImportError, AttributeError) as exc:  # pragma: no cover - a future instrumentation release
        _logger.warning("could not force stable HTTP semantic conventions (%s); set %s=http", exc, var)


def instrument_transport(
    transport: httpx2.AsyncBaseTransport, *, with_query: bool = False
) -> httpx2.AsyncBaseTransport:
    """Wrap ``transport`` so each request gets a client span and ``http.client.request.duration``.

    Stable HTTP semantic conventions (span named after the method, ``http.request.method``,
    ``http.response.status_code``, ``server.address``, ``url.full``). The span nests under the
    current span. ``url.full`` has user:password replaced by ``REDACTED`` and, unless
    ``with_query`` (``server.trace_query_strings``), no query string: a search's JQL names what
    a user looks for. Credential headers are redacted even if header capture is switched on.
    With ``OTEL_SDK_DISABLED=true`` the transport is returned unchanged.
    """
    telemetry = _telemetry
    if telemetry is not None and telemetry.config.disabled:
        return transport
    _ensure_stable_http_semconv()
    from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransportHttpx2

    wrapped = AsyncOpenTelemetryTransportHttpx2(transport, request_hook=None if with_query else _url_without_query)
    # Never let credentials reach span attributes, whatever header capture the user configured.
    sensitive = list(getattr(wrapped, "_sensitive_headers", None) or [])
    wrapped._sensitive_headers = sensitive + [h for h in _SENSITIVE_HEADERS if h not in sensitive]
    return _TracedWhenObserved(transport, wrapped)


class _TracedWhenObserved:
    """Sends through the OpenTelemetry wrapper only when its work can reach anyone.

    With no tracer or meter provider installed and no trace to continue, the wrapper's span
    is a no-op and no ``traceparent`` or ``baggage`` would be sent, yet building its attributes (the URL
    parsed again, headers normalised) cost about 0.1 ms of CPU per Jira request: such a
    request goes straight to the transport. A provider installed later (a test harness, an
    embedding application) or a caller's trace context is honoured from its next request on.
    """

    def __init__(self, plain: httpx2.AsyncBaseTransport, traced: httpx2.AsyncBaseTransport) -> None:
        self._plain = plain
        self._traced = traced

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        if _unobserved():
            return await self._plain.handle_async_request(request)
        return await self._traced.handle_async_request(request)

    async def aclose(self) -> None:
        await self._traced.aclose()  # closes the plain transport it wraps

    async def __aenter__(self) -> _TracedWhenObserved:
        await self._traced.__aenter__()
        return self

    async def __aexit__(self, *exc_info: Any) -> None:
        await self._traced.__aexit__(*exc_info)


def _noop_providers() -> tuple[tuple[type, ...], tuple[type, ...]]:
    """The API's own tracer and meter provider classes: installed, they record nothing."""
    try:
        from opentelemetry.metrics._internal import _ProxyMeterProvider
    except ImportError:  # pragma: no cover - a future API moved it: always trace (the safe side)
        return (), ()
    return (trace.ProxyTracerProvider, trace.NoOpTracerProvider), (_ProxyMeterProvider, metrics.NoOpMeterProvider)


_NOOP_TRACER_PROVIDERS, _NOOP_METER_PROVIDERS = _noop_providers()


def _unobserved() -> bool:
    """No provider to record a span or metric, and no caller's trace (or baggage) to pass on to Jira."""
    return (
        isinstance(trace.get_tracer_provider(), _NOOP_TRACER_PROVIDERS)
        and isinstance(metrics.get_meter_provider(), _NOOP_METER_PROVIDERS)
        and not trace.get_current_span().get_span_context().is_valid
        and not baggage.get_all()
    )


async def _url_without_query(span: trace.Span, request: Any) -> None:
    """Request hook: ``url.full`` without its query string (set before the hook, so overwritten)."""
    if span.is_recording():
        url = (getattr(span, "attributes", None) or {}).get(URL_FULL)
        if isinstance(url, str) and "?" in url:
            span.set_attribute(URL_FULL, url.split("?", 1)[0])


URL_FULL = "url.full"

_T = TypeVar("_T")


def once_per_meter(build: Callable[[metrics.Meter], _T]) -> Callable[[metrics.Meter], _T]:
    """Wrap ``build(meter)``, which creates instruments, so it runs once per meter.

    OpenTelemetry warns about (and ignores) an instrument created twice; hot paths also
    should not pay for creating one. A new meter (telemetry set up again, as tests do) gets
    its own instruments. Thread-safe.
    """
    lock = threading.Lock()
    made: weakref.WeakKeyDictionary[metrics.Meter, _T] = weakref.WeakKeyDictionary()

    def instruments_of(meter: metrics.Meter) -> _T:
        found = made.get(meter)
        if found is None:
            with lock:
                found = made.get(meter)
                if found is None:
                    found = made[meter] = build(meter)
        return found

    instruments_of.__doc__ = build.__doc__
    return instruments_of


@once_per_meter
def _operation_duration_histogram_of(meter: metrics.Meter) -> metrics.Histogram:
    return meter.create_histogram(
        MCP_SERVER_OPERATION_DURATION,
        unit="s",
        description=_MCP_OPERATION_DURATION_DESCRIPTION,
        explicit_bucket_boundaries_advisory=list(_MCP_OPERATION_DURATION_BUCKETS),
    )


def _operation_duration_histogram() -> metrics.Histogram:
    return _operation_duration_histogram_of(get_telemetry().meter)


def record_operation_duration(seconds: float, attributes: Mapping[str, str]) -> None:
    """Record one MCP operation in the histogram ``mcp.server.operation.duration`` (seconds).

    ``attributes`` per the MCP semantic conventions: ``mcp.method.name``, ``gen_ai.tool.name``,
    ``error.type`` (only when the operation failed), ...
    """
    _operation_duration_histogram().record(seconds, attributes=dict(attributes))
