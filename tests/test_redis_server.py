"""The test Redis: starts on loopback, answers, survives a kill and restart on the same port."""

from __future__ import annotations

from tests.redis_server import RedisServer


def test_the_test_redis_starts_stops_and_restarts_on_the_same_port(redis_server: RedisServer) -> None:
    assert redis_server.ping()
    assert redis_server.url == f"redis://127.0.0.1:{redis_server.port}/0"
    redis_server.stop()
    assert not redis_server.ping()
    redis_server.restart()
    assert redis_server.ping()


def test_a_password_is_required_when_set() -> None:
    with RedisServer(password="s3cret") as server:
        assert server.ping()
        assert server.url.startswith("redis://:s3cret@127.0.0.1:")
        assert not RedisServer(port=server.port).ping()  # no AUTH: refused
