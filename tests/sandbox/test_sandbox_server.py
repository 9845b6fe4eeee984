"""The server harness: connection counting, keep-alive, lifecycle, async use, in-process app."""

from __future__ import annotations

import socket
import threading
import time

import httpx2
import pytest
from jiraplug.sandbox import Knobs, RequestRecord, SandboxServer, create_app
from sandbox_helpers import auth_headers, client_for

MYSELF = "/rest/api/3/myself"


def test_keep_alive_reuses_one_connection(fresh_cloud: SandboxServer) -> None:
    assert fresh_cloud.connections_opened == 0
    with client_for(fresh_cloud) as client:
        for _ in range(50):
            assert client.get(MYSELF).status_code == 200
    assert fresh_cloud.connections_opened == 1
    assert len(fresh_cloud.request_log) == 50


def test_each_new_client_opens_a_connection(fresh_cloud: SandboxServer) -> None:
    for _ in range(3):
        with client_for(fresh_cloud) as client:
            client.get(MYSELF)
    assert fresh_cloud.connections_opened == 3
    headers = {**auth_headers("cloud", fresh_cloud.default_user), "Connection": "close"}
    with httpx2.Client(base_url=fresh_cloud.url, headers=headers) as client:
        for _ in range(4):
            client.get(MYSELF)
    assert fresh_cloud.connections_opened == 7


def test_request_log_records_method_path_status(fresh_cloud: SandboxServer) -> None:
    with client_for(fresh_cloud) as client:
        client.get("/rest/api/3/issue/PLAT-1")
        client.get("/rest/api/3/issue/NOPE-1")
        client.post("/rest/api/3/search/jql", json={"jql": "project = PLAT"})
    httpx2.get(fresh_cloud.url + MYSELF)
    assert list(fresh_cloud.request_log) == [
        ("GET", "/rest/api/3/issue/PLAT-1", 200),
        ("GET", "/rest/api/3/issue/NOPE-1", 404),
        ("POST", "/rest/api/3/search/jql", 200),
        ("GET", MYSELF, 401),
    ]
    record = fresh_cloud.request_log[0]
    assert isinstance(record, RequestRecord) and record.path == "/rest/api/3/issue/PLAT-1"
    fresh_cloud.request_log.clear()
    assert len(fresh_cloud.request_log) == 0


def test_public_attributes() -> None:
    server = SandboxServer(flavour="dc", seed=3, port=0)
    with pytest.raises(RuntimeError):
        _ = server.url
    with server as sb:
        assert sb is server and sb.running
        assert sb.url.startswith("http://127.0.0.1:") and sb.port > 0
        assert sb.default_user is sb.users[0]
        assert all(isinstance(getattr(u, a), str) for u in sb.users
                   for a in ("account_id", "name", "email", "display_name", "api_token", "personal_token"))
        assert sb.state.issue_by_key("PLAT-1") is not None and sb.state.seed == 3
        assert "dc" in repr(sb)
    assert not server.running


def test_stop_releases_the_port_and_restart_works() -> None:
    sb = SandboxServer(port=0).start()
    port = sb.port
    with client_for(sb) as client:
        assert client.get(MYSELF).status_code == 200
    sb.stop()
    sb.stop()  # idempotent
    with pytest.raises(httpx2.ConnectError):
        httpx2.get(f"http://127.0.0.1:{port}{MYSELF}", timeout=2)
    with SandboxServer(port=port) as again:
        assert again.port == port
        with client_for(again) as client:
            assert client.get(MYSELF).status_code == 200


def test_busy_port_raises() -> None:
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", 0))
        blocker.listen()
        with pytest.raises(OSError):
            SandboxServer(port=blocker.getsockname()[1]).start()


def test_stop_with_open_keep_alive_and_in_flight_request() -> None:
    sb = SandboxServer(knobs=Knobs(slow_body_ms=5000)).start()
    client = client_for(sb)
    errors: list[BaseException] = []

    def slow_call() -> None:
        try:
            client.get("/rest/api/3/issue/PLAT-1")
        except BaseException as exc:  # the server goes away mid-body
            errors.append(exc)

    worker = threading.Thread(target=slow_call)
    worker.start()
    deadline = time.monotonic() + 5
    while sb.connections_opened == 0 and time.monotonic() < deadline:
        time.sleep(0.01)
    time.sleep(0.1)  # the response is now streaming slowly
    sb.stop()
    worker.join(10)
    client.close()
    assert not worker.is_alive() and not sb.running


@pytest.mark.anyio
async def test_works_inside_a_running_event_loop() -> None:
    with SandboxServer(flavour="cloud", seed=1) as sb:
        async with httpx2.AsyncClient(base_url=sb.url, headers=auth_headers("cloud", sb.default_user)) as client:
            for _ in range(5):
                response = await client.get(MYSELF)
                assert response.status_code == 200
        assert sb.connections_opened == 1


@pytest.mark.anyio
async def test_create_app_in_process() -> None:
    app = create_app("dc", seed=1)
    store = app.state.sandbox.store
    transport = httpx2.ASGITransport(app=app)
    async with httpx2.AsyncClient(transport=transport, base_url="http://sandbox.test",
                                  headers=auth_headers("dc", store.default_user)) as client:
        body = (await client.get("/rest/api/2/issue/PLAT-1")).json()
        assert body["key"] == "PLAT-1" and body["self"] == f"http://sandbox.test/rest/api/2/issue/{body['id']}"
        assert (await client.get("/rest/api/2/myself")).json()["name"] == store.default_user.name


def test_create_app_rejects_bad_arguments() -> None:
    with pytest.raises(ValueError):
        create_app("server")
    with pytest.raises(TypeError):
        create_app("cloud", seed="1")  # type: ignore[arg-type]
