"""Helpers shared by the benchmark modules (no benchmarks here).

asv imports every module of this package to discover benchmarks, so the heavy imports
(MCP SDK, uvicorn) happen inside the helpers, not at module level. asv has no async
runner: :class:`LiveSession` keeps an event loop and an MCP client session alive in a
background thread (an anyio blocking portal), so a timed call measures tool calls, not the
start-up of a server per sample.
"""

from __future__ import annotations

import importlib
import socket
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any, TypeVar

T = TypeVar("T")

# The built-in performance plugins (toolsets are plugins too, but every benchmark needs them).
PERFORMANCE_PLUGINS = ("cache", "pool", "ratelimit", "profiling", "alerting")


def skip(reason: str) -> NotImplementedError:
    """An exception that makes asv mark the benchmark as skipped when raised from ``setup``."""
    return NotImplementedError(reason)


def start_sandbox(flavour: str = "cloud", *, latency_ms: float = 0.0, seed: int = 1) -> Any:
    """Start the embedded Jira emulator on a free loopback port (stop it with ``.stop()``)."""
    from jiraplug.sandbox import Knobs, SandboxServer

    return SandboxServer(flavour=flavour, seed=seed, port=0, knobs=Knobs(latency_ms=latency_ms)).start()


def sandbox_samples() -> dict[str, bytes]:
    """Real sandbox answers for the client benchmarks: one issue with every field (~9 KB) and
    a JQL search page of 50 issues with every field; plus the base URL they came from."""
    import httpx2

    sandbox = start_sandbox("cloud")
    try:
        user = sandbox.default_user
        auth = (user.email, user.api_token)
        issue = httpx2.get(f"{sandbox.url}/rest/api/3/issue/PLAT-1", params={"fields": "*all"}, auth=auth)
        search = httpx2.post(
            f"{sandbox.url}/rest/api/3/search/jql",
            json={"jql": "project = PLAT ORDER BY key", "maxResults": 50, "fields": ["*all"]},
            auth=auth,
        )
        issue.raise_for_status()
        search.raise_for_status()
        return {"issue": issue.content, "search": search.content, "base_url": sandbox.url.encode()}
    finally:
        sandbox.stop()


def sandbox_environ(sandbox: Any, *, disable: Iterable[str] = ()) -> dict[str, str]:
    """Environment that points jiraplug at ``sandbox`` as its default user."""
    user = sandbox.default_user
    environ = {"JIRA_URL": sandbox.url, "JIRA_DEPLOYMENT": sandbox.flavour}
    if sandbox.flavour == "cloud":
        environ.update(JIRA_USERNAME=user.email, JIRA_API_TOKEN=user.api_token)
    else:
        environ.update(JIRA_PERSONAL_TOKEN=user.personal_token)
    disabled = ",".join(disable)
    if disabled:
        environ["JIRAPLUG_DISABLE_PLUGINS"] = disabled
    return environ


def build_server(sandbox: Any, *, disable: Iterable[str] = (), extra_plugins: dict[str, object] | None = None) -> Any:
    """An ``MCPServer`` for ``sandbox`` with the given built-in plugins switched off."""
    from jiraplug.bootstrap import bootstrap
    from jiraplug.server.build import build_server as build

    app = bootstrap(environ=sandbox_environ(sandbox, disable=disable), extra_plugins=extra_plugins)
    return build(app.settings, app.plugins), app


def plugin_implements(name: str, *hooks: str) -> bool:
    """Whether built-in plugin ``name`` exists and implements every hook in ``hooks``.

    Plugins land one by one; a benchmark that needs one skips cleanly until it exists.
    """
    from jiraplug.plugin_host import PluginHost

    host = PluginHost()
    host.discover(lambda plugin: plugin == name)
    try:
        info = host.info(name)
    except KeyError:
        return False
    return info.loaded and not info.errors and set(hooks) <= set(info.hooks)


def optional_module(name: str) -> Any:
    """Import ``name`` or raise the asv skip exception (for modules still being written)."""
    try:
        return importlib.import_module(name)
    except ImportError as exc:
        raise skip(f"{name} is not available: {exc}") from None


def optional_attr(module: str, attr: str) -> Any:
    """``module.attr``, or the asv skip exception when either is missing."""
    value = getattr(optional_module(module), attr, None)
    if value is None:
        raise skip(f"{module}.{attr} does not exist yet")
    return value


def free_loopback_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class LiveSession:
    """An MCP client session that stays open between timed calls.

    ``target`` is an ``MCPServer`` (in-memory client) or a URL (streamable HTTP). The
    session lives in an anyio blocking portal (a thread running an event loop); ``run``
    executes a coroutine function there and returns its result.
    """

    def __init__(self, target: Any, *, portal: Any = None) -> None:
        from anyio.from_thread import start_blocking_portal
        from mcp import Client

        self._own_portal = portal is None
        self._portal_cm = start_blocking_portal("asyncio") if portal is None else None
        self.portal = self._portal_cm.__enter__() if self._portal_cm is not None else portal
        self._client_cm = self.portal.wrap_async_context_manager(Client(target, cache=None))
        try:
            self.client = self._client_cm.__enter__()
        except BaseException:
            self._close_portal()
            raise

    def run(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run ``await fn(*args)`` on the session's event loop."""
        return self.portal.call(fn, *args)

    def call_tool(self, name: str, arguments: dict[str, Any]) -> Any:
        """One tool call; raises ``RuntimeError`` with the tool's message if it failed."""
        result = self.run(self.client.call_tool, name, arguments)
        check(result)
        return result

    def close(self) -> None:
        """Close the client session, then the portal."""
        try:
            self._client_cm.__exit__(None, None, None)
        finally:
            self._close_portal()

    def _close_portal(self) -> None:
        if self._portal_cm is not None:
            self._portal_cm.__exit__(None, None, None)
            self._portal_cm = None


def check(result: Any) -> Any:
    """Raise if a tool result is an error, so a broken path cannot pass as a fast one."""
    if result.is_error:
        raise RuntimeError(f"tool call failed: {result.content[0].text if result.content else result}")
    return result


class HttpServer:
    """jiraplug's streamable-HTTP app (``/mcp``) served by uvicorn inside a blocking portal."""

    def __init__(self, mcp_server: Any, app: Any) -> None:
        import uvicorn
        from anyio.from_thread import start_blocking_portal

        from jiraplug.server.http_app import build_http_app

        # uvicorn binds the port itself: handed a pre-bound socket instead, each response
        # here took ~45 ms more (measured; the delayed-ACK signature), masking the server.
        port = free_loopback_port()
        settings = app.settings.server
        settings.port = port
        asgi = build_http_app(mcp_server, settings)
        config = uvicorn.Config(asgi, host="127.0.0.1", port=port, log_level="warning", access_log=False,
                                lifespan="on", server_header=False)
        self._uvicorn = uvicorn.Server(config)
        self._portal_cm = start_blocking_portal("asyncio")
        self.portal = self._portal_cm.__enter__()
        self._serving = self.portal.start_task_soon(self._uvicorn.serve)
        deadline = time.monotonic() + 20
        while not self._uvicorn.started:
            if self._serving.done() or time.monotonic() > deadline:
                self.close()
                raise RuntimeError("jiraplug HTTP server did not start")
            time.sleep(0.01)
        self.url = f"http://127.0.0.1:{port}/mcp"

    def close(self) -> None:
        """Stop uvicorn (graceful, bounded) and the portal."""
        self._uvicorn.should_exit = True
        try:
            self._serving.result(timeout=15)
        except Exception:  # noqa: BLE001 - shutting down; nothing to report to asv
            pass
        self._portal_cm.__exit__(None, None, None)
