"""Two jiraplug replicas sharing one real Redis: the cache stays fresh across them, a read
cached through one is a hit on the other (for the same credential only), the Jira rate budget
is shared, and Redis failing fails no call.

Each replica is its own ``jiraplug serve --transport http`` process; the clients are the MCP
SDK's over HTTP; Jira is the sandbox; Redis is a real ``redis-server`` (tests/redis_server.py).
"""

from __future__ import annotations

import random
from functools import partial
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from jiraplug.sandbox.knobs import Knobs
from jiraplug.sandbox.server import SandboxServer
from tests.redis_server import RedisServer, skip_without_redis
from tests.replicas import caller, keep_reading, replicas, shared_environ, stale_reads, through_an_outage
from tests.test_multiuser import basic

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(flavour="cloud", seed=1, port=0) as server:
        yield server


def jira_requests(sandbox: SandboxServer, method: str | None = None) -> int:
    return sum(1 for record in sandbox.request_log if method is None or record.method == method)


async def test_a_read_on_one_replica_after_a_write_on_the_other_sees_the_write(
        tmp_path: Path, sandbox: SandboxServer, redis_server: RedisServer) -> None:
    """200 interleavings of write-then-read across the two replicas, each read after its write
    returned; both replicas hold the issue cached before each write. 0 stale reads."""
    with replicas(tmp_path, sandbox, **shared_environ(redis_server.url, ratelimit=False)) as bases:
        async with caller(bases[0]) as a, caller(bases[1]) as b:
            stale = await stale_reads([a, b], 200, random.Random(16), "PLAT-1", same_end_share=0.2)
    assert stale == []
    # The cache did serve: most of the reads before a write were hits (fewer GETs than reads).
    assert jira_requests(sandbox, "GET") < 3 * 200


async def test_a_read_cached_through_one_replica_is_a_hit_on_the_other_for_the_same_credential_only(
        tmp_path: Path, sandbox: SandboxServer, redis_server: RedisServer) -> None:
    with replicas(tmp_path, sandbox, **shared_environ(redis_server.url, ratelimit=False)) as (one, two):
        alice, erin = {"x-jira-authorization": basic("alice")}, {"x-jira-authorization": basic("erin")}
        async with caller(one, alice) as alice_a, caller(two, alice) as alice_b, caller(two, erin) as erin_b:
            for tool, args in (("jira_get_issue", {"issue_key": "PLAT-2"}),
                               ("jira_search", {"jql": "project = PLAT ORDER BY key"})):
                error, first = await alice_a.call(tool, **args)
                assert not error
                before = jira_requests(sandbox)
                error, again = await alice_b.call(tool, **args)
                assert not error and again == first
                assert jira_requests(sandbox) == before, f"{tool}: replica B asked Jira again"
                error, _ = await erin_b.call(tool, **args)  # another user: never alice's entry
                assert jira_requests(sandbox) > before, f"{tool}: erin was served alice's cached answer"


async def test_a_tls_redis_with_the_password_from_a_file_is_shared(tmp_path: Path, sandbox: SandboxServer) -> None:
    """``rediss://`` to a Redis that listens on TLS only, its CA in the URL, the password from a
    mounted secret file (issue 16, part 1): the replicas share the cache, nothing falls back."""
    skip_without_redis()
    password = "tls-redis-password"
    with RedisServer(password=password, tls=True) as redis:
        secret = tmp_path / "redis-password"
        secret.write_text(password + "\n")
        url = redis.url.replace(f":{password}@", "")
        env = shared_environ(url, JIRAPLUG_CACHE__REDIS_PASSWORD_FILE=str(secret),
                             JIRAPLUG_RATELIMIT__REDIS_PASSWORD_FILE=str(secret))
        with replicas(tmp_path, sandbox, **env) as (one, two):
            async with caller(one) as a, caller(two) as b:
                error, first = await a.call("jira_get_issue", issue_key="OPS-3", comment_limit=0)
                assert not error
                before = jira_requests(sandbox)
                assert await b.call("jira_get_issue", issue_key="OPS-3", comment_limit=0) == (False, first)
                assert jira_requests(sandbox) == before, "replica B asked Jira for what A had cached over TLS"
    for index in range(2):
        log = (tmp_path / f"replica-{index}" / "server.log").read_text()
        assert "is unavailable" not in log and password not in log, log[-3000:]


async def test_two_replicas_flooded_together_stay_within_the_shared_budget(
        tmp_path: Path, redis_server: RedisServer) -> None:
    """Jira allows 10 requests/s; the replicas share a budget of 8/s (burst 4). Flooded together
    for 6 s, they send at most the budget between them, and Jira hardly ever answers 429."""
    rate, burst = 8, 4
    env = shared_environ(redis_server.url, cache=False, JIRAPLUG_DISABLE_PLUGINS="cache",
                         JIRAPLUG_RATELIMIT__RATE_LIMIT_REQUESTS_PER_SECOND=str(rate),
                         JIRAPLUG_RATELIMIT__BURST=str(burst))
    failures: list[str] = []
    with SandboxServer(flavour="cloud", seed=1, port=0, knobs=Knobs(rate_limit_rps=10)) as sandbox, \
            replicas(tmp_path, sandbox, **env) as bases:
        sandbox.request_log.clear()
        deadline = anyio.current_time() + 6

        async with anyio.create_task_group() as tasks:
            for base in bases:
                for worker in range(6):
                    tasks.start_soon(partial(keep_reading, comment_limit=0), base, deadline, failures,
                                     lambda n, w=worker: f"PLAT-{1 + (w + n) % 5}")
        records = list(sandbox.request_log)
    assert failures == []
    throttled = sum(1 for record in records if record.status == 429)
    assert throttled <= 2, f"Jira answered 429 {throttled} times"
    arrived = sorted(record.arrived for record in records)
    span = arrived[-1] - arrived[0]
    assert len(arrived) > rate * 3, "the flood hardly ran"
    assert len(arrived) <= burst + rate * span + 2, f"{len(arrived)} requests in {span:.1f} s"


async def test_redis_killed_mid_load_and_restarted_fails_no_call_and_shared_mode_resumes(
        tmp_path: Path, sandbox: SandboxServer, redis_server: RedisServer) -> None:
    """Readers on both replicas and a writer on A checked by reads on B run while Redis is killed
    (at 2 s) and started again, empty (at 4.5 s): every call succeeds, no read is stale, each
    replica warns once, and afterwards a read cached through A is a hit on B again."""
    with replicas(tmp_path, sandbox, **shared_environ(redis_server.url)) as bases:
        await through_an_outage(bases, sandbox, redis_server.stop, redis_server.start)
    for index in range(2):
        log = (tmp_path / f"replica-{index}" / "server.log").read_text()
        assert log.count("is unavailable") == 1, log[-3000:]
        assert "answers again" in log
