"""The running server's state: settings, plugins, the Jira client and background tasks.

A :class:`Runtime` exists between start-up and shutdown (the MCP server's lifespan). It is
what the ``startup``, ``shutdown``, ``jira_request_middleware`` and ``tool_call_middleware``
hooks receive, and what a resource reader is given when a client reads its resource. There is
no global way to find one: whoever needs a runtime is handed it.
"""

from __future__ import annotations

import functools
import logging
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar, overload

import anyio
import anyio.abc
from mcp.server.subscriptions import SubscriptionBus
from mcp.shared.subscriptions import ResourceUpdated

from jiraplug import telemetry
from jiraplug.clock import SYSTEM_CLOCK, Clock
from jiraplug.jira.http_options import HttpClientOptions
from jiraplug.jira.offload import OffloadLimits
from jiraplug.server.callers import RequestCredentials, normalise_site
from jiraplug.errors import ConfigError
from jiraplug.jira.auth import JiraAuth, auth_from_settings
from jiraplug.jira.client import JiraClient, detect_deployment
from jiraplug.plugin_host import PluginHost
from jiraplug.server.projects_filter import MIDDLEWARE_NAME, request_guard
from jiraplug.settings import Settings
from jiraplug.server.toolcalls import CallNext, compose_tool_chain

log = logging.getLogger("jiraplug")

SHUTDOWN_HOOK_TIMEOUT_SECONDS = 10.0
PER_USER_CLIENTS = 512  # per-request credentials remembered (LRU); each is a light view of a site client
# Stands in when a shared server has no credential of its own; calls must bring theirs.
NO_CREDENTIAL = JiraAuth("bearer", "", None)

T = TypeVar("T")

def per_request_only(settings: Settings) -> bool:
    """Whether the server may start without a configured credential (HTTP: callers bring their own)."""
    return settings.server.transport == "http"


class Runtime:
    """Shared state of one server run. Create it with :meth:`running`."""

    def __init__(self, settings: Settings, plugins: PluginHost, clock: Clock = SYSTEM_CLOCK) -> None:
        self.settings = settings
        self.plugins = plugins
        self.clock = clock
        """What plugins measure time with (see :mod:`jiraplug.clock`); tests inject another."""
        self.telemetry = telemetry.get_telemetry()
        self.jira: JiraClient = None  # type: ignore[assignment]  # set by running()
        # Whether the configured credential may serve calls (see jiraplug.server.callers).
        self.has_configured_credentials = True
        self.tool_chain: CallNext = None  # type: ignore[assignment]
        self._tasks: anyio.abc.TaskGroup | None = None
        self._per_user: OrderedDict[tuple[str, str], JiraClient] = OrderedDict()
        self._sites: dict[str, JiraClient] = {}
        self._plugin_state: dict[str, Any] = {}
        self._events: SubscriptionBus | None = None

    @overload
    def plugin_state(self, key: str) -> Any | None: ...
    @overload
    def plugin_state(self, key: str, factory: Callable[[], T]) -> T: ...

    def plugin_state(self, key: str, factory: Callable[[], Any] | None = None) -> Any:
        """The state a plugin keeps for this run, made by ``factory`` on first use.

        Without ``factory``: the state if it was made, else ``None``. The state lives exactly
        as long as this runtime, so a plugin needs no registry of its own. Key it by the
        plugin module's ``__name__`` so that two plugins never share one.
        """
        state = self._plugin_state.get(key)
        if state is None and factory is not None:
            state = self._plugin_state[key] = factory()
        return state

    def build_jira_client(self, site: str | None = None) -> JiraClient:
        """A Jira client for ``site`` (default: the configured one) with every plugin's middleware.

        Without a configured credential, a shared HTTP server still starts: its calls must
        then carry their own (``X-Jira-Authorization``).
        """
        jira = self.settings.jira
        url = site or jira.required_url()
        try:
            auth = auth_from_settings(jira)
        except ConfigError:
            if not per_request_only(self.settings):
                raise
            auth, self.has_configured_credentials = NO_CREDENTIAL, False
        options = HttpClientOptions.from_settings(jira)
        self.plugins.configure_http_client(options, self.settings)
        http = options.build(base_url=url, wrap_transport=functools.partial(
            telemetry.instrument_transport, with_query=self.settings.server.trace_query_strings))
        return JiraClient(
            http,
            base_url=url,
            deployment=detect_deployment(url, jira.deployment),
            auth=auth,
            # The projects filter is outermost and no plugin's: it sees every write before anything else.
            middlewares=[(MIDDLEWARE_NAME, request_guard(self)), *self.plugins.jira_request_middlewares(self)],
            on_plugin_error=self.plugins.report_error,
            text_limits=OffloadLimits.from_settings(self.settings.tools),
        )

    def jira_for(self, credentials: RequestCredentials) -> JiraClient:
        """The client acting as a request's own user (connections and middleware are shared)."""
        key = (credentials.site, credentials.auth.fingerprint)
        client = self._per_user.get(key)
        if client is None:
            site = self.jira if credentials.site == normalise_site(self.jira.base_url) else self._site(credentials.site)
            client = site.with_auth(credentials.auth)
            self._per_user[key] = client
            if len(self._per_user) > PER_USER_CLIENTS:
                self._per_user.popitem(last=False)
        else:
            self._per_user.move_to_end(key)
        return client

    def _site(self, site: str) -> JiraClient:
        if site not in self._sites:
            self._sites[site] = self.build_jira_client(site)
        return self._sites[site]

    def spawn(self, fn: Callable[..., Awaitable[Any]], *args: Any, name: str | None = None) -> None:
        """Run ``fn(*args)`` in the background until shutdown (for monitors and the like)."""
        if self._tasks is None:
            raise RuntimeError("Runtime.spawn() is available between startup and shutdown")
        self._tasks.start_soon(fn, *args, name=name)

    async def resource_updated(self, uri: str) -> None:
        """Tell 2026-07-28 clients listening for ``uri`` (``subscriptions/listen``) that it changed."""
        if self._events is not None:
            await self._events.publish(ResourceUpdated(uri=uri))

    @classmethod
    @asynccontextmanager
    async def running(
        cls, settings: Settings, plugins: PluginHost, *, events: SubscriptionBus | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> AsyncIterator[Runtime]:
        """Build the Jira client and middleware chains, run start-up hooks, and clean up after.

        ``events`` is the MCP server's subscription bus, for :meth:`resource_updated`;
        ``clock`` becomes :attr:`clock`.
        """
        runtime = cls(settings, plugins, clock)
        runtime._events = events
        runtime.jira = runtime.build_jira_client()
        runtime.tool_chain = compose_tool_chain(plugins.tool_call_middlewares(runtime), plugins.report_error)
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
                for client in (runtime.jira, *runtime._sites.values()):
                    await client.aclose()
            runtime.telemetry.force_flush()
