"""Fault knobs: latency, 429 rate limiting, 5xx, dropped connections, slow bodies, admin API."""

from __future__ import annotations

import datetime as dt
import time

import httpx2
import pytest
from jiraplug.sandbox import Knobs, SandboxServer
from sandbox_helpers import client_for

MYSELF = "/rest/api/3/myself"


def test_knobs_are_off_by_default() -> None:
    assert Knobs().to_dict() == {name: 0.0 for name in Knobs.names()}


@pytest.mark.parametrize("bad", [
    {"latency_ms": -1}, {"error_rate": 1.5}, {"drop_rate": -0.1}, {"rate_limit_rps": "fast"},
    {"slow_body_ms": float("nan")}, {"jitter_ms": True},
])
def test_knob_validation(bad: dict) -> None:
    with pytest.raises(ValueError):
        Knobs(**bad)


def test_unknown_knob_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown knob"):
        Knobs().replace({"latency": 5})


def test_set_knobs_requires_knobs(fresh_cloud: SandboxServer) -> None:
    with pytest.raises(TypeError):
        fresh_cloud.set_knobs({"latency_ms": 5})  # type: ignore[arg-type]


def test_latency_is_at_least_the_configured_delay(fresh_cloud: SandboxServer) -> None:
    with client_for(fresh_cloud) as client:
        client.get(MYSELF)  # connect first, so only the injected delay is measured
        fresh_cloud.set_knobs(Knobs(latency_ms=150, jitter_ms=50))
        for _ in range(3):
            started = time.perf_counter()
            assert client.get(MYSELF).status_code == 200
            assert time.perf_counter() - started >= 0.150
        fresh_cloud.set_knobs(Knobs())
        assert fresh_cloud.knobs == Knobs()


def test_rate_limit_answers_429_with_headers(fresh_cloud: SandboxServer) -> None:
    fresh_cloud.set_knobs(Knobs(rate_limit_rps=2))
    with client_for(fresh_cloud) as client:
        responses = [client.get(MYSELF) for _ in range(8)]
    statuses = [r.status_code for r in responses]
    assert statuses[0] == 200
    assert 429 in statuses
    limited = next(r for r in responses if r.status_code == 429)
    assert int(limited.headers["Retry-After"]) >= 1
    assert limited.headers["X-RateLimit-Limit"] == "2"
    assert limited.headers["X-RateLimit-Remaining"] == "0"
    reset = dt.datetime.fromisoformat(limited.headers["X-RateLimit-Reset"].replace("Z", "+00:00"))
    assert reset.tzinfo is not None
    assert limited.json()["errorMessages"]
    assert "X-RateLimit-Remaining" in responses[0].headers
    assert ("GET", MYSELF, 429) in fresh_cloud.request_log


def test_rate_limit_recovers_after_retry_after(fresh_cloud: SandboxServer) -> None:
    fresh_cloud.set_knobs(Knobs(rate_limit_rps=20, rate_limit_burst=1))
    with client_for(fresh_cloud) as client:
        assert client.get(MYSELF).status_code == 200
        assert client.get(MYSELF).status_code == 429
        time.sleep(0.1)  # one token refills in 50 ms
        assert client.get(MYSELF).status_code == 200


def test_dc_rate_limit_headers() -> None:
    with SandboxServer(flavour="dc", knobs=Knobs(rate_limit_rps=1)) as sb, client_for(sb) as client:
        responses = [client.get("/rest/api/2/myself") for _ in range(4)]
    limited = next(r for r in responses if r.status_code == 429)
    assert limited.headers["X-RateLimit-Interval-Seconds"] == "1"
    assert limited.headers["X-RateLimit-FillRate"] == "1"
    assert int(limited.headers["Retry-After"]) >= 1


def test_error_rate_one_answers_5xx(fresh_cloud: SandboxServer) -> None:
    fresh_cloud.set_knobs(Knobs(error_rate=1.0))
    with client_for(fresh_cloud) as client:
        responses = [client.get("/rest/api/3/issue/PLAT-1") for _ in range(30)]
    statuses = {r.status_code for r in responses}
    assert statuses <= {500, 502, 503} and len(statuses) >= 2
    unavailable = [r for r in responses if r.status_code == 503]
    assert all(r.headers["Retry-After"] == "1" for r in unavailable)
    assert all(r.text for r in responses)


def test_error_rate_fraction_mixes_and_is_seeded() -> None:
    def run() -> list[int]:
        with SandboxServer(seed=5, knobs=Knobs(error_rate=0.5)) as sb, client_for(sb) as client:
            return [client.get(MYSELF).status_code for _ in range(40)]

    first = run()
    assert 200 in first and any(s >= 500 for s in first)
    assert run() == first  # same seed, same sequence of fault decisions


def test_dropped_connection_is_a_transport_error(fresh_cloud: SandboxServer) -> None:
    fresh_cloud.set_knobs(Knobs(drop_rate=1.0))
    with client_for(fresh_cloud) as client:
        with pytest.raises(httpx2.TransportError):
            client.get(MYSELF)
    assert fresh_cloud.request_log[-1] == ("GET", MYSELF, 0)
    fresh_cloud.set_knobs(Knobs())
    with client_for(fresh_cloud) as client:
        assert client.get(MYSELF).status_code == 200


def test_slow_body_streams_the_whole_body(fresh_cloud: SandboxServer) -> None:
    with client_for(fresh_cloud) as client:
        fast = client.get("/rest/api/3/issue/PLAT-2").json()
        fresh_cloud.set_knobs(Knobs(slow_body_ms=300))
        started = time.perf_counter()
        slow = client.get("/rest/api/3/issue/PLAT-2")
        assert time.perf_counter() - started >= 0.3
    assert slow.status_code == 200 and slow.json() == fast


def test_admin_endpoints_absent_by_default(fresh_cloud: SandboxServer) -> None:
    for method, path in (("GET", "/__sandbox__/knobs"), ("POST", "/__sandbox__/knobs"), ("GET", "/__sandbox__/log")):
        assert httpx2.request(method, fresh_cloud.url + path, json={"latency_ms": 1}).status_code == 404
    assert fresh_cloud.knobs == Knobs()


def test_admin_endpoints() -> None:
    with SandboxServer(admin=True) as sb, httpx2.Client(base_url=sb.url) as admin:
        assert admin.get("/__sandbox__/knobs").json() == Knobs().to_dict()
        body = admin.post("/__sandbox__/knobs", json={"latency_ms": 120, "rate_limit_rps": 50}).json()
        assert body["latency_ms"] == 120 and body["rate_limit_rps"] == 50
        assert sb.knobs == Knobs(latency_ms=120, rate_limit_rps=50)
        # A partial update keeps the other knobs.
        admin.post("/__sandbox__/knobs", json={"latency_ms": 0})
        assert sb.knobs == Knobs(rate_limit_rps=50)
        assert admin.post("/__sandbox__/knobs", json={"nope": 1}).status_code == 400
        assert admin.post("/__sandbox__/knobs", json={"error_rate": 3}).status_code == 400
        assert admin.post("/__sandbox__/knobs", content=b"[1]").status_code == 400
        with client_for(sb) as client:
            client.get(MYSELF)
        log = admin.get("/__sandbox__/log").json()
        assert {"method": "GET", "path": MYSELF, "status": 200} in log
