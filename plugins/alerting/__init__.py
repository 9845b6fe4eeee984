"""Built-in plugin ``alerting``: thresholds over a sliding window, a firing/resolved lifecycle, sinks.

* A ``tool_call_middleware`` records every tool call (duration, success) and a
  ``jira_request_middleware`` every Jira request (failed: 5xx, 429, network) into a
  sliding window of ``window_seconds``.
* A background monitor (``startup`` -> ``runtime.spawn``) evaluates the thresholds every
  ``check_interval_seconds``; an alert fires after its condition held ``for_seconds``,
  resolves when it clears, and is not repeated while it stays active. Each change goes to
  every plugin's ``deliver_alert`` sink: a hook this plugin declares (:mod:`.hookspecs`,
  added through ``add_hookspecs``) and calls through the plugin host.
* This plugin's own sinks: the log, OpenTelemetry (span ``jiraplug.alert`` with an event
  per change, counter ``jiraplug.alerting.alerts``, gauge ``jiraplug.alerting.active``),
  connected MCP clients (``notifications/message``) and a webhook (JSON POST).
* ``jiraplug://alerts``: active alerts, rule states and history (``state_of(runtime).snapshot()``).

Windows, ``for_seconds`` and alert timestamps run on ``runtime.clock``. Disabled, the module
is never imported: no middleware, no monitor, no metrics, and no ``deliver_alert`` hook.
See docs/plugins/alerting.md.
"""

from __future__ import annotations

import logging
import time
import weakref
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import anyio
import httpx2
import psutil

from jiraplug import hookimpl
from jiraplug.jira.middleware import Attempt, attempts_of
from jiraplug.plugins.alerting import hookspecs, sinks
from jiraplug.plugins.alerting.alerts import Alert
from jiraplug.plugins.alerting.monitor import Monitor
from jiraplug.plugins.alerting.rules import build_rules
from jiraplug.plugins.alerting.settings import AlertingSettings
from jiraplug.plugins.alerting.window import SlidingWindow
from jiraplug.redis_link import redis_down_seconds
from jiraplug.server.toolcalls import is_error_result

if TYPE_CHECKING:
    from jiraplug.jira.middleware import JiraMiddleware, Send
    from jiraplug.plugin_host import PluginHost
    from jiraplug.server.registry import ResourceRegistry
    from jiraplug.runtime import Runtime
    from jiraplug.settings import Settings
    from jiraplug.server.toolcalls import CallNext, ToolCall, ToolCallMiddleware

__all__ = ["Alert", "AlertingSettings", "AlertingState", "PLUGIN_NAME", "RESOURCE_URI", "state_of"]

PLUGIN_NAME = "alerting"
RESOURCE_URI = "jiraplug://alerts"
log = logging.getLogger("jiraplug.alerting")

_process = psutil.Process()


class AlertingState:
    """Everything the plugin keeps for one server run."""

    def __init__(self, runtime: Runtime, config: AlertingSettings) -> None:
        # Weak: a runtime that is built but never started (tests, tools) must not be kept alive.
        self._runtime = weakref.ref(runtime)
        self.settings = runtime.settings
        self.config = config
        self.clock = runtime.clock
        self.window = SlidingWindow(config.window_seconds, self.clock.monotonic, config.latency_samples)
        self.monitor = Monitor(build_rules(config), config, self.clock.monotonic, self.clock.time)
        self.sessions = sinks.ClientSessions()
        self.active: dict[str, Alert] = {}
        self.seen: set[str] = set()
        self.history: deque[dict[str, Any]] = deque(maxlen=config.history_size)
        self.instruments = sinks.instruments(runtime.telemetry.meter)
        self.webhook: sinks.Webhook | None = None

    def start(self) -> None:
        """The server starts: report every rule as not firing, open the webhook client (closed by :meth:`aclose`)."""
        self._report_active()
        config = self.config
        if config.webhook_url is not None and self.webhook is None:
            self.webhook = sinks.Webhook(
                config.webhook_url.get_secret_value(),
                token=config.webhook_token.get_secret_value() if config.webhook_token else None,
                timeout=config.webhook_timeout_seconds,
                retries=config.webhook_retries,
                backoff=config.webhook_backoff_seconds,
                sleep=self.clock.sleep,
            )

    async def check(self) -> list[Alert]:
        """Evaluate the thresholds once and hand every change to the ``deliver_alert`` sinks."""
        runtime = self._runtime()
        changes = self.monitor.evaluate(self.window.figures(), int(_process.memory_info().rss),
                                        redis_down_seconds(runtime) if runtime is not None else None)
        for alert in changes if runtime is not None else ():
            await runtime.plugins.call_async("deliver_alert", alert=alert, runtime=runtime)
        return changes

    async def deliver(self, alert: Alert) -> None:
        """This plugin's sinks, each isolated from the others' failures."""
        self.seen.add(alert.name)
        if alert.state == "firing":
            self.active[alert.name] = alert
        else:
            self.active.pop(alert.name, None)
        self.history.append({**alert.as_dict(), "at": self.clock.time()})
        self._report_active()
        if self.config.log:
            self._run_sync("log", sinks.log_alert, alert)
        self._run_sync("otel", sinks.otel_alert, alert, self.instruments)
        if self.config.mcp_notifications:
            try:
                await self.sessions.broadcast(alert)
                # 2026-07-28 clients listening for jiraplug://alerts re-read it.
                runtime = self._runtime()
                if runtime is not None:
                    await runtime.resource_updated(RESOURCE_URI)
                sinks.count_delivery(self.instruments, "mcp", True)
            except Exception as exc:  # noqa: BLE001
                self._failed("mcp", exc)
        if self.webhook is not None:
            try:
                await self.webhook.send(alert)
                sinks.count_delivery(self.instruments, "webhook", True)
            except Exception as exc:  # noqa: BLE001
                self._failed("webhook", exc)

    def _report_active(self) -> None:
        rules = [rule.name for rule in self.monitor.rules]
        self.instruments.set_active(sinks.gauge_values(rules, self.active, self.seen))

    def _run_sync(self, sink: str, fn: Callable[..., None], *args: Any) -> None:
        try:
            fn(*args)
            sinks.count_delivery(self.instruments, sink, True)
        except Exception as exc:  # noqa: BLE001
            self._failed(sink, exc)

    def _failed(self, sink: str, exc: Exception) -> None:
        sinks.count_delivery(self.instruments, sink, False)
        log.error("alert sink %s failed: %s", sink, exc)

    def snapshot(self) -> dict[str, Any]:
        """Active alerts, rule states, the window's figures and the history (``jiraplug://alerts``)."""
        figures = self.window.figures()
        return {
            "active": [alert.as_dict() for alert in self.active.values()],
            "rules": self.monitor.describe(),
            "window": {
                "seconds": self.config.window_seconds,
                "calls": figures.calls,
                "failed_calls": figures.failed_calls,
                "jira_requests": figures.requests,
                "failed_jira_requests": figures.failed_requests,
            },
            "history": list(self.history),
            "sinks": {
                "log": self.config.log,
                "mcp_clients": len(self.sessions) if self.config.mcp_notifications else None,
                "webhook": self.webhook.target if self.webhook else None,
            },
        }

    async def aclose(self) -> None:
        if self.webhook is not None:
            await self.webhook.aclose()
            self.webhook = None


def _config(settings: Settings) -> AlertingSettings:
    try:
        return settings.plugin_config(PLUGIN_NAME)
    except KeyError:  # registered under another name (tests, embedding)
        return AlertingSettings()


def state_of(runtime: Runtime) -> AlertingState:
    """The alerting state of a running server (created by the first hook of the run)."""
    return runtime.plugin_state(__name__, lambda: AlertingState(runtime, _config(runtime.settings)))


# ------------------------------------------------------------------------------ hooks


@hookimpl
def add_hookspecs(host: PluginHost) -> None:
    """Declare ``deliver_alert``, the hook sinks implement (it exists while this plugin is loaded)."""
    host.add_hookspecs(hookspecs)


@hookimpl
def plugin_settings() -> type[AlertingSettings]:
    return AlertingSettings


@hookimpl(tryfirst=True)
def tool_call_middleware(runtime: Runtime) -> ToolCallMiddleware:
    """Near the outside, so the response time is what the client waits for."""
    state = state_of(runtime)

    def wrap(call_next: CallNext) -> CallNext:
        async def watched(call: ToolCall) -> Any:
            # Alerts aggregate every user's calls: on a shared server they go to the operator's
            # sessions, not to its users.
            if state.config.mcp_notifications and call.session is not None and call.operator:
                new_client = state.sessions.seen(call.session)
                modern = sinks.is_modern(getattr(call.session, "protocol_version", None))
                if state.active and (modern or new_client):
                    try:
                        await sinks.tell_request(call.session, call.request_id, state.active.values())
                    except Exception as exc:  # noqa: BLE001 - never fail a tool call over a notification
                        log.debug("could not attach active alerts to a request: %s", exc)
            started = time.perf_counter()
            ok = False
            try:
                result = await call_next(call)
                ok = not is_error_result(result)
                return result
            finally:
                state.window.add_call(time.perf_counter() - started, ok)

        return watched

    return wrap


@hookimpl(trylast=True)
def jira_request_middleware(runtime: Runtime) -> JiraMiddleware:
    """Inside the cache (hits are not Jira requests), outside pool and ratelimit.

    Every attempt counts, retries included: they are read from the transport's record
    (``attempts_of``), not seen one by one from here. A request that reached Jira no
    time, because a plugin inside refused it (breaker open, Retry-After too long, no
    connection slot), counts as one failure.
    """
    state = state_of(runtime)

    def wrap(send: Send) -> Send:
        async def watched(request: httpx2.Request) -> httpx2.Response:
            before = len(attempts_of(request))
            try:
                response = await send(request)
            except Exception:
                if not _record_attempts(state, attempts_of(request)[before:]):
                    state.window.add_request(False)
                raise
            _record_attempts(state, attempts_of(request)[before:])
            return response

        return watched

    return wrap


def _record_attempts(state: AlertingState, attempts: list[Attempt]) -> int:
    for attempt in attempts:
        state.window.add_request(not attempt.failed)
    return len(attempts)


@hookimpl
def startup(runtime: Runtime) -> None:
    state = state_of(runtime)
    state.start()
    runtime.spawn(_monitor, state, name="jiraplug.alerting.monitor")


async def _monitor(state: AlertingState) -> None:
    while True:
        await anyio.sleep(state.config.check_interval_seconds)
        try:
            await state.check()
        except Exception:  # noqa: BLE001 - one failed evaluation must not end monitoring
            log.exception("alert evaluation failed")


@hookimpl
def deliver_alert(alert: Alert, runtime: Runtime) -> Awaitable[None] | None:
    # The state exists from the first hook of a run (jira_request_middleware) to shutdown.
    state = runtime.plugin_state(__name__)
    return state.deliver(alert) if state is not None else None


@hookimpl
def register_resources(registry: ResourceRegistry) -> None:
    def read_alerts(runtime: Runtime) -> dict[str, Any]:
        """Active alerts, each rule's threshold and state, the window's figures, and the history of changes."""
        return state_of(runtime).snapshot()

    registry.add(RESOURCE_URI, read_alerts, name="jiraplug alerts", mime_type="application/json", operator_only=True)


@hookimpl
async def shutdown(runtime: Runtime) -> None:
    state = runtime.plugin_state(__name__)
    if state is not None:
        await state.aclose()
