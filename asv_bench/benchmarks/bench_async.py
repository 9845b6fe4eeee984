"""Async family: 64 tool calls through the in-memory MCP client at concurrency 1, 16 and 64.

Every call reaches the sandbox (the cache plugin is off), which answers after a fixed 5 ms,
standing in for Jira's network time: the figure shows how well calls overlap their I/O on
one event loop. Lower is better; at concurrency 1 the floor is 64 x 5 ms = 320 ms.
"""

from __future__ import annotations

from .common import LiveSession, build_server, check, start_sandbox

CALLS = 64
LATENCY_MS = 5.0


class ConcurrentToolCalls:
    params = [1, 16, 64]
    param_names = ["concurrency"]
    # Each sample already makes 64 calls; a few samples are enough.
    repeat = (2, 5, 20.0)
    number = 1

    def setup(self, concurrency: int) -> None:
        self.sandbox = start_sandbox("cloud", latency_ms=LATENCY_MS)
        try:
            server, _ = build_server(self.sandbox, disable=["cache"])
            self.session = LiveSession(server)
        except BaseException:
            self.sandbox.stop()
            raise
        # Distinct keys: the same 64 issues every sample (issues PLAT-1..PLAT-64 exist in seed 1).
        self.keys = [f"PLAT-{n}" for n in range(1, CALLS + 1)]
        self.session.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})  # connections warm

    def teardown(self, concurrency: int) -> None:
        self.session.close()
        self.sandbox.stop()

    async def _calls(self, concurrency: int) -> None:
        import anyio

        limiter = anyio.Semaphore(concurrency)
        client = self.session.client

        async def one(key: str) -> None:
            async with limiter:
                check(await client.call_tool("jira_get_issue", {"issue_key": key, "comment_limit": 0}))

        async with anyio.create_task_group() as tasks:
            for key in self.keys:
                tasks.start_soon(one, key)

    def time_get_issue_64_calls(self, concurrency: int) -> None:
        self.session.run(self._calls, concurrency)
