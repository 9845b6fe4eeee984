"""Where alert changes go: the log, OpenTelemetry, connected MCP clients, a webhook.

MCP clients (see docs/plugins/alerting.md, "MCP notifications"): a client that connected
with the 2025 handshake (``initialize``) has a standing channel, so alert changes are
pushed to it as ``notifications/message`` the moment they happen (stdio, in-memory, and
streamable HTTP with a session whose GET stream is open). Protocol 2026-07-28 forbids
unsolicited log messages: there, while alerts are firing, each tool call whose request
opted in to log messages (``_meta`` log level ``warning`` or lower) carries one message
listing them, on that request's own stream.
"""

from __future__ import annotations

import logging
import warnings
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import anyio
import httpx2
from opentelemetry import metrics
from tenacity import AsyncRetrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from jiraplug import __version__
from jiraplug.plugins.alerting.alerts import Alert
from jiraplug.telemetry import get_telemetry, once_per_meter

log = logging.getLogger("jiraplug.alerting")

LOGGER_NAME = "jiraplug.alerting"
ALERTS_COUNTER = "jiraplug.alerting.alerts"
DELIVERIES_COUNTER = "jiraplug.alerting.deliveries"
ACTIVE_GAUGE = "jiraplug.alerting.active"
SPAN_NAME = "jiraplug.alert"
MODERN_PROTOCOL = "2026-07-28"

try:  # the SDK's own list of protocol versions without server-initiated messages
    from mcp_types.version import MODERN_PROTOCOL_VERSIONS as _MODERN
except ImportError:  # pragma: no cover - a future SDK layout
    _MODERN = frozenset({MODERN_PROTOCOL})


def is_modern(protocol_version: str | None) -> bool:
    """Whether ``protocol_version`` is 2026-07-28 or later (request-scoped log delivery only)."""
    return bool(protocol_version) and (protocol_version in _MODERN or str(protocol_version) >= MODERN_PROTOCOL)


def log_level(alert: Alert) -> str:
    """The MCP log level of an alert change: its severity, for firing and resolved alike."""
    return {"info": "info", "warning": "warning", "critical": "critical"}.get(alert.severity, "warning")


def public_target(url: str) -> str:
    """``scheme://host[:port]`` of a webhook URL: never log its path or query (they may hold a token)."""
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}"


# ------------------------------------------------------------------------------ log


def log_alert(alert: Alert) -> None:
    """Log sink: one WARNING line per change (resolutions too, so operators see them)."""
    log.warning("alert %s %s: %s", alert.name, alert.state, alert.message)


# ------------------------------------------------------------------------------ OpenTelemetry


@dataclass(frozen=True)
class Instruments:
    """The alerting metrics of one meter."""

    alerts: metrics.Counter
    deliveries: metrics.Counter
    active: Any  # a synchronous gauge (opentelemetry.metrics._Gauge)

    def set_active(self, values: Mapping[str, int]) -> None:
        """Set ``jiraplug.alerting.active`` for each alert name (see :func:`gauge_values`)."""
        for name, value in values.items():
            self.active.set(value, {"alert": name})


@once_per_meter
def instruments(meter: metrics.Meter) -> Instruments:
    """The alerting metrics of ``meter``, created once per meter."""
    return Instruments(
        alerts=meter.create_counter(
            ALERTS_COUNTER, unit="{change}", description="Alert state changes (attributes alert, state)"
        ),
        deliveries=meter.create_counter(
            DELIVERIES_COUNTER, unit="{delivery}", description="Alert deliveries per sink (attributes sink, outcome)"
        ),
        active=meter.create_gauge(ACTIVE_GAUGE, unit="{alert}", description="1 while an alert is firing, else 0"),
    )


def otel_alert(alert: Alert, instruments: Instruments) -> None:
    """OpenTelemetry sink: a span ``jiraplug.alert`` with one event per change, and the counter."""
    instruments.alerts.add(1, {"alert": alert.name, "state": alert.state})
    attributes: dict[str, Any] = {
        "jiraplug.alert.name": alert.name,
        "jiraplug.alert.state": alert.state,
        "jiraplug.alert.severity": alert.severity,
        "jiraplug.alert.message": alert.message,
        "jiraplug.alert.unit": alert.unit,
    }
    if alert.value is not None:
        attributes["jiraplug.alert.value"] = float(alert.value)
    if alert.threshold is not None:
        attributes["jiraplug.alert.threshold"] = float(alert.threshold)
    with get_telemetry().tracer.start_as_current_span(SPAN_NAME, attributes={"jiraplug.alert.name": alert.name}) as span:
        span.add_event(f"jiraplug.alert.{alert.state}", attributes)


# ------------------------------------------------------------------------------ MCP clients


class ClientSessions:
    """MCP sessions seen in tool calls, kept to push alert changes to.

    Only handshake-era (2025) connections are kept: they have a standing channel. A
    connection is forgotten when it closes (its ``exit_stack``), and at most ``limit``
    are kept (least recently active dropped first).
    """

    def __init__(self, limit: int = 256) -> None:
        self._limit = limit
        self._sessions: OrderedDict[int, Any] = OrderedDict()

    def __len__(self) -> int:
        return len(self._sessions)

    def seen(self, session: Any) -> bool:
        """Remember the session of a tool call; True the first time its client is seen.

        A no-op (False) for None and for 2026-07-28 sessions, which have no standing channel.
        """
        if session is None or is_modern(getattr(session, "protocol_version", None)):
            return False
        # The SDK builds one ServerSession per request; the connection behind it is the client.
        connection = getattr(session, "_connection", None)
        key = id(connection if connection is not None else session)
        if key in self._sessions:
            self._sessions.move_to_end(key)
            self._sessions[key] = session
            return False
        self._sessions[key] = session
        stack = getattr(connection, "exit_stack", None)
        if stack is not None:
            stack.callback(self._sessions.pop, key, None)
        while len(self._sessions) > self._limit:
            self._sessions.popitem(last=False)
        return True

    async def broadcast(self, alert: Alert, timeout: float = 2.0) -> int:
        """Push ``alert`` to every remembered client; returns how many were sent.

        A client that does not take the message within ``timeout`` seconds (a stalled pipe)
        or whose channel is gone is forgotten, so one client cannot hold up the monitor.
        """
        sent = 0
        for key, session in list(self._sessions.items()):
            try:
                with anyio.fail_after(timeout):
                    await send_log(session, log_level(alert), alert.as_dict())
                sent += 1
            except Exception as exc:  # noqa: BLE001 - a gone client must not stop the others
                log.debug("dropping an MCP client after a failed alert notification: %s", exc)
                self._sessions.pop(key, None)
        return sent


async def send_log(session: Any, level: str, data: Any, related_request_id: Any = None) -> None:
    """``notifications/message`` through the SDK (the logging capability is deprecated in 2026-07-28)."""
    from mcp.shared.exceptions import MCPDeprecationWarning

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", MCPDeprecationWarning)
        await session.send_log_message(level, data, logger=LOGGER_NAME, related_request_id=related_request_id)


async def tell_request(session: Any, request_id: Any, active: Iterable[Alert]) -> None:
    """List the firing alerts on this request's stream.

    For 2026-07-28 requests (the SDK drops the message unless the request opted in to log
    messages at ``warning`` or lower) and for a 2025 client's first tool call, so that a
    client connecting while alerts fire learns of them.
    """
    alerts = [alert.as_dict() for alert in active]
    if alerts:
        await send_log(session, "warning", {"active_alerts": alerts}, related_request_id=request_id)


# ------------------------------------------------------------------------------ webhook


class WebhookError(Exception):
    """The webhook refused the alert or could not be reached."""


class _Retryable(WebhookError):
    pass


class _HideWebhookUrl(logging.Filter):
    """httpx2 logs each request's full URL at INFO; a webhook URL may hold a token in its path or query."""

    def __init__(self, url: str, shown: str) -> None:
        super().__init__()
        self._urls = {url, str(httpx2.URL(url))}
        self._shown = shown

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple) and any(str(arg) in self._urls for arg in record.args):
            record.args = tuple(self._shown if str(arg) in self._urls else arg for arg in record.args)
        return True


class Webhook:
    """POSTs each alert change as JSON; retries network errors, 429 and 5xx with backoff."""

    def __init__(
        self,
        url: str,
        *,
        token: str | None,
        timeout: float,
        retries: int,
        backoff: float,
        sleep: Any = None,
    ) -> None:
        self.url = url
        self.target = public_target(url)
        headers = {"user-agent": f"jiraplug/{__version__}"}
        if token:
            headers["authorization"] = f"Bearer {token}"
        self._http = httpx2.AsyncClient(timeout=timeout, headers=headers, follow_redirects=False)
        self._log_filter = _HideWebhookUrl(url, f"{self.target}/<webhook path hidden>")
        logging.getLogger("httpx2").addFilter(self._log_filter)
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self.attempts = 0

    @staticmethod
    def body(alert: Alert) -> dict[str, Any]:
        """The JSON document sent: the alert's fields and where it came from. No secrets."""
        return {"source": "jiraplug", "version": __version__, "alert": alert.as_dict()}

    async def send(self, alert: Alert) -> None:
        """Deliver one alert change; raises :class:`WebhookError` when every attempt failed."""
        options: dict[str, Any] = {
            "stop": stop_after_attempt(self._retries + 1),
            "wait": wait_exponential_jitter(multiplier=self._backoff, max=30, jitter=self._backoff),
            "retry": retry_if_exception_type(_Retryable),
            "reraise": True,
        }
        if self._sleep is not None:
            options["sleep"] = self._sleep
        async for attempt in AsyncRetrying(**options):
            with attempt:
                await self._post(alert)

    async def _post(self, alert: Alert) -> None:
        self.attempts += 1
        try:
            response = await self._http.post(self.url, json=self.body(alert))
        except httpx2.TransportError as exc:
            raise _Retryable(f"{self.target} unreachable: {type(exc).__name__}") from None
        if response.status_code == 429 or response.status_code >= 500:
            raise _Retryable(f"{self.target} answered HTTP {response.status_code}")
        if response.status_code >= 400:
            raise WebhookError(f"{self.target} refused the alert: HTTP {response.status_code}")

    async def aclose(self) -> None:
        logging.getLogger("httpx2").removeFilter(self._log_filter)
        await self._http.aclose()


def count_delivery(instruments: Instruments, sink: str, ok: bool) -> None:
    instruments.deliveries.add(1, {"sink": sink, "outcome": "ok" if ok else "failed"})


def gauge_values(rules: Iterable[str], active: Mapping[str, Alert], seen: Iterable[str]) -> dict[str, int]:
    """``jiraplug.alerting.active`` per alert name: 1 firing, 0 known but not firing."""
    values = {name: 0 for name in rules}
    values.update({name: 0 for name in seen})
    values.update({name: 1 for name in active})
    return values
