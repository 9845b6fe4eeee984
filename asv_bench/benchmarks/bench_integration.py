"""Integration family: one ``jira_get_issue`` call end to end, MCP client to sandbox and back.

Two transports (the SDK's in-memory client, and streamable HTTP over loopback through
uvicorn, JSON-RPC framing included) times two cache states: ``uncached`` (cache plugin
off: every call is a Jira round trip) and ``cached`` (cache plugin on and warm: the call
is answered without Jira; checked in ``setup``, so a cache that stops hitting fails the
benchmark instead of reporting uncached timings as cached ones).
"""

from __future__ import annotations

from .common import HttpServer, LiveSession, build_server, plugin_implements, skip, start_sandbox

ARGS = {"issue_key": "PLAT-1"}


class ToolCallEndToEnd:
    params = (["memory", "http"], ["uncached", "cached"])
    param_names = ["transport", "cache"]
    sandbox = http = session = None  # teardown runs even when setup skips

    def setup(self, transport: str, cache: str) -> None:
        if cache == "cached" and not plugin_implements("cache", "jira_request_middleware"):
            raise skip("the cache plugin is not available yet")
        self.sandbox = start_sandbox("cloud")
        try:
            server, app = build_server(self.sandbox, disable=["cache"] if cache == "uncached" else [])
            if transport == "http":
                self.http = HttpServer(server, app)
                self.session = LiveSession(self.http.url)
            else:
                self.session = LiveSession(server)
            self.session.call_tool("jira_get_issue", ARGS)
            before = len(self.sandbox.request_log)
            self.session.call_tool("jira_get_issue", ARGS)
            reached = len(self.sandbox.request_log) - before
            if (cache == "cached") != (reached == 0):
                raise RuntimeError(f"{cache} benchmark: a repeated call made {reached} Jira request(s)")
        except BaseException:
            self.teardown(transport, cache)
            raise

    def teardown(self, transport: str, cache: str) -> None:
        if self.session is not None:
            self.session.close()
        if self.http is not None:
            self.http.close()
        if self.sandbox is not None:
            self.sandbox.stop()

    def time_get_issue(self, transport: str, cache: str) -> None:
        self.session.call_tool("jira_get_issue", ARGS)
