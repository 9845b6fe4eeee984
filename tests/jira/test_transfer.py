"""Attachment upload and download through the client: multipart with Jira's XSRF header, Cloud's
redirect to its media store, size limits, and no credential for any other host."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from dataclasses import replace
from typing import Any

import pytest

from jiraplug.jira.http_options import HttpClientOptions
from jiraplug.jira.errors import JiraError, JiraUnavailable, ResponseTooLarge
from jiraplug.jira.middleware import request_info
from jiraplug.sandbox import SandboxServer
from tests.jira.conftest import direct_client
from tests.jira.loopback import ScriptedServer, SeenRequest, TlsFront, make_certificate
from tests.spec_contract import SpecContract

pytestmark = pytest.mark.anyio

PAYLOAD = b"line one\nline two\n" * 200  # 3.6 KB of text


@pytest.fixture(scope="module", params=["cloud", "dc"])
def writable(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox of each flavour that these tests may write to."""
    with SandboxServer(flavour=request.param, seed=5, port=0) as sandbox:
        yield sandbox


async def test_upload_then_download_round_trip(writable: SandboxServer) -> None:
    contract = SpecContract(writable.flavour)
    operations: list[tuple[str, bool, bool]] = []

    def recording(send: Any) -> Any:
        async def record(request: Any) -> Any:
            info = request_info(request)
            operations.append((info.operation, info.read_only, info.idempotent))
            return await send(request)

        return record

    async with direct_client(writable, middlewares=[("rec", recording), ("contract", contract.middleware)]) as jira:
        created = await jira.upload(f"{jira.api}/issue/PLAT-3/attachments", "build/notes.txt", PAYLOAD,
                                    operation="attachment.upload", touches=("issue:PLAT-3",))
        (attachment,) = created
        content, kind = await jira.download(attachment["content"], operation="attachment.download",
                                            max_bytes=len(PAYLOAD))
    assert attachment["filename"] == "notes.txt" and attachment["size"] == len(PAYLOAD)
    assert content == PAYLOAD and kind.startswith("text/plain")
    # The upload is never treated as repeatable; the download is a safe read.
    assert operations == [("attachment.upload", False, False), ("attachment.download", True, True)]
    if writable.flavour == "cloud":  # Cloud's content URL answers 303 to the media store, followed
        paths = [r.path for r in writable.request_log.snapshot()[-2:]]
        assert paths[0].startswith("/rest/api/3/attachment/content/") and paths[1].startswith("/sandbox-media/")
    contract.assert_clean(at_least=2)


async def test_download_refuses_a_body_above_the_limit(writable: SandboxServer) -> None:
    async with direct_client(writable) as jira:
        (attachment,) = await jira.upload(f"{jira.api}/issue/PLAT-4/attachments", "big.log", PAYLOAD,
                                          operation="attachment.upload")
        with pytest.raises(ResponseTooLarge) as caught:
            await jira.download(attachment["content"], operation="attachment.download", max_bytes=1000)
    assert caught.value.size == len(PAYLOAD) and caught.value.limit == 1000
    assert "3.5 KiB, above the 1000 bytes limit" in str(caught.value)


async def test_an_unannounced_body_is_cut_at_the_limit() -> None:
    async def handler(request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        return 200, {"content-type": "application/octet-stream"}, b"x" * 200_000

    async with ScriptedServer(handler, chunked=True) as jira_like:
        async with direct_client(_FakeSandbox(jira_like.url)) as jira:
            with pytest.raises(ResponseTooLarge, match="larger than the 48.8 KiB limit; the download was stopped"):
                await jira.download("/rest/api/2/attachment/content/1", operation="attachment.download",
                                    max_bytes=50_000)
            data, _ = await jira.download("/rest/api/2/attachment/content/1", operation="attachment.download",
                                          max_bytes=200_000)
    assert len(data) == 200_000


async def test_redirect_to_the_media_host_carries_no_credential_and_goes_to_the_checked_address() -> None:
    """Cloud's hop to its media store: no credential, and the connection goes to the address that was checked.

    The media store is played by a loopback server: the test's resolver maps
    ``api.media.atlassian.com`` to two addresses, of which only the second answers, and
    lets loopback through. Nothing else resolves the name (it would fail here, with no
    network), and the server sees the name in ``Host``.
    """
    media_seen: list[SeenRequest] = []
    lookups: list[str] = []

    async def media(request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        media_seen.append(request)
        return 200, {"content-type": "image/png"}, b"\x89PNG fake"

    async def test_dns(host: str, port: int) -> list[str]:
        lookups.append(host)
        return ["127.0.0.2", "127.0.0.1"]  # nothing listens on the first: the next checked address is tried

    async with ScriptedServer(media) as media_host:
        async def jira_answer(request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
            return 303, {"location": f"http://api.media.atlassian.com:{media_host.port}/file/10001?token=signed"}, b""

        async with ScriptedServer(jira_answer) as jira_like:
            async with direct_client(_FakeSandbox(jira_like.url)) as jira:
                jira.redirects = replace(jira.redirects, resolver=test_dns, address_check=lambda address: None)
                data, kind = await jira.download(f"{jira_like.url}/rest/api/2/attachment/content/10001",
                                                 operation="attachment.download", max_bytes=1000)
            jira_seen = jira_like.seen
    assert (data, kind) == (b"\x89PNG fake", "image/png")
    assert jira_seen[0].headers["authorization"].startswith("Bearer ")
    assert lookups == ["api.media.atlassian.com"]
    assert media_seen[0].target == "/file/10001?token=signed"
    assert media_seen[0].headers["host"] == f"api.media.atlassian.com:{media_host.port}"
    assert "authorization" not in media_seen[0].headers


async def test_a_pinned_https_hop_verifies_the_certificate_against_the_host_name(tmp_path: Path) -> None:
    """Connecting to the checked address must not weaken TLS: the certificate must match the name.

    The media store's certificate is valid for 127.0.0.1 (the address connected to) but not
    for api.media.atlassian.com (the name redirected to), so the hop must fail.
    """
    pytest.importorskip("cryptography")
    certificate = make_certificate(tmp_path)

    async def media(request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        return 200, {"content-type": "text/plain"}, b"should not be read"

    async def test_dns(host: str, port: int) -> list[str]:
        return ["127.0.0.1"]

    async with ScriptedServer(media) as media_host, TlsFront(media_host.port, certificate) as tls:
        async def jira_answer(request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
            return 303, {"location": f"https://api.media.atlassian.com:{tls.port}/file/1?token=signed"}, b""

        async with ScriptedServer(jira_answer) as jira_like:
            options = HttpClientOptions(ca_bundle=str(certificate.ca_file))
            async with direct_client(_FakeSandbox(jira_like.url), options=options) as jira:
                jira.redirects = replace(jira.redirects, resolver=test_dns, address_check=lambda address: None)
                with pytest.raises(JiraUnavailable, match="TLS certificate that is not trusted"):
                    await jira.download(f"{jira_like.url}/rest/api/2/attachment/content/1",
                                        operation="attachment.download", max_bytes=1000)
        assert media_host.seen == []


async def test_a_download_link_keeps_its_query_string() -> None:
    async def jira_answer(request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        return 200, {"content-type": "text/plain"}, b"signed content"

    async with ScriptedServer(jira_answer) as jira_like:
        async with direct_client(_FakeSandbox(jira_like.url)) as jira:
            data, _ = await jira.download(f"{jira_like.url}/rest/api/2/attachment/content/10001?token=signed&v=2",
                                          operation="attachment.download", max_bytes=1000)
        seen = jira_like.seen
    assert data == b"signed content"
    assert seen[0].target == "/rest/api/2/attachment/content/10001?token=signed&v=2"


async def test_download_refuses_other_hosts_before_sending(cloud_sandbox: Any) -> None:
    sent: list[Any] = []

    def recording(send: Any) -> Any:
        async def record(request: Any) -> Any:
            sent.append(request)
            return await send(request)

        return record

    async with direct_client(cloud_sandbox, middlewares=[("rec", recording)]) as jira:
        for url in ("https://evil.example/rest/api/3/attachment/content/1",
                    cloud_sandbox.url.replace("127.0.0.1", "localhost") + "/rest/api/3/attachment/content/1"):
            with pytest.raises(JiraError, match="refusing to download from"):
                await jira.download(url, operation="attachment.download", max_bytes=10)
        with pytest.raises(ValueError, match="max_bytes must be positive"):
            await jira.download("/rest/api/3/attachment/content/1", operation="attachment.download", max_bytes=0)
    assert sent == []


async def test_upload_refuses_an_unusable_file_name(cloud_sandbox: Any) -> None:
    async with direct_client(cloud_sandbox) as jira:
        with pytest.raises(JiraError, match="not a usable file name"):
            await jira.upload(f"{jira.api}/issue/PLAT-1/attachments", "dir/", b"x", operation="attachment.upload")


class _FakeSandbox:
    """Enough of a SandboxServer for ``direct_client`` to target a scripted Jira (DC, PAT)."""

    flavour = "dc"

    def __init__(self, url: str) -> None:
        self.url = url

    class default_user:  # noqa: N801 - mirrors SandboxServer.default_user
        personal_token = "scripted-token"
