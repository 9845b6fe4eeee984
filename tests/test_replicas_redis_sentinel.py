"""Replicas sharing their state through a primary that Redis Sentinel watches (``redis+sentinel://``),
against a real primary, replica and sentinel (tests/redis_server.py): the shared cache and budget
work through the primary the sentinel names, and when that primary dies the sentinel's failover
fails no call and shared mode resumes on the promoted replica.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from jiraplug.errors import ConfigError
from jiraplug.redis_link import RedisLink, RedisUnavailable
from jiraplug.redis_url import display_url
from jiraplug.sandbox.server import SandboxServer
from tests.redis_server import RedisSentinelSet, skip_without_redis
from tests.replicas import caller, replicas, shared_environ, through_an_outage

pytestmark = pytest.mark.anyio


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    with SandboxServer(flavour="cloud", seed=1, port=0) as server:
        yield server


async def test_the_primary_killed_under_load_fails_over_with_no_failed_call(
        tmp_path: Path, sandbox: SandboxServer) -> None:
    """Two loaded replicas through password-protected sentinels and primary; the primary killed at
    2 s and back (as a replica, by the sentinel's say) at 6 s: 0 failed calls, 0 stale reads, shared
    mode on the promoted replica."""
    skip_without_redis()
    with RedisSentinelSet(password="primary-pw", sentinel_password="sentinel-pw") as found:
        first = found.primary.port
        env = shared_environ(found.url, JIRAPLUG_CACHE__REDIS_SENTINEL_PASSWORD="sentinel-pw",
                             JIRAPLUG_RATELIMIT__REDIS_SENTINEL_PASSWORD="sentinel-pw")
        with replicas(tmp_path, sandbox, **env) as bases:
            async with caller(bases[0]) as a, caller(bases[1]) as b:  # shared before the failover
                error, issue = await a.call("jira_get_issue", issue_key="MOB-2", comment_limit=0)
                assert not error
                before = len(sandbox.request_log)
                assert await b.call("jira_get_issue", issue_key="MOB-2", comment_limit=0) == (False, issue)
                assert len(sandbox.request_log) == before, "replica B asked Jira for what A had cached"
            await through_an_outage(bases, sandbox, found.primary.stop, found.primary.start, down_for=4)
        assert found.current_primary_port() == found.replica.port != first  # it did fail over
    for index in range(2):
        log = (tmp_path / f"replica-{index}" / "server.log").read_text()
        assert "is unavailable" in log and "answers again" in log, log[-3000:]
        assert "redis+sentinel://127.0.0.1:" in log and "-pw" not in log  # never with a password


async def test_the_url_password_is_the_primarys_and_the_sentinels_has_its_own_setting() -> None:
    """A password-protected primary and replica, and a sentinel with a password of its own: the URL's
    password opens the primary, ``redis_sentinel_password`` the sentinel; neither is ever repeated."""
    from jiraplug.plugins.ratelimit.settings import RateLimitSettings

    skip_without_redis()
    with RedisSentinelSet(password="primary-secret", sentinel_password="sentinel-secret") as found:
        settings = RateLimitSettings(backend="redis", redis_url=found.url,  # type: ignore[arg-type]
                                     redis_sentinel_password="sentinel-secret")  # type: ignore[arg-type]
        assert settings.redis_sentinel_password is not None
        good = RedisLink(found.url, timeout=2, sentinel_password=settings.redis_sentinel_password.get_secret_value())
        bad = RedisLink(found.url, timeout=2)  # no password for the sentinel
        try:
            assert await good.run("probe", lambda client: client.set("k", "v"))
            with pytest.raises(RedisUnavailable) as caught:
                await bad.run("probe", lambda client: client.set("k", "v"))
            for text in (str(caught.value), bad.display, good.display):
                assert "secret" not in text, text
        finally:
            await good.aclose()
            await bad.aclose()


async def test_a_planned_failover_moves_the_writes_at_once_and_clears_the_shared_cache(
        redis_sentinel: RedisSentinelSet) -> None:
    """``SENTINEL FAILOVER`` leaves the old primary running (as a partition does): pooled connections
    used to keep writing to it until the sentinel demoted it about 10 s later, and those writes were
    lost. The link now follows the sentinels within a second, and the shared cache, whose latest
    invalidations the promoted replica may lack, drops every entry."""
    import time

    from jiraplug.plugins.cache.middleware import StoredResponse
    from jiraplug.plugins.cache.store import LayerConfig
    from jiraplug.plugins.cache.redis_store import SharedCache

    link = RedisLink(redis_sentinel.url, timeout=1)
    cache = SharedCache(link, {"api": LayerConfig(100, 300)}, "t:", make=StoredResponse,
                        monotonic=time.monotonic, wall=time.time)
    answer = StoredResponse(200, (("content-type", "application/json"),), b"{}")
    try:
        _, since = await cache.lookup("api", "issue-1")
        assert since is not None and await cache.store("api", "issue-1", answer, ["issue:1"], None, since)
        assert (await cache.lookup("api", "issue-1"))[0] is not None
        old = redis_sentinel.primary.port
        assert b"+OK" in redis_sentinel._sentinel().command(f"SENTINEL FAILOVER {redis_sentinel.SERVICE}")
        deadline = time.monotonic() + 8
        while redis_sentinel.current_primary_port() == old:  # the sentinel has promoted the replica
            assert time.monotonic() < deadline, "the sentinel did not fail over"
            await anyio.sleep(0.1)
        promoted = time.monotonic()
        while True:
            info = await link.run("probe", lambda client: client.info("server"))
            if int(info["tcp_port"]) == redis_sentinel.replica.port:
                break
            assert time.monotonic() - promoted < 3, "the link kept writing to the old primary"
            await anyio.sleep(0.1)
        assert (await cache.lookup("api", "issue-1"))[0] is None  # suspect after the failover: a miss
    finally:
        await link.aclose()


async def test_a_hung_first_sentinel_leaves_time_for_the_next() -> None:
    """A sentinel that accepts connections and never answers (a stopped process, a dead node whose
    address drops packets) used the whole command timeout, so every command failed."""
    import socket

    skip_without_redis()
    with RedisSentinelSet() as found, socket.socket() as hung:
        hung.bind(("127.0.0.1", 0))
        hung.listen(16)
        url = found.url.replace("://", f"://127.0.0.1:{hung.getsockname()[1]},", 1)
        link = RedisLink(url, timeout=0.5)
        try:
            answers = 0
            for _ in range(5):
                try:
                    answers += bool(await link.run("probe", lambda client: client.ping()))
                except RedisUnavailable:
                    await anyio.sleep(1.1)  # the next probe
            assert answers >= 3, f"{answers} of 5 commands answered"
        finally:
            await link.aclose()


def test_sentinel_urls_are_checked_without_repeating_them() -> None:
    from jiraplug.bootstrap import bootstrap

    assert display_url("redis+sentinel://:pw@a:26379,b:26380/mymaster/2") == "redis+sentinel://a:26379,b:26380/mymaster/2"
    for url, expected in (("redis+sentinel://:s3cret@sentinel/mymaster", "host:port"),
                          ("redis+sentinel://:s3cret@sentinel:26379", "service"),
                          ("redis+sentinel://:s3cret@sentinel:26379/mymaster/x", "service")):
        with pytest.raises(ConfigError) as caught:
            bootstrap(environ={"JIRA_URL": "https://x.atlassian.net", "JIRAPLUG_CACHE__BACKEND": "redis",
                               "JIRAPLUG_CACHE__REDIS_URL": url})
        assert expected in str(caught.value) and "s3cret" not in str(caught.value)
    with pytest.raises(ConfigError) as caught:
        bootstrap(environ={"JIRA_URL": "https://x.atlassian.net", "JIRAPLUG_CACHE__BACKEND": "redis",
                           "JIRAPLUG_CACHE__REDIS_URL": "redis+sentinel://s:26379/m/0",
                           "JIRAPLUG_CACHE__REDIS_CLUSTER": "true"})
    assert "exclude each other" in str(caught.value)
