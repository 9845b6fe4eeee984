"""Network options on the live path: proxies (environment and per-Jira), custom headers, TLS with a CA bundle.

Every proxied request must still pass the plugins' middleware chain and the telemetry-wrapped
transport, so each test also checks a middleware saw it and a client span was recorded.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx2
import pytest

from jiraplug import hookimpl
from jiraplug.jira.http_options import HttpClientOptions
from jiraplug.jira.errors import JiraUnavailable
from jiraplug.jira.middleware import request_info
from tests.jira.conftest import configured_client, environ_for
from tests.jira.loopback import ForwardProxy, TlsFront, make_certificate

pytestmark = pytest.mark.anyio


class SeenOperations:
    """A plugin whose middleware records the operation of each request."""

    def __init__(self) -> None:
        self.operations: list[str] = []

    @hookimpl
    def jira_request_middleware(self, runtime: Any) -> Any:
        def wrap(send: Any) -> Any:
            async def seen(request: httpx2.Request) -> httpx2.Response:
                self.operations.append(request_info(request).operation)
                return await send(request)

            return seen

        return wrap


def client_spans(otel_memory: Any) -> list[Any]:
    return [s for s in otel_memory.spans() if s.kind.name == "CLIENT" and "url.full" in (s.attributes or {})]


async def test_environment_proxy_carries_jira_traffic_with_middleware_and_spans(
    dc_sandbox: Any, monkeypatch: pytest.MonkeyPatch, otel_memory: Any
) -> None:
    seen = SeenOperations()
    async with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        async with configured_client(environ_for(dc_sandbox, JIRA_CUSTOM_HEADERS="X-Team=platform"),
                                     plugins={"seen": seen}) as jira:
            me = await jira.myself()
            await jira.get_issue("PLAT-2", fields=["summary"])
    assert me["name"] == dc_sandbox.default_user.name
    assert [r.target for r in proxy.seen] == [f"{dc_sandbox.url}/rest/api/2/myself",
                                               f"{dc_sandbox.url}/rest/api/2/issue/PLAT-2?fields=summary"]
    assert all(r.headers.get("x-team") == "platform" for r in proxy.seen)  # custom headers on the wire
    assert seen.operations == ["myself.get", "issue.get"]
    spans = client_spans(otel_memory)
    # Spans carry the path, not the query string (server.trace_query_strings is off by default).
    assert [s.attributes["url.full"] for s in spans][-2:] == [r.target.split("?")[0] for r in proxy.seen]


async def test_no_proxy_sends_matching_hosts_direct(dc_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async with ForwardProxy() as proxy:
        monkeypatch.setenv("HTTP_PROXY", proxy.url)
        monkeypatch.setenv("NO_PROXY", "localhost,127.0.0.1")
        async with configured_client(environ_for(dc_sandbox)) as jira:
            await jira.myself()
    assert proxy.seen == []


async def test_per_jira_proxy_overrides_the_environment_but_keeps_no_proxy(
    dc_sandbox: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ForwardProxy() as env_proxy, ForwardProxy() as jira_proxy:
        monkeypatch.setenv("HTTP_PROXY", env_proxy.url)
        async with configured_client(environ_for(dc_sandbox, JIRA_PROXY=jira_proxy.url)) as jira:
            await jira.myself()
        assert env_proxy.seen == [] and len(jira_proxy.seen) == 1
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        async with configured_client(environ_for(dc_sandbox, JIRA_PROXY=jira_proxy.url)) as jira:
            await jira.myself()
        assert len(jira_proxy.seen) == 1  # went direct


def test_proxy_routes_mirror_httpx_rules(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.corp:3128")
    monkeypatch.setenv("NO_PROXY", ".internal.example,10.0.0.0/8")
    routes = HttpClientOptions().proxy_routes()
    assert routes["https://"] == "http://proxy.corp:3128"
    assert routes["all://*.internal.example"] is None and routes["all://10.0.0.0/8"] is None
    assert HttpClientOptions(trust_env=False).proxy_routes() == {}
    monkeypatch.setenv("NO_PROXY", "*")
    assert HttpClientOptions(proxy="http://p:1").proxy_routes() == {}


async def test_unreachable_proxy_is_named_in_the_error(dc_sandbox: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    async with ForwardProxy() as proxy:
        dead = proxy.url
    async with configured_client(environ_for(dc_sandbox, JIRA_PROXY=dead)) as jira:
        with pytest.raises(JiraUnavailable) as caught:
            await jira.myself()
    assert f"through the proxy {dead}" in str(caught.value) and "JIRA_PROXY" in str(caught.value)


@pytest.fixture
def certificate(tmp_path: Path) -> Any:
    pytest.importorskip("cryptography")
    return make_certificate(tmp_path)


async def test_tls_with_a_private_ca_bundle(dc_sandbox: Any, certificate: Any) -> None:
    async with TlsFront(dc_sandbox.port, certificate) as front:
        base = {**environ_for(dc_sandbox), "JIRA_URL": front.url}
        async with configured_client({**base, "JIRA_CA_BUNDLE": str(certificate.ca_file)}) as jira:
            assert (await jira.myself())["name"] == dc_sandbox.default_user.name
        async with configured_client(base) as jira:
            with pytest.raises(JiraUnavailable) as caught:
                await jira.myself()
        assert "JIRA_CA_BUNDLE" in str(caught.value)
        async with configured_client({**base, "JIRA_SSL_VERIFY": "false"}) as jira:
            assert (await jira.myself())["name"] == dc_sandbox.default_user.name


def test_every_transport_is_wrapped_and_tls_is_set_up_once(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.corp:3128")
    wrapped: list[Any] = []
    contexts: list[Any] = []
    real = HttpClientOptions.ssl_context

    def counting(self: HttpClientOptions) -> Any:
        contexts.append(real(self))
        return contexts[-1]

    monkeypatch.setattr(HttpClientOptions, "ssl_context", counting)
    HttpClientOptions().build(base_url="https://jira.example.com", wrap_transport=lambda t: wrapped.append(t) or t)
    # The direct transport and the proxy's both pass through the wrapper (telemetry); building a TLS
    # context costs milliseconds of CPU, so there is one for all transports.
    assert len(wrapped) == 2 and len(contexts) == 1
