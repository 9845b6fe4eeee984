"""The running server's state: settings, plugins, the Jira client and background tasks.

A :class:`Runtime` exists between start-up and shutdown (the MCP server's lifespan). It is
what the ``startup``, ``shutdown``, ``jira_request_middleware``, ``tool_call_middleware``
and ``deliver_alert`` hooks receive.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

import anyio
import anyio.abc

from jiraplug import telemetry
from jiraplug.alerts import Alert
from jiraplug.httpclient import HttpClientOptions
from jiraplug.jira.auth import auth_from_settings
from jiraplug.jira.client import JiraClient, detect_deployment
from jiraplug.plugin_host import PluginHost
from jiraplug.settings import Settings
from jiraplug.toolcalls import CallNext, compose_tool_chain

log = logging.getLogger("jiraplug")

SHUTDOWN_HOOK_TIMEOUT_SECONDS = 10.0


class Runtime:
    """Shared state of one server run. Create it with :meth:`running`."""

    def __init__(self, settings: Settings, plugins: PluginHost) -> None:
        self.settings = settings
        self.plugins = plugins
        self.telemetry = telemetry.get_telemetry()
        self.jira: JiraClient = None  # type: ignore[assignment]  # set by running()
        self.tool_chain: CallNext = None  # type: ignore[assignment]
        self._tasks: anyio.abc.TaskGroup | None = None

    def build_jira_client(self) -> JiraClient:
        """A Jira client for the configured site and credential, with every plugin's middleware."""
        jira = self.settings.jira
        if not jira.url:
            from jiraplug.errors import ConfigError

            raise ConfigError("jira.url (JIRA_URL) is not set: point it at your Jira, or run with --sandbox")
        auth = auth_from_settings(jira)
        options = HttpClientOptions.from_settings(jira)
        self.plugins.configure_http_client(options, self.settings)
        http = options.build(base_url=jira.url, wrap_transport=telemetry.instrument_transport)
        return JiraClient(
            http,
            base_url=jira.url,
            deployment=detect_deployment(jira.url, jira.deployment),
            auth=auth,
            middlewares=self.plugins.jira_request_middlewares(self),
            host=self.plugins,
        )

    def spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any, name: str | None = None) -> None:
        """Run ``fn(*args)`` in the background until shutdown (for monitors and the like)."""
        if self._tasks is None:
            raise RuntimeError("Runtime.spawn() is available between startup and shutdown")
        self._tasks.start_soon(fn, *args, name=name)

    async def alert(self, alert: Alert) -> None:
        """Hand an alert change to every ``deliver_alert`` sink."""
        await self.plugins.deliver_alert(alert, self)

    @classmethod
    @asynccontextmanager
    async def running(cls, settings: Settings, plugins: PluginHost) -> AsyncIterator[Runtime]:
        """Build the Jira client and middleware chains, run start-up hooks, and clean up after."""
        runtime = cls(settings, plugins)
        runtime.jira = runtime.build_jira_client()
        runtime.tool_chain = compose_tool_chain(plugins.tool_call_middlewares(runtime), plugins)
        try:
            async with anyio.create_task_group() as tasks:
                runtime._tasks = tasks
                await plugins.startup(runtime)
                try:
                    yield runtime
                finally:
                    with anyio.move_on_after(SHUTDOWN_HOOK_TIMEOUT_SECONDS, shield=True):
                        await plugins.shutdown(runtime)
                    tasks.cancel_scope.cancel()
        finally:
            runtime._tasks = None
            with anyio.CancelScope(shield=True):
                await runtime.jira.aclose()
            runtime.telemetry.force_flush()
