"""Replicas sharing their state through a Redis Cluster (``redis_cluster = true``), against a real
three-node cluster made by ``redis-cli --cluster create`` (tests/redis_server.py).

The plugins' Lua scripts touch several keys at once, which a cluster allows only within one
hash slot: with ``redis_cluster`` every key carries the prefix as a hash tag. The tests check
that the cache stays fresh and shared across two replicas, that the rate limiter's state lands
there too, that every key sits in one slot per prefix, and that the settings and errors say
what is wrong when the URL and the setting disagree.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from pathlib import Path

import pytest

from jiraplug.errors import ConfigError
from jiraplug.plugins.cache.settings import CacheSettings
from jiraplug.plugins.ratelimit.settings import RateLimitSettings
from jiraplug.plugins.ratelimit.shared import SharedLimits
from jiraplug.redis_link import RedisLink
from jiraplug.sandbox.server import SandboxServer
from tests.redis_server import RedisCluster
from tests.replicas import caller, replicas, shared_environ, stale_reads, through_an_outage

pytestmark = pytest.mark.anyio
CLUSTER = {"JIRAPLUG_CACHE__REDIS_CLUSTER": "true", "JIRAPLUG_RATELIMIT__REDIS_CLUSTER": "true"}


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(flavour="cloud", seed=1, port=0) as server:
        yield server


def cluster_keys(cluster: RedisCluster) -> list[str]:
    """Every key on every node of ``cluster``."""
    import redis

    client = redis.RedisCluster.from_url(cluster.url, decode_responses=True)
    try:
        return sorted(client.keys(target_nodes=redis.RedisCluster.ALL_NODES))
    finally:
        client.close()


def keyslot(key: str) -> int:
    from redis.crc import key_slot

    return int(key_slot(key.encode()))


async def test_two_replicas_share_a_fresh_cache_and_one_budget_through_a_redis_cluster(
        tmp_path: Path, sandbox: SandboxServer, redis_cluster: RedisCluster) -> None:
    with replicas(tmp_path, sandbox, **shared_environ(redis_cluster.url, **CLUSTER)) as (one, two):
        async with caller(one) as a, caller(two) as b:
            stale = await stale_reads([a, b], 40, random.Random(17), "PLAT-3")  # write on one, read on the other
            error, first = await a.call("jira_search", jql="project = MOB ORDER BY key")
            assert not error
            before = len(sandbox.request_log)
            error, again = await b.call("jira_search", jql="project = MOB ORDER BY key")
            assert not error and again == first
            assert len(sandbox.request_log) == before, "replica B asked Jira for what A had cached"
    assert stale == []
    keys = cluster_keys(redis_cluster)
    assert any(k.startswith("{jiraplug:}c:") for k in keys), keys  # cached answers
    assert any(k.startswith("{jiraplug:}rl:") for k in keys), keys  # the shared budget
    assert all(k.startswith("{jiraplug:}") for k in keys), keys
    assert {keyslot(k) for k in keys} == {keyslot("{jiraplug:}")}


async def test_the_node_holding_the_keys_killed_mid_load_and_restarted_fails_no_call(
        tmp_path: Path, sandbox: SandboxServer, redis_cluster: RedisCluster) -> None:
    """The cluster loses the node that serves jiraplug's slot (so the whole cluster refuses
    commands until it is back): calls still succeed, none is stale, shared mode resumes."""
    import redis

    client = redis.RedisCluster.from_url(redis_cluster.url)
    try:
        port = int(client.get_node_from_key("{jiraplug:}").port)
    finally:
        client.close()
    node = next(n for n in redis_cluster.nodes if n.port == port)
    with replicas(tmp_path, sandbox, **shared_environ(redis_cluster.url, **CLUSTER)) as bases:
        await through_an_outage(bases, sandbox, node.stop, node.start)
    for index in range(2):
        log = (tmp_path / f"replica-{index}" / "server.log").read_text()
        assert log.count("is unavailable") == 1, log[-3000:]
        assert "answers again" in log


def test_on_a_cluster_the_prefix_becomes_a_hash_tag_unless_it_has_one() -> None:
    def prefix(**values: object) -> str:
        return CacheSettings(redis_url="redis://127.0.0.1:7000/0", **values).key_prefix  # type: ignore[arg-type]

    assert prefix() == "jiraplug:"  # a single Redis: keys as before
    assert prefix(redis_cluster=True) == "{jiraplug:}"
    assert prefix(redis_cluster=True, redis_prefix="team-a:") == "{team-a:}"
    assert prefix(redis_cluster=True, redis_prefix="{team-a}:") == "{team-a}:"
    assert prefix(redis_cluster=True, redis_prefix="{}x:") == "{{}x:}"  # an empty tag is no tag


def test_a_cluster_url_must_name_a_node_and_database_0() -> None:
    from jiraplug.bootstrap import bootstrap

    for url, expected in (("unix:///run/redis.sock", "not unix://"), ("redis://127.0.0.1:7000/2", "needs database 0")):
        with pytest.raises(ConfigError) as caught:
            bootstrap(environ={"JIRA_URL": "https://x.atlassian.net", "JIRAPLUG_CACHE__BACKEND": "redis",
                               "JIRAPLUG_CACHE__REDIS_URL": url, "JIRAPLUG_CACHE__REDIS_CLUSTER": "true"})
        assert expected in str(caught.value)


async def test_a_cluster_node_used_as_a_single_redis_says_which_setting_is_missing(
        redis_cluster: RedisCluster) -> None:
    """The rate limiter's real script against a cluster node, with and without ``redis_cluster``:
    without it the node refuses the untagged keys (CROSSSLOT), and the error says what to set."""
    def shared(cluster: bool) -> SharedLimits:
        settings = RateLimitSettings(backend="redis", redis_url=redis_cluster.url,  # type: ignore[arg-type]
                                     redis_cluster=cluster)
        return SharedLimits(RedisLink(redis_cluster.url, timeout=2, cluster=cluster), settings, settings.key_prefix)

    plain, clustered = shared(False), shared(True)
    try:
        assert await plain.turn("alice") is None  # the local fallback
        assert "set redis_cluster = true" in plain.link.snapshot()["last_error"]
        assert await clustered.turn("alice") is not None
        assert clustered.link.available and clustered.link.failures == 0
    finally:
        await plain.link.aclose()
        await clustered.link.aclose()
