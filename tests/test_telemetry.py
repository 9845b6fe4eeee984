"""Tests for jiraplug.telemetry against a real OTLP receiver.

Global OpenTelemetry providers can be set only once per process, so every configuration that
calls ``setup_telemetry`` runs in a fresh subprocess (``SCENARIO`` below) with ``OTEL_*``
variables pointing at the receiver. Pure configuration parsing is tested in-process.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import pytest

try:
    from otlp_receiver import OTLPReceiver, otlp_receiver  # noqa: F401  (tests/ on sys.path)
except ImportError:  # tests/ imported as a package
    from tests.otlp_receiver import OTLPReceiver, otlp_receiver  # noqa: F401

from jiraplug.telemetry import read_config

SECRET_PASSWORD = "secret"
SECRET_TOKEN = "s3cr3t-token"

# One script, steered by a JSON argument, so each test states only what differs.
SCENARIO = textwrap.dedent(
    r'''
    import asyncio, json, os, sys, threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    opts = json.loads(sys.argv[1])
    out = {}

    if opts.get("early_semconv"):
        # Another instrumentation initialised the semconv opt-in state before us.
        from opentelemetry.instrumentation._semconv import _OpenTelemetrySemanticConventionStability
        _OpenTelemetrySemanticConventionStability._initialize()

    from opentelemetry import trace
    sdk_tracer = trace.get_tracer("mcp-python-sdk")  # bound at import, before set-up, like the MCP SDK's

    from jiraplug import telemetry as t

    if opts.get("expect_error"):
        try:
            t.setup_telemetry()
        except ValueError as exc:
            out["error"] = str(exc)
        out["global_tracer_provider"] = type(trace.get_tracer_provider()).__name__
        print(json.dumps(out))
        sys.exit(0)

    tel = t.setup_telemetry()
    assert t.setup_telemetry() is tel, "second call must return the same Telemetry"
    assert t.get_telemetry() is tel
    out["exporting"] = tel.exporting
    out["exporters"] = {
        signal: [f"{type(e).__module__}.{type(e).__qualname__}" for e in exps]
        for signal, exps in tel.exporters.items()
    }
    out["global_is_ours"] = trace.get_tracer_provider() is tel._tracer_provider

    if opts.get("http_calls"):
        import httpx2
        seen = []

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def do_GET(self):
                seen.append({k.lower(): v for k, v in self.headers.items()})
                body = b'{"accountId": "abc"}'
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]

        # Count the requests that went through the OpenTelemetry wrapper.
        from opentelemetry.instrumentation.httpx import AsyncOpenTelemetryTransportHttpx2 as traced_cls
        out["traced_requests"] = 0
        traced_send = traced_cls.handle_async_request

        async def counted(self, *args, **kwargs):
            out["traced_requests"] += 1
            return await traced_send(self, *args, **kwargs)

        traced_cls.handle_async_request = counted

        async def calls():
            transport = t.instrument_transport(httpx2.AsyncHTTPTransport())
            async with httpx2.AsyncClient(transport=transport) as client:
                with sdk_tracer.start_as_current_span("tools/call jira_whoami", kind=trace.SpanKind.SERVER) as parent:
                    ctx = parent.get_span_context()
                    out["parent"] = {"trace_id": f"{ctx.trace_id:032x}", "span_id": f"{ctx.span_id:016x}"}
                    r1 = await client.get(f"http://user:secret@127.0.0.1:{port}/rest/api/3/myself?expand=groups")
                    r2 = await client.get(
                        f"http://127.0.0.1:{port}/rest/api/3/issue/DEMO-1",
                        headers={"Authorization": "Bearer s3cr3t-token"},
                    )
                if opts.get("remote_parent"):
                    # A caller's trace (e.g. from an MCP request's metadata), with or without a provider here.
                    remote = trace.SpanContext(int(opts["remote_parent"], 16), 0x1234, is_remote=True,
                                               trace_flags=trace.TraceFlags(1))
                    with trace.use_span(trace.NonRecordingSpan(remote)):
                        await client.get(f"http://127.0.0.1:{port}/rest/api/3/myself")
            return [r1.status_code, r2.status_code]

        out["statuses"] = asyncio.run(calls())
        out["server_saw"] = seen
        out["semconv_opt_in"] = os.environ.get("OTEL_SEMCONV_STABILITY_OPT_IN")
        server.shutdown()

    if opts.get("record_operation"):
        t.record_operation_duration(0.25, {"mcp.method.name": "tools/call", "gen_ai.tool.name": "jira_get_issue"})
        t.record_operation_duration(
            1.5, {"mcp.method.name": "tools/call", "gen_ai.tool.name": "jira_get_issue", "error.type": "tool_error"}
        )

    if opts.get("span_name"):
        with tel.tracer.start_as_current_span(opts["span_name"]):
            pass

    if opts.get("flush_and_wait"):
        tel.force_flush()
        print("FLUSHED", flush=True)
        sys.stdin.readline()

    if not opts.get("no_shutdown"):
        tel.shutdown()
        tel.shutdown()  # idempotent

    out["modules"] = sorted(
        m for m in sys.modules if m.startswith(("opentelemetry.exporter", "opentelemetry.sdk", "grpc"))
    )
    print(json.dumps(out))
    '''
)


def clean_env(**extra: str) -> dict[str, str]:
    """The current environment without any OTEL_* variable, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(extra)
    return env


def run_scenario(env: dict[str, str], **opts: Any) -> tuple[dict[str, Any], str]:
    """Run SCENARIO in a subprocess; return (its JSON report, its stderr)."""
    proc = subprocess.run(
        [sys.executable, "-c", SCENARIO, json.dumps(opts)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.strip().splitlines()
    assert len(lines) == 1, f"stdout must carry only the report, got: {proc.stdout!r}"
    return json.loads(lines[0]), proc.stderr


def assert_no_secrets(receiver: OTLPReceiver) -> None:
    text = receiver.attribute_text()
    for secret in (SECRET_PASSWORD, SECRET_TOKEN):
        assert secret not in text
        for export in receiver.exports():
            assert secret.encode() not in export.body, f"{secret!r} leaked into an OTLP {export.signal} export"


def assert_http_telemetry(receiver: OTLPReceiver, report: dict[str, Any]) -> None:
    """The client spans and the duration metric of SCENARIO's two Jira calls arrived, stable semconv."""
    assert report["statuses"] == [200, 200]
    assert report["traced_requests"] == 2  # providers installed: every request is traced
    parent = receiver.wait_for_span("tools/call jira_whoami")
    assert (parent.trace_id, parent.span_id) == (report["parent"]["trace_id"], report["parent"]["span_id"])
    clients = receiver.wait_for(lambda: [s for s in receiver.spans() if s.kind == "CLIENT"] or None)
    assert len(clients) == 2
    for span in clients:
        assert span.name == "GET"  # stable semconv: the method, not "HTTP GET"
        assert span.trace_id == parent.trace_id and span.parent_span_id == parent.span_id
        assert span.attributes["http.request.method"] == "GET"
        assert span.attributes["http.response.status_code"] == 200
        assert span.attributes["server.address"] == "127.0.0.1"
        assert "http.method" not in span.attributes  # old semconv names absent
    urls = sorted(s.attributes["url.full"] for s in clients)
    assert urls[0].endswith("/rest/api/3/issue/DEMO-1")
    assert urls[1].startswith("http://REDACTED:REDACTED@127.0.0.1:")

    # The secrets really were on the wire (so their absence from telemetry means something)...
    auth_headers = [h.get("authorization", "") for h in report["server_saw"]]
    assert auth_headers[0].startswith("Basic ") and auth_headers[1] == f"Bearer {SECRET_TOKEN}"
    # ...and the trace context was propagated to "Jira".
    assert all(h["traceparent"].split("-")[1] == parent.trace_id for h in report["server_saw"])

    metric = receiver.wait_for_metric("http.client.request.duration")
    assert metric.unit == "s" and metric.type == "histogram"
    assert sum(p.count or 0 for p in metric.data_points) == 2
    point = metric.data_points[0]
    assert point.attributes["http.request.method"] == "GET"
    assert point.attributes["http.response.status_code"] == 200
    assert not receiver.find_metrics("http.client.duration")  # the old ms metric is not emitted


def test_otlp_http_export_of_client_spans_and_metrics(otlp_receiver: OTLPReceiver) -> None:
    env = clean_env(
        **otlp_receiver.env(),
        OTEL_SERVICE_NAME="jiraplug-test",
        OTEL_RESOURCE_ATTRIBUTES="deployment.environment=test,team=jira%20tools",
        # Ask the instrumentation to capture every request header: credentials must still be redacted.
        OTEL_INSTRUMENTATION_HTTP_CAPTURE_HEADERS_CLIENT_REQUEST=".*",
    )
    report, _ = run_scenario(env, http_calls=True)

    assert report["exporting"] and report["global_is_ours"]
    # Set for the process (and inherited by its children) so every HTTP instrumentation agrees.
    assert report["semconv_opt_in"] == "http"
    assert_http_telemetry(otlp_receiver, report)
    client = otlp_receiver.find_spans("GET")[0]
    assert client.attributes["http.request.header.authorization"] == ("[REDACTED]",)
    assert client.resource["service.name"] == "jiraplug-test"
    assert client.resource["team"] == "jira tools"
    assert {e.transport for e in otlp_receiver.exports()} == {"http"}
    assert_no_secrets(otlp_receiver)


def test_stable_semconv_even_if_initialised_earlier_and_exit_flushes(otlp_receiver: OTLPReceiver) -> None:
    # Long intervals: the data can only arrive through the flush at interpreter exit.
    env = clean_env(**{**otlp_receiver.env(metric_interval_ms=60_000), "OTEL_BSP_SCHEDULE_DELAY": "60000"})
    report, _ = run_scenario(env, http_calls=True, early_semconv=True, no_shutdown=True)
    assert_http_telemetry(otlp_receiver, report)
    assert_no_secrets(otlp_receiver)


def test_operation_duration_metric_pushed_by_force_flush(otlp_receiver: OTLPReceiver) -> None:
    env = clean_env(**otlp_receiver.env(metric_interval_ms=60_000))
    proc = subprocess.Popen(
        [sys.executable, "-c", SCENARIO, json.dumps({"record_operation": True, "flush_and_wait": True})],
        env=env,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert proc.stdout.readline().strip() == "FLUSHED"
        # The process is still alive, the periodic reader's 60 s interval has not elapsed:
        # this metric can only be here because force_flush() pushed it.
        metric = otlp_receiver.wait_for_metric("mcp.server.operation.duration", timeout=5)
        assert proc.poll() is None
        proc.stdin.write("go\n")
        proc.stdin.flush()
        _, stderr = proc.communicate(timeout=30)
        assert proc.returncode == 0, stderr
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    assert metric.unit == "s" and metric.type == "histogram"
    assert metric.description.startswith("MCP request or notification duration")
    points = {p.attributes.get("error.type"): p for p in metric.data_points}
    assert points[None].attributes == {"mcp.method.name": "tools/call", "gen_ai.tool.name": "jira_get_issue"}
    assert (points[None].count, points[None].sum) == (1, 0.25)
    assert (points["tool_error"].count, points["tool_error"].sum) == (1, 1.5)
    assert 1.0 in points[None].explicit_bounds and 300.0 in points[None].explicit_bounds


def test_nothing_configured_exports_nothing() -> None:
    # If anything fell back to the OTLP default (localhost:4318), this receiver would see it.
    try:
        receiver = OTLPReceiver(port=4318).start()
    except OSError:
        receiver = OTLPReceiver().start()  # port busy: the module checks below still apply
    try:
        env = clean_env(OTEL_SERVICE_NAME="quiet", OTEL_RESOURCE_ATTRIBUTES="a=b")  # not exporter settings
        report, stderr = run_scenario(env, http_calls=True, record_operation=True, span_name="quiet-span")
        assert report["statuses"] == [200, 200]  # the instrumented transport still works
        assert report["exporting"] is False and report["exporters"] == {}
        assert report["global_is_ours"] is False
        assert not [m for m in report["modules"] if m.startswith(("opentelemetry.exporter", "grpc"))]
        assert not [m for m in report["modules"] if m.startswith("opentelemetry.sdk")]
        # No traceparent either: the spans are non-recording. Nothing could observe these
        # requests, so they skipped the OpenTelemetry wrapper (its attributes cost CPU per request).
        assert all("traceparent" not in h for h in report["server_saw"])
        assert report["traced_requests"] == 0
        assert "quiet-span" not in stderr
        assert receiver.exports() == []
    finally:
        receiver.stop()


def test_caller_trace_is_passed_on_to_jira_without_a_provider() -> None:
    trace_id = "0af7651916cd43dd8448eb211c80319c"
    report, _ = run_scenario(clean_env(), http_calls=True, remote_parent=trace_id)
    assert report["exporting"] is False
    plain, continued = report["server_saw"][:2], report["server_saw"][2]
    assert all("traceparent" not in h for h in plain)
    # No provider records anything here, but the caller's trace still reaches Jira, as it
    # did before requests without anyone observing them skipped the wrapper.
    assert continued["traceparent"].split("-")[1] == trace_id
    assert report["traced_requests"] == 1


def test_sdk_disabled_overrides_an_endpoint(otlp_receiver: OTLPReceiver) -> None:
    env = clean_env(**otlp_receiver.env(), OTEL_SDK_DISABLED="true")
    report, _ = run_scenario(env, http_calls=True, record_operation=True, span_name="disabled-span")
    assert report["statuses"] == [200, 200]
    assert report["exporting"] is False and report["exporters"] == {}
    assert not [m for m in report["modules"] if m.startswith(("opentelemetry.exporter", "opentelemetry.sdk"))]
    assert all("traceparent" not in h for h in report["server_saw"])
    assert otlp_receiver.exports() == []


def test_grpc_protocol_selects_grpc_exporter_and_signal_override() -> None:
    with OTLPReceiver(grpc=True) as receiver:
        env = clean_env(
            **receiver.env(protocol="grpc"),
            # Metrics go over HTTP: a signal-specific protocol and endpoint override the general ones.
            OTEL_EXPORTER_OTLP_METRICS_PROTOCOL="http/protobuf",
            OTEL_EXPORTER_OTLP_METRICS_ENDPOINT=f"{receiver.endpoint}/v1/metrics",
        )
        report, _ = run_scenario(env, http_calls=True)
        assert report["exporters"] == {
            "traces": ["opentelemetry.exporter.otlp.proto.grpc.trace_exporter.OTLPSpanExporter"],
            "metrics": ["opentelemetry.exporter.otlp.proto.http.metric_exporter.OTLPMetricExporter"],
        }
        assert_http_telemetry(receiver, report)
        assert {e.transport for e in receiver.exports("traces")} == {"grpc"}
        assert {e.transport for e in receiver.exports("metrics")} == {"http"}
        assert_no_secrets(receiver)


def test_console_exporter_writes_to_stderr_not_stdout() -> None:
    env = clean_env(OTEL_TRACES_EXPORTER="console", OTEL_METRICS_EXPORTER="console")
    report, stderr = run_scenario(env, span_name="console-span-xyz", record_operation=True)
    # run_scenario already asserted that stdout holds nothing but the one-line JSON report.
    assert report["exporting"] is True
    assert "console-span-xyz" in stderr
    assert "mcp.server.operation.duration" in stderr
    assert not [m for m in report["modules"] if m.startswith("opentelemetry.exporter")]


def test_bad_protocol_is_a_clear_value_error() -> None:
    env = clean_env(OTEL_EXPORTER_OTLP_ENDPOINT="http://127.0.0.1:9", OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon")
    report, _ = run_scenario(env, expect_error=True)
    message = report["error"]
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" in message and "'carrier-pigeon'" in message
    assert "'http/protobuf'" in message and "'grpc'" in message
    assert report["global_tracer_provider"] == "ProxyTracerProvider"  # nothing was installed


# ------------------------------------------------------------------ configuration (in-process)


@pytest.mark.parametrize(
    ("variable", "value", "accepted"),
    [
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/json", "'grpc'"),
        ("OTEL_TRACES_EXPORTER", "zipkin", "'otlp'"),
        ("OTEL_METRICS_EXPORTER", "none,console", "'none' alone"),
        ("OTEL_METRIC_EXPORT_INTERVAL", "soon", "positive whole number"),
        ("OTEL_SDK_DISABLED", "yes", "'true' or 'false'"),
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318", "http:// or https:// URL"),
        ("OTEL_RESOURCE_ATTRIBUTES", "team", "key=value"),
    ],
)
def test_invalid_values_name_variable_value_and_accepted(variable: str, value: str, accepted: str) -> None:
    with pytest.raises(ValueError) as info:
        read_config({variable: value})
    message = str(info.value)
    assert variable in message and repr(value) in message and accepted in message


def test_config_rules() -> None:
    assert not read_config({}).exporting
    assert not read_config({"OTEL_EXPORTER_OTLP_HEADERS": "x=y", "OTEL_SERVICE_NAME": "s"}).exporting

    base = read_config({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"})
    assert base.traces.endpoint == "http://c:4318/v1/traces"
    assert base.metrics.endpoint == "http://c:4318/v1/metrics"

    # A signal-specific endpoint is used as is, and enables only that signal.
    only_traces = read_config({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "https://c/custom"})
    assert only_traces.traces.exporters == ("otlp",) and only_traces.traces.endpoint == "https://c/custom"
    assert only_traces.metrics.exporters == ()

    # An exporter name "otlp" without an endpoint means the OTLP default.
    named = read_config({"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert named.metrics.endpoint == "http://localhost:4317" and named.metrics.protocol == "grpc"
    assert named.traces.exporters == ()

    off = read_config({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318", "OTEL_TRACES_EXPORTER": "none"})
    assert off.traces.exporters == () and off.metrics.exporters == ("otlp",)

    both = read_config({"OTEL_TRACES_EXPORTER": "console,otlp", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:1"})
    assert both.traces.exporters == ("console", "otlp")

    disabled = read_config({"OTEL_SDK_DISABLED": "TRUE", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318"})
    assert disabled.disabled and not disabled.exporting

    names = read_config({"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs"}, service_name="arg")
    assert names.service_name == "from-attrs"
    assert read_config({"OTEL_SERVICE_NAME": "env", "OTEL_RESOURCE_ATTRIBUTES": "service.name=x"}).service_name == "env"
    assert read_config({}, service_name="arg").service_name == "arg"
