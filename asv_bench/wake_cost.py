#!/usr/bin/env python
"""What waiting for Jira costs: the same tool calls with and without a pause after each Jira read.

    python asv_bench/wake_cost.py                 # 3 rounds of 30 calls per case, Jira answering in 50 ms
    python asv_bench/wake_cost.py --rounds 5 --calls 60 --latency-ms 0

One process holds two jiraplug servers (every plugin on; the cache off) and an in-memory MCP
client (``mcp.Client``, ``cache=None``); the Jira emulator runs in its own process, so the CPU
measured (``time.process_time``, minimum over rounds) is the server's and the client's, not
Jira's. Cases, interleaved round by round: a cached call; the same cached call with a 50 ms
pause after each Jira read (the call's second half then runs after the process has idled, as
an uncached call's does); an uncached call. The difference between the first two is the cost
of waking up cold on this machine, which an uncached call pays on top of its Jira requests.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from loadkit import stack  # noqa: E402
from peerbench import procs  # noqa: E402

CASES = {  # name -> (tool, arguments)
    "get_issue": ("jira_get_issue", {"issue_key": "PLAT-1"}),
    "search": ("jira_search", {"jql": "project = PLAT ORDER BY key", "limit": 10}),
}


def build(url: str, user: Any, disable: list[str]) -> Any:
    """A jiraplug ``MCPServer`` on the emulator at ``url`` (no rate limit: the loop is faster than 100/s)."""
    from jiraplug.bootstrap import bootstrap
    from jiraplug.server.build import build_server

    environ = {"JIRA_URL": url, "JIRA_DEPLOYMENT": "cloud", "JIRA_USERNAME": user.email,
               "JIRA_API_TOKEN": user.api_token, "JIRAPLUG_RATELIMIT__RATE_LIMIT_REQUESTS_PER_SECOND": "0",
               "JIRAPLUG_DISABLE_PLUGINS": ",".join(disable)}
    app = bootstrap(environ=environ)
    return build_server(app.settings, app.plugins)


async def run(url: str, user: Any, rounds: int, calls: int, pause: float) -> dict[str, list[float]]:
    import anyio
    from mcp import Client

    from jiraplug.jira.client import JiraClient

    paused = [0.0]
    read = JiraClient.request

    async def request(self: JiraClient, *args: Any, **kwargs: Any) -> Any:
        answer = await read(self, *args, **kwargs)
        if paused[0]:
            await anyio.sleep(paused[0])
        return answer

    JiraClient.request = request  # type: ignore[method-assign]
    results: dict[str, list[float]] = {}
    async with Client(build(url, user, []), cache=None) as cached, \
            Client(build(url, user, ["cache"]), cache=None) as uncached:
        variants = [("cached", cached, 0.0), (f"cached, {pause * 1000:g} ms pause after each Jira read", cached, pause),
                    ("uncached", uncached, 0.0)]
        for tool, arguments in CASES.values():
            for _, client, _ in variants:
                for _ in range(5):  # warm up: imports, the field list, connections
                    await client.call_tool(tool, arguments)
        for _ in range(rounds):
            for case, (tool, arguments) in CASES.items():
                for variant, client, wait in variants:
                    paused[0] = wait
                    started = time.process_time()
                    for _ in range(calls):
                        result = await client.call_tool(tool, arguments)
                        if result.is_error:
                            raise RuntimeError(f"{tool} failed: {result.content[0].text}")
                    used = (time.process_time() - started) / calls * 1000
                    results.setdefault(f"{case} {variant}", []).append(used)
        paused[0] = 0.0
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="wake_cost.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--calls", type=int, default=30, help="calls per case and round")
    parser.add_argument("--latency-ms", type=float, default=50.0, help="latency the emulator adds to each answer")
    parser.add_argument("--pause-ms", type=float, default=50.0, help="pause after each Jira read in the paused case")
    args = parser.parse_args(argv)

    import anyio

    from jiraplug.sandbox.data import generate

    user = generate(1).users[0]
    work = HERE.parent / ".tools" / "wake" / time.strftime("%Y%m%d-%H%M%S")
    work.mkdir(parents=True, exist_ok=True)
    with procs.ProcessGroup() as group:
        sandbox = stack.start_sandbox(group, work, seed=1, latency_ms=args.latency_ms)
        try:
            import uvloop  # noqa: F401  (the server's loop when installed, see [server] event_loop)
            options: dict[str, Any] = {"use_uvloop": True}
        except ImportError:
            options = {}
        results = anyio.run(run, sandbox.url, user, args.rounds, args.calls, args.pause_ms / 1000,
                            backend_options=options)
    print(f"{'case':<58} {'CPU ms/call (min)':>18} {'median':>8}")
    for name, values in results.items():
        print(f"{name:<58} {min(values):>18.3f} {statistics.median(values):>8.3f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
