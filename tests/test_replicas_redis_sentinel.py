"""Replicas sharing their state through a primary that Redis Sentinel watches (``redis+sentinel://``),
against a real primary, replica and sentinel (tests/redis_server.py): the shared cache and budget
work through the primary the sentinel names, and when that primary dies the sentinel's failover
fails no call and shared mode resumes on the promoted replica.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

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
        tmp_path: Path, sandbox: SandboxServer, redis_sentinel: RedisSentinelSet) -> None:
    first = redis_sentinel.primary.port
    with replicas(tmp_path, sandbox, **shared_environ(redis_sentinel.url)) as bases:
        async with caller(bases[0]) as a, caller(bases[1]) as b:  # shared before the failover
            error, issue = await a.call("jira_get_issue", issue_key="MOB-2", comment_limit=0)
            assert not error
            before = len(sandbox.request_log)
            assert await b.call("jira_get_issue", issue_key="MOB-2", comment_limit=0) == (False, issue)
            assert len(sandbox.request_log) == before, "replica B asked Jira for what A had cached"
        await through_an_outage(bases, sandbox, redis_sentinel.primary.stop, redis_sentinel.primary.start)
    assert redis_sentinel.current_primary_port() == redis_sentinel.replica.port != first  # it did fail over
    for index in range(2):
        log = (tmp_path / f"replica-{index}" / "server.log").read_text()
        assert "is unavailable" in log and "answers again" in log, log[-3000:]
        assert "redis+sentinel://127.0.0.1:" in log  # named by its sentinels, never with a password


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
