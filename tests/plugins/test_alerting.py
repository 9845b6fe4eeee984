"""The alerting plugin end to end: sandbox faults -> monitor -> webhook, MCP clients, OTel, resource.

Each test runs its own sandbox (knobs change) and a webhook receiver on 127.0.0.1. The server
runs on a ``ManualClock`` (``build_server(..., clock=...)``): the monitor evaluates every 20 ms
of real time, but windows and ``for_seconds`` only move when the test advances the clock. The cache
and rate-limit plugins are switched off here so that every tool call reaches the sandbox once.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager, contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import anyio
import pytest
from mcp import Client

from jiraplug import hookimpl
from jiraplug.bootstrap import bootstrap
from jiraplug.clock import SYSTEM_CLOCK, Clock, ManualClock
from jiraplug.errors import ConfigError
from jiraplug.plugins.alerting import Alert
from jiraplug.sandbox import Knobs, SandboxServer
from jiraplug.server.build import build_server
from jiraplug.server.toolcalls import current_call
from tests.conftest import sandbox_environ

pytestmark = pytest.mark.anyio

ALL_OFF = {
    f"JIRAPLUG_ALERTING__{key}": "off"
    for key in ("MAX_RESPONSE_TIME_MS", "MIN_SUCCESS_RATE_PERCENT", "MAX_ERROR_RATE_PERCENT",
                "MAX_MEMORY_USAGE_BYTES", "MAX_REQUESTS_PER_SECOND")
}


class WebhookReceiver:
    """Collects JSON POSTs on 127.0.0.1; answers the statuses in ``script`` first, then 200."""

    def __init__(self, script: list[int] | None = None) -> None:
        self.bodies: list[dict[str, Any]] = []
        self.requests: list[tuple[str, dict[str, str], bytes]] = []
        self.script = list(script or [])
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 (http.server API)
                raw = self.rfile.read(int(self.headers.get("content-length") or 0))
                receiver.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, raw))
                status = receiver.script.pop(0) if receiver.script else 200
                if status == 200:
                    receiver.bodies.append(json.loads(raw))
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/hooks/s3cret-path-token"

    def alerts(self, name: str, state: str) -> list[dict[str, Any]]:
        return [b["alert"] for b in self.bodies if b["alert"]["name"] == name and b["alert"]["state"] == state]

    @contextmanager
    def running(self) -> Iterator[WebhookReceiver]:
        self._thread.start()
        try:
            yield self
        finally:
            self._server.shutdown()
            self._server.server_close()


async def wait_until(predicate: Callable[[], Any], what: str, timeout: float = 10.0) -> Any:
    """Poll ``predicate`` until it is truthy: a bounded wait, not a timing assertion."""
    with anyio.move_on_after(timeout):
        while True:
            value = predicate()
            if value:
                return value
            await anyio.sleep(0.02)
    raise AssertionError(f"timed out waiting for {what}")


@pytest.fixture
def clock() -> ManualClock:
    """The servers' clock: it moves when the test advances it (webhook retry waits move it, at once)."""
    return ManualClock()


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)


class Probe:
    """A test plugin: one small tool that reads an issue through the server's Jira client.

    The alerting tests need tool calls that reach Jira, not any particular toolset.
    """

    @hookimpl
    def register_tools(self, registry):  # type: ignore[no-untyped-def]
        async def probe_issue(issue_key: str) -> str:
            """The summary of one issue."""
            issue = await current_call().jira.get_issue(issue_key, fields=["summary"])
            return str(issue["fields"]["summary"])

        registry.add(probe_issue)


async def probe(client: Client, key: str) -> bool:
    """Call the probe tool; True when it succeeded."""
    return not (await client.call_tool("probe_issue", {"issue_key": key})).is_error


def make_server(sandbox: SandboxServer, plugins: dict[str, object] | None = None,  # type: ignore[no-untyped-def]
                clock: Clock = SYSTEM_CLOCK, **settings: str):
    environ = {**sandbox_environ(sandbox), "JIRAPLUG_DISABLE_PLUGINS": "cache,ratelimit", **ALL_OFF,
               "JIRAPLUG_ALERTING__CHECK_INTERVAL_SECONDS": "0.02", "JIRAPLUG_ALERTING__WINDOW_SECONDS": "60",
               "JIRAPLUG_ALERTING__MIN_SAMPLES": "2", "JIRAPLUG_ALERTING__WEBHOOK_BACKOFF_SECONDS": "0"}
    environ.update({f"JIRAPLUG_ALERTING__{key.upper()}": value for key, value in settings.items()})
    app = bootstrap(environ=environ, extra_plugins={"probe": Probe(), **(plugins or {})})
    return build_server(app.settings, app.plugins, clock=clock), app


@asynccontextmanager
async def memory_alert_over_http(clock: Clock) -> AsyncIterator[str]:
    """A server over streamable HTTP whose memory alert fires 5 s (of the fake clock) after start."""
    import socket

    import uvicorn

    from jiraplug.server.http_app import build_http_app

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with SandboxServer(flavour="cloud", seed=12, port=0) as sandbox:
        server, app = make_server(sandbox, clock=clock, max_memory_usage_bytes="1", for_seconds="5")
        web = uvicorn.Server(uvicorn.Config(build_http_app(server, app.settings.server), host="127.0.0.1", port=port,
                                            log_level="warning"))
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(web.serve)
            await wait_until(lambda: web.started, "the HTTP server")
            try:
                yield f"http://127.0.0.1:{port}/mcp"
            finally:
                web.should_exit = True


async def alerts_resource(client: Client) -> dict[str, Any]:
    result = await client.read_resource("jiraplug://alerts")
    return json.loads(result.contents[0].text)


def gauge(otel_memory: Any, name: str) -> float | None:
    points = [p for p in otel_memory.metrics().get("jiraplug.alerting.active", []) if p.attributes.get("alert") == name]
    return points[-1].value if points else None


async def test_response_time_alert_fires_once_reaches_webhook_and_client_then_resolves(
    clock: ManualClock, otel_memory: Any
) -> None:
    received: list[Any] = []

    async def on_log(params: Any) -> None:
        received.append(params)

    with SandboxServer(flavour="cloud", seed=7, port=0) as sandbox, WebhookReceiver().running() as hook:
        server, _ = make_server(sandbox, clock=clock, max_response_time_ms="250", for_seconds="30", webhook_url=hook.url)
        sandbox.set_knobs(Knobs(latency_ms=400))
        # A 2025-handshake client keeps a standing channel: alerts are pushed to it as they happen.
        async with Client(server, cache=None, mode="legacy", logging_callback=on_log) as client:
            for key in ("PLAT-1", "PLAT-2"):
                assert await probe(client, key)

            async def state() -> str:
                return (await alerts_resource(client))["rules"]["response_time"]["state"]

            with anyio.fail_after(10):
                while await state() != "pending":
                    await anyio.sleep(0.02)
            await anyio.sleep(0.2)  # ten evaluations: still only pending, nothing sent
            assert hook.bodies == [] and received == []

            clock.advance(31)  # the condition has now held for for_seconds
            firing = (await wait_until(lambda: hook.alerts("response_time", "firing"), "the firing webhook"))[0]
            assert firing["value"] > 250 and firing["threshold"] == 250 and firing["unit"] == "ms"
            assert firing["labels"]["statistic"] == "p95" and "p95 response time" in firing["message"]
            pushed = await wait_until(lambda: [r for r in received if r.data.get("state") == "firing"], "the push")
            assert pushed[0].level == "warning" and pushed[0].logger == "jiraplug.alerting"
            assert pushed[0].data["name"] == "response_time"
            assert gauge(otel_memory, "response_time") == 1

            clock.advance(5)
            await anyio.sleep(0.2)  # still breached: not repeated
            assert len(hook.alerts("response_time", "firing")) == 1 and len(received) == 1

            sandbox.set_knobs(Knobs())
            for key in ("PLAT-3", "PLAT-4"):
                assert await probe(client, key)
            clock.advance(25)  # the slow calls leave the 60 s window; the fast ones stay
            resolved = (await wait_until(lambda: hook.alerts("response_time", "resolved"), "the resolution"))[0]
            assert resolved["value"] < 250 and "is within 250 ms" in resolved["message"]
            await wait_until(lambda: [r for r in received if r.data.get("state") == "resolved"], "resolved push")
            assert gauge(otel_memory, "response_time") == 0

            document = await alerts_resource(client)
        assert document["active"] == []
        assert [(h["name"], h["state"]) for h in document["history"]] == [
            ("response_time", "firing"), ("response_time", "resolved")]
        path, headers, raw = hook.requests[0]
        assert headers["content-type"] == "application/json" and path.endswith("s3cret-path-token")
        assert sandbox.default_user.api_token.encode() not in raw

    spans = [s for s in otel_memory.spans() if s.name == "jiraplug.alert"]
    events = [e.name for s in spans for e in s.events]
    assert events == ["jiraplug.alert.firing", "jiraplug.alert.resolved"]
    changes = {tuple(sorted(p.attributes.items())): p.value
               for p in otel_memory.metrics().get("jiraplug.alerting.alerts", [])}
    assert changes[(("alert", "response_time"), ("state", "firing"))] >= 1


async def test_error_rate_alert_with_injected_5xx_reaches_a_2026_client_on_its_next_call(clock: ManualClock) -> None:
    received: list[Any] = []

    async def on_log(params: Any) -> None:
        received.append(params)

    # The webhook answers 503 once: the alert is retried and still delivered.
    with SandboxServer(flavour="cloud", seed=8, port=0) as sandbox, WebhookReceiver([503]).running() as hook:
        server, _ = make_server(sandbox, clock=clock, max_error_rate_percent="20", for_seconds="0", webhook_url=hook.url,
                                webhook_token="hook-bearer-zzz")
        sandbox.set_knobs(Knobs(error_rate=1.0))
        # Protocol 2026-07-28: no standing channel; log messages ride requests that opt in.
        async with Client(server, cache=None, log_level="warning", logging_callback=on_log) as client:
            assert client.protocol_version == "2026-07-28"
            for key in ("PLAT-1", "PLAT-2", "PLAT-3"):
                assert not await probe(client, key)
            firing = (await wait_until(lambda: hook.alerts("error_rate", "firing"), "the firing webhook"))[0]
            assert firing["value"] == 100 and firing["threshold"] == 20 and "Jira error rate" in firing["message"]
            assert len(hook.requests) == 2  # 503, then 200
            assert all(r[1]["authorization"] == "Bearer hook-bearer-zzz" for r in hook.requests)
            assert all(b"hook-bearer-zzz" not in r[2] for r in hook.requests)
            assert received == []

            sandbox.set_knobs(Knobs())
            assert await probe(client, "PLAT-4")
            told = [r.data for r in received if "active_alerts" in r.data]
            assert told and told[0]["active_alerts"][0]["name"] == "error_rate"

            clock.advance(30)
            for key in ("PLAT-5", "PLAT-6"):  # 3 of 6 requests failed: still above 20%
                assert await probe(client, key)
            await anyio.sleep(0.1)
            assert hook.alerts("error_rate", "resolved") == []
            clock.advance(31)  # the failures leave the 60 s window, the successes stay
            resolved = (await wait_until(lambda: hook.alerts("error_rate", "resolved"), "the resolution"))[0]
            assert resolved["value"] == 0
            document = await alerts_resource(client)
            assert document["active"] == [] and document["rules"]["error_rate"]["state"] == "ok"
            count = len(received)
            assert await probe(client, "PLAT-7")
            assert len(received) == count  # nothing active: nothing attached


async def test_a_2026_client_listening_for_the_alerts_resource_hears_each_change(clock: ManualClock) -> None:
    """2026-07-28 removed unsolicited messages; subscriptions/listen is how a change reaches a client."""
    from mcp.shared.subscriptions import ResourceUpdated

    with SandboxServer(flavour="cloud", seed=8, port=0) as sandbox:
        server, _ = make_server(sandbox, clock=clock, max_memory_usage_bytes="1", for_seconds="5")
        async with Client(server, cache=None) as client:
            assert client.protocol_version == "2026-07-28"
            async with client.listen(resource_subscriptions=["jiraplug://alerts"]) as events:
                assert events.honored.resource_subscriptions == ["jiraplug://alerts"]
                assert await probe(client, "PLAT-1")
                with anyio.fail_after(10):  # the monitor has seen the breach: for_seconds now runs
                    while (await alerts_resource(client))["rules"]["memory_usage"]["state"] != "pending":
                        await anyio.sleep(0.02)
                clock.advance(6)
                with anyio.fail_after(10):
                    event = await events.__anext__()
                assert event == ResourceUpdated(uri="jiraplug://alerts")
            document = await alerts_resource(client)
            assert [a["name"] for a in document["active"]] == ["memory_usage"]


async def test_a_failing_webhook_does_not_stop_the_other_sinks_and_is_logged_without_its_url(
    clock: ManualClock, caplog: pytest.LogCaptureFixture
) -> None:
    received: list[Any] = []

    async def on_log(params: Any) -> None:
        received.append(params)

    caplog.set_level(logging.WARNING, logger="jiraplug.alerting")
    with SandboxServer(flavour="dc", seed=9, port=0) as sandbox, WebhookReceiver([404]).running() as hook:
        server, _ = make_server(sandbox, clock=clock, min_success_rate_percent="90", for_seconds="0", webhook_url=hook.url,
                                webhook_retries="3")
        async with Client(server, cache=None, mode="legacy", logging_callback=on_log) as client:
            for _ in range(2):
                assert not await probe(client, "NOPE-1")
            await wait_until(lambda: [r for r in received if r.data.get("name") == "success_rate"], "the push")
            await wait_until(lambda: "alert sink webhook failed" in caplog.text, "the webhook failure log")
    assert len(hook.requests) == 1  # a 404 is not retried
    assert "alert success_rate firing: tool-call success rate 0.0% < 90.0%" in caplog.text
    assert "s3cret-path-token" not in caplog.text and f"127.0.0.1:{hook.url.split(':')[2].split('/')[0]}" in caplog.text


class TaskLister:
    """A test plugin: a tool that names the background tasks running in the server."""

    @hookimpl
    def register_tools(self, registry):  # type: ignore[no-untyped-def]
        async def list_tasks() -> list[str]:
            """Names of the running asyncio tasks."""
            import asyncio

            return sorted(task.get_name() for task in asyncio.all_tasks())

        registry.add(list_tasks, structured_output=True)


@pytest.mark.parametrize("disabled", [True, False])
async def test_disabled_alerting_runs_nothing(disabled: bool, otel_memory: Any) -> None:
    with SandboxServer(flavour="cloud", seed=10, port=0) as sandbox:
        environ = {**sandbox_environ(sandbox), **({"JIRAPLUG_DISABLE_PLUGINS": "alerting"} if disabled else {})}
        app = bootstrap(environ=environ, extra_plugins={"tasks": TaskLister(), "probe": Probe()})
        server = build_server(app.settings, app.plugins)
        before = otel_memory.metrics()
        async with Client(server, cache=None) as client:
            assert await probe(client, "PLAT-1")
            tasks = (await client.call_tool("list_tasks", {})).structured_content["result"]
            resources = {str(r.uri) for r in (await client.list_resources()).resources}
            after = otel_memory.metrics()
    assert ("jiraplug.alerting.monitor" in tasks) is not disabled
    assert ("jiraplug://alerts" in resources) is not disabled
    assert app.plugins.info("alerting").loaded is not disabled
    new_points = {name for name, points in after.items() if name.startswith("jiraplug.alerting.")
                  and len(points) > len(before.get(name, []))}
    if disabled:
        assert new_points == set()
    else:
        observed = {p.attributes["alert"] for p in after["jiraplug.alerting.active"]}
        assert {"response_time", "success_rate", "error_rate", "memory_usage"} <= observed


def test_bad_alerting_settings_fail_at_start_naming_the_key_without_echoing_secrets(tmp_path) -> None:  # type: ignore[no-untyped-def]
    environ = {"JIRAPLUG_ALERTING__WEBHOOK_URL": "ftp://hooks.example/T0KEN-abc"}
    with pytest.raises(ConfigError) as info:
        bootstrap(environ=environ)
    assert "alerting.webhook_url" in str(info.value) and "T0KEN-abc" not in str(info.value)
    with pytest.raises(ConfigError, match="alerting.for_seconds"):
        bootstrap(environ={"JIRAPLUG_ALERTING__FOR_SECONDS": "-1"})
    app = bootstrap(environ={"JIRAPLUG_ALERTING__MAX_MEMORY_USAGE_BYTES": "off"})
    assert app.settings.plugin_config("alerting").max_memory_usage_bytes is None
    assert "T0KEN" not in json.dumps(bootstrap(environ={"JIRAPLUG_ALERTING__WEBHOOK_URL": "https://h.example/T0KEN"})
                                     .settings.redacted(), default=str)


class ThirdPartySink:
    """A test plugin: a third-party alert sink."""

    def __init__(self) -> None:
        self.alerts: list[Alert] = []

    @hookimpl(optionalhook=True)  # alerting declares the hook; the sink loads without it too
    def deliver_alert(self, alert: Alert) -> None:
        self.alerts.append(alert)


async def test_a_third_party_sink_receives_the_memory_alert(clock: ManualClock) -> None:
    sink = ThirdPartySink()
    with SandboxServer(flavour="cloud", seed=11, port=0) as sandbox:
        server, _ = make_server(sandbox, {"pager": sink}, clock=clock, max_memory_usage_bytes="1", for_seconds="0")
        async with Client(server, cache=None) as client:
            await wait_until(lambda: [a for a in sink.alerts if a.name == "memory_usage"], "the memory alert")
            document = await alerts_resource(client)
            assert [a["name"] for a in document["active"]] == ["memory_usage"]
            assert document["rules"]["memory_usage"]["state"] == "firing"
    alert = sink.alerts[0]
    assert alert.state == "firing" and alert.unit == "By" and alert.value > 1 and alert.threshold == 1


async def test_alerts_are_pushed_to_a_2025_client_over_streamable_http(clock: ManualClock) -> None:
    received: list[Any] = []
    late: list[Any] = []

    async def on_log(params: Any) -> None:
        received.append(params)

    async def on_late(params: Any) -> None:
        late.append(params)

    async with memory_alert_over_http(clock) as url, \
            Client(url, cache=None, mode="legacy", logging_callback=on_log) as client:
        assert await probe(client, "PLAT-1")  # the server now knows this client
        assert (await alerts_resource(client))["rules"]["memory_usage"]["state"] == "pending"
        clock.advance(6)
        pushed = await wait_until(lambda: [r.data for r in received if r.data.get("name") == "memory_usage"],
                                  "the alert on the session's GET stream")
        assert pushed[0]["state"] == "firing" and pushed[0]["unit"] == "By"

        # A client that connects while the alert fires hears of it on its first call.
        async with Client(url, cache=None, mode="legacy", logging_callback=on_late) as other:
            assert await probe(other, "PLAT-2")
            told = await wait_until(lambda: [r.data for r in late if "active_alerts" in r.data], "the summary")
            assert told[0]["active_alerts"][0]["name"] == "memory_usage"


async def test_on_a_shared_server_users_with_their_own_credential_get_no_alerts(clock: ManualClock) -> None:
    """Alerts are figures over every user's calls: they go to the operator's sessions only."""
    import base64

    import httpx2
    from mcp.client.streamable_http import streamable_http_client
    from mcp.shared.exceptions import MCPError

    operator_heard: list[Any] = []
    user_heard: list[Any] = []

    async def on_operator(params: Any) -> None:
        operator_heard.append(params)

    async def on_user(params: Any) -> None:
        user_heard.append(params)

    own = {"x-jira-authorization": "Basic " + base64.b64encode(b"bob@example.com:sandbox-api-token-bob").decode()}
    async with memory_alert_over_http(clock) as url:
        async with httpx2.AsyncClient(headers=own, timeout=30) as http, \
                Client(url, cache=None, mode="legacy", logging_callback=on_operator) as operator, \
                Client(streamable_http_client(url, http_client=http), cache=None, mode="legacy",
                       logging_callback=on_user) as user:
            assert await probe(operator, "PLAT-1") and await probe(user, "PLAT-1")
            clock.advance(6)
            await wait_until(lambda: [r for r in operator_heard if r.data.get("name") == "memory_usage"],
                             "the alert at the operator's session")
            assert await probe(user, "PLAT-2")  # a call while the alert fires
            # The alerts resource, like every operator resource, is the operator's too.
            assert (await alerts_resource(operator))["active"]
            with pytest.raises(MCPError, match="describes every user of this server and is for its operator"):
                await alerts_resource(user)
        # A user who connects while the alert fires is not told of it on a first call either.
        async with httpx2.AsyncClient(headers=own, timeout=30) as http, \
                Client(streamable_http_client(url, http_client=http), cache=None, mode="legacy",
                       logging_callback=on_user) as late_user:
            assert await probe(late_user, "PLAT-3")
    assert [r.data for r in user_heard if r.logger == "jiraplug.alerting"] == []


def test_monitor_lifecycle_pending_that_clears_sends_nothing_and_firing_is_sent_once() -> None:
    from jiraplug.plugins.alerting.monitor import Monitor
    from jiraplug.plugins.alerting.rules import build_rules
    from jiraplug.plugins.alerting.settings import AlertingSettings
    from jiraplug.plugins.alerting.window import SlidingWindow

    clock = ManualClock()
    settings = AlertingSettings(max_response_time_ms=100, response_time_statistic="mean", min_success_rate_percent="off",
                                max_error_rate_percent="off", max_memory_usage_bytes="off",
                                max_redis_unavailable_seconds="off", for_seconds=10, window_seconds=60, min_samples=1)
    window = SlidingWindow(settings.window_seconds, clock.monotonic)
    monitor = Monitor(build_rules(settings), settings, clock.monotonic, lambda: 1.7e9)
    assert [rule.name for rule in monitor.rules] == ["response_time"]

    def step(advance: float, *durations: float) -> list[tuple[str, str]]:
        clock.advance(advance)
        for seconds in durations:
            window.add_call(seconds, True)
        return [(a.name, a.state) for a in monitor.evaluate(window.figures(), rss=0)]

    assert step(0, 0.5) == []  # pending
    assert step(5) == []
    assert step(1, 0.001, 0.001, 0.001, 0.001, 0.001) == []  # mean drops below 100 ms before for_seconds: nothing
    assert monitor.describe()["response_time"]["state"] == "ok"
    assert step(1, 0.9, 0.9, 0.9, 0.9, 0.9) == []  # pending again, the clock restarts
    assert step(9.9) == []
    assert step(0.2) == [("response_time", "firing")]
    assert step(5) == [] and step(5) == []  # still breached: not repeated
    assert step(61, 0.01) == [("response_time", "resolved")]  # the slow calls left the window
    assert step(1) == []


def test_window_memory_is_bounded_at_any_call_rate_and_its_figures_stay_exact() -> None:
    from jiraplug.plugins.alerting.window import SLOTS, SlidingWindow

    clock = ManualClock()
    window = SlidingWindow(60, clock.monotonic, latency_samples=100)
    # 20 minutes at 500 calls/s, one Jira request per call, every tenth call failing.
    for _ in range(1200):
        clock.advance(1)
        for n in range(500):
            window.add_call(0.010 if n % 10 else 0.200, ok=bool(n % 10))
            window.add_request(ok=True)
        assert window.held() <= SLOTS + 1 + 100
    figures = window.figures()
    # The window's edge moves in 0.2 s steps: 60 s of calls, plus the slot it cuts through.
    assert 60 * 500 <= figures.calls <= 61 * 500
    assert figures.failed_calls == figures.calls // 10
    assert figures.requests == figures.calls and figures.failed_requests == 0
    assert figures.mean_seconds == pytest.approx(0.9 * 0.010 + 0.1 * 0.200)
    assert figures.p95_seconds == 0.200  # the latest 100 calls: ten slow ones among them
    assert figures.calls_per_second == pytest.approx(figures.calls / 60)

    clock.advance(61)  # everything leaves the window
    empty = window.figures()
    assert (empty.calls, empty.requests, empty.p95_seconds, empty.mean_seconds) == (0, 0, None, None)
    assert window.held() == 0


# ------------------------------------------------- every attempt and every refusal counts


def make_server_with_ratelimit(sandbox: SandboxServer, clock: Clock, **ratelimit: str):  # type: ignore[no-untyped-def]
    """Alerting and ratelimit both on (their real chain order), the cache off.

    Both run on ``clock``: ratelimit's waits move it, so the window is long enough to keep
    every attempt of a test.
    """
    environ = {**sandbox_environ(sandbox), "JIRAPLUG_DISABLE_PLUGINS": "cache", **ALL_OFF,
               "JIRAPLUG_ALERTING__MAX_ERROR_RATE_PERCENT": "20", "JIRAPLUG_ALERTING__FOR_SECONDS": "0",
               "JIRAPLUG_ALERTING__CHECK_INTERVAL_SECONDS": "0.02", "JIRAPLUG_ALERTING__WINDOW_SECONDS": "3600",
               "JIRAPLUG_ALERTING__MIN_SAMPLES": "2"}
    environ.update({f"JIRAPLUG_RATELIMIT__{key.upper()}": value for key, value in ratelimit.items()})
    app = bootstrap(environ=environ, extra_plugins={"probe": Probe()})
    return build_server(app.settings, app.plugins, clock=clock), app


async def active_alert(client: Client, name: str) -> dict[str, Any]:
    """Wait until the alerts resource shows ``name`` active; return it."""
    for _ in range(250):
        active = [a for a in (await alerts_resource(client))["active"] if a["name"] == name]
        if active:
            return active[0]
        await anyio.sleep(0.02)
    raise AssertionError(f"alert {name!r} never became active")


async def test_error_rate_counts_each_retried_5xx_attempt_and_each_breaker_refusal(clock: ManualClock) -> None:
    with SandboxServer(flavour="cloud", seed=8, port=0) as sandbox:
        server, _ = make_server_with_ratelimit(sandbox, clock, max_attempts="3", breaker_failure_threshold="5")
        sandbox.set_knobs(Knobs(error_rate=1.0))
        async with Client(server, cache=None) as client:
            assert not await probe(client, "PLAT-1")  # 3 attempts, each a 5xx
            assert len(sandbox.request_log) == 3
            window = (await alerts_resource(client))["window"]
            assert (window["jira_requests"], window["failed_jira_requests"]) == (3, 3)

            assert not await probe(client, "PLAT-2")  # 2 more attempts, then the breaker opens
            assert not await probe(client, "PLAT-3")  # refused without reaching Jira
            assert len(sandbox.request_log) == 5
            window = (await alerts_resource(client))["window"]
            # Each of the 5 attempts Jira saw, plus one for the request the breaker refused.
            assert (window["jira_requests"], window["failed_jira_requests"]) == (6, 6)
            alert = await active_alert(client, "error_rate")
            assert alert["value"] == 100


async def test_error_rate_counts_each_429_of_a_storm_that_ratelimit_retries(clock: ManualClock) -> None:
    with SandboxServer(flavour="cloud", seed=8, port=0) as sandbox:
        server, _ = make_server_with_ratelimit(sandbox, clock, max_attempts="3", max_retry_after_seconds="600",
                                                   max_retry_seconds="600")
        async with Client(server, cache=None) as client:
            # One request per 100 s of real time: the first passes, every later one is answered 429
            # (ratelimit's waits run on the manual clock, so the sandbox's bucket never refills).
            sandbox.set_knobs(Knobs(rate_limit_rps=0.01, rate_limit_burst=1))
            assert await probe(client, "PLAT-1")
            assert not await probe(client, "PLAT-2")  # 429, retried after Retry-After, 429, 429
            statuses = [record.status for record in sandbox.request_log]
            assert statuses == [200, 429, 429, 429]
            window = (await alerts_resource(client))["window"]
            assert (window["jira_requests"], window["failed_jira_requests"]) == (4, 3)
            alert = await active_alert(client, "error_rate")
            assert alert["value"] == 75
