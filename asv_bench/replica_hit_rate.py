#!/usr/bin/env python
"""Cache hit rate of two replicas sharing Redis against one, on the same skewed workload.

    python asv_bench/replica_hit_rate.py              # 600 calls; needs redis-server
    python asv_bench/replica_hit_rate.py --calls 2000

Starts the emulator (``jiraplug sandbox``), a ``redis-server`` on loopback and ``jiraplug serve
--transport http`` with the cache in Redis. The same sequence of ``jira_get_issue`` calls (issue
keys Zipf-distributed over PLAT-1..PLAT-100, seed 1) goes to one server, then, against a fresh
Redis and fresh servers, alternately to two (a round-robin load balancer), and for contrast to
two with the in-process cache (each replica its own). The hit rate is the
servers' cache hits over their cache reads (``jiraplug://cache``, summed over the replicas).
Issue 16's goal: two replicas within 5 points of one.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import random
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from loadkit import stack  # noqa: E402
from peerbench import procs  # noqa: E402

OPERATOR_TOKEN = "replica-hit-rate-operator-token-0123456789"  # to read jiraplug://cache


@contextlib.asynccontextmanager
async def session(url: str, auth: str) -> Any:
    """An MCP session as the caller ``auth`` that may also read the operator's resources."""
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    headers = {"X-Jira-Authorization": auth, "X-Jiraplug-Operator": OPERATOR_TOKEN}
    async with httpx2.AsyncClient(headers=headers, timeout=60, trust_env=False) as http:
        async with Client(streamable_http_client(url, http_client=http), cache=None) as client:
            yield client


def zipf_keys(calls: int, issues: int = 100, exponent: float = 1.1, seed: int = 1) -> list[str]:
    """``calls`` issue keys, the k-th issue asked in proportion to 1 / k**exponent."""
    weights = [1 / rank ** exponent for rank in range(1, issues + 1)]
    return [f"PLAT-{n}" for n in random.Random(seed).choices(range(1, issues + 1), weights, k=calls)]


async def drive(urls: list[str], auth: str, keys: list[str]) -> dict[str, Any]:
    """The calls, in turn over ``urls``; the cache figures summed over the servers."""
    async with contextlib.AsyncExitStack() as stack_:
        clients = [await stack_.enter_async_context(session(url, auth)) for url in urls]
        for index, key in enumerate(keys):
            result = await clients[index % len(clients)].call_tool("jira_get_issue", {"issue_key": key})
            if result.is_error:
                raise RuntimeError(f"jira_get_issue {key} failed: {result.content[0].text}")
        hits = reads = 0
        for client in clients:
            figures = json.loads((await client.read_resource("jiraplug://cache")).contents[0].text)
            hits, reads = hits + figures["hits"], reads + figures["reads"]
    return {"replicas": len(urls), "calls": len(keys), "cache_reads": reads, "hits": hits,
            "hit_rate_percent": round(100 * hits / reads, 1) if reads else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--calls", type=int, default=600)
    args = parser.parse_args(argv)

    import anyio

    from jiraplug.sandbox.data import generate
    from loadkit import mix
    from tests.redis_server import RedisServer

    actor = mix.actors_for(generate(1).users, ["PLAT-1"], "cloud")[0]
    keys = zipf_keys(args.calls)
    work = HERE.parent / ".tools" / "hitrate" / time.strftime("%Y%m%d-%H%M%S")
    rows = []
    with procs.ProcessGroup() as group:
        sandbox = stack.start_sandbox(group, work, seed=1)
        for replicas, backend in ((1, "redis"), (2, "redis"), (2, "memory")):
            with RedisServer() as redis:
                settings = {"JIRAPLUG_CACHE__BACKEND": backend, "JIRAPLUG_OPERATOR_TOKEN": OPERATOR_TOKEN}
                if backend == "redis":
                    settings["JIRAPLUG_CACHE__REDIS_URL"] = redis.url
                servers = []
                for index in range(replicas):
                    folder = work / f"{replicas}-{backend}-{index}"
                    folder.mkdir(parents=True, exist_ok=True)
                    servers.append(stack.start_server(group, folder, stack.server_env(folder, sandbox.url, settings)))
                rows.append({"backend": backend,
                             **anyio.run(drive, [s.mcp_url for s in servers], actor.authorization, keys)})
                print(f"replica_hit_rate: {rows[-1]}", file=sys.stderr, flush=True)
                for server in servers:
                    group.stop(server.process)
    print(f"{'replicas':>8} {'backend':>8} {'calls':>6} {'cache reads':>12} {'hits':>6} {'hit rate':>9}")
    for row in rows:
        print(f"{row['replicas']:>8} {row['backend']:>8} {row['calls']:>6} {row['cache_reads']:>12} {row['hits']:>6} "
              f"{row['hit_rate_percent']:>8}%")
    gap = rows[1]["hit_rate_percent"] - rows[0]["hit_rate_percent"]
    print(f"two replicas sharing Redis against one: {gap:+.1f} points (goal: within 5)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
