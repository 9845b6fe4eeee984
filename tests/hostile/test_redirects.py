"""A hostile Jira redirecting attachment downloads (issue 19, point 4): server-side request forgery.

A Jira site (or something in front of it) that answers the attachment content with a
redirect to ``http://127.0.0.1:OTHER_PORT/``, a cloud metadata address, a private address
or a name resolving to one must not make the server fetch it and hand the body to the
caller. The MCP tests drive ``jira_download_attachment`` through the SDK client against a
:class:`RedirectingFront`: a loopback HTTP server that forwards to the Cloud sandbox but
answers the content URL with a scripted redirect. :class:`NetworkWatch` (an audit hook)
records every socket connect and DNS lookup during a call and blocks any that would leave
loopback, so even the unfixed code never reaches a real network; the refused target is
shown never to be contacted. The address rule and the policy have unit tests below.
"""

from __future__ import annotations

import ipaddress
import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import replace
from typing import Any

import httpx2
import pytest

from jiraplug.jira import redirects
from jiraplug.jira.errors import RedirectRefused
from jiraplug.jira.redirects import RedirectPolicy, address_refusal
from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.model import Attachment, Issue
from tests.jira.loopback import ScriptedServer, SeenRequest
from tests.tools.helpers import connect

pytestmark = pytest.mark.anyio

SECRET = b"internal-secret-body-4d1f"
CONTENT_PATH = "/rest/api/3/attachment/content/"
_HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "content-length", "content-encoding"}


# --------------------------------------------------------------------------- network watch


class NetworkWatch:
    """Socket connects and name lookups made by this process while armed; any off loopback is blocked.

    An audit hook (``socket.connect``, ``socket.getaddrinfo``) sees the connects of asyncio and
    of resolver threads alike. Raising in the hook makes the operation fail, so a connect or
    lookup that would leave the machine never happens, with or without the fix.
    """

    _armed: list[NetworkWatch] = []
    _installed = False

    def __init__(self) -> None:
        self.connects: list[tuple[str, int]] = []
        self.lookups: list[str] = []

    @classmethod
    @contextmanager
    def armed(cls) -> Iterator[NetworkWatch]:
        if not cls._installed:
            sys.addaudithook(cls._hook)
            cls._installed = True
        watch = cls()
        cls._armed.append(watch)
        try:
            yield watch
        finally:
            cls._armed.remove(watch)

    @classmethod
    def _hook(cls, event: str, args: tuple[Any, ...]) -> None:
        if not cls._armed or event not in ("socket.connect", "socket.getaddrinfo"):
            return
        if event == "socket.getaddrinfo":
            host = args[0].decode() if isinstance(args[0], bytes) else str(args[0])
            for watch in cls._armed:
                watch.lookups.append(host)
            if host not in ("127.0.0.1", "localhost"):
                raise OSError(f"test network watch: lookup of {host!r} blocked")
            return
        address = args[1]
        if not (isinstance(address, tuple) and len(address) >= 2):
            return  # a Unix socket
        host, port = str(address[0]), int(address[1])
        for watch in cls._armed:
            watch.connects.append((host, port))
        if host != "127.0.0.1":
            raise OSError(f"test network watch: connect to {host}:{port} blocked")


# --------------------------------------------------------------------------- a redirecting Jira


class RedirectingFront:
    """The Cloud sandbox behind a loopback front that may answer the attachment content with a redirect.

    ``redirect_to`` (``None``: pass through to the sandbox, which redirects to its own media
    path) is the ``Location`` for the content URL; ``/hop/N`` redirects to ``/hop/N+1`` forever.
    It stands in for the sandbox in ``connect()`` (same flavour and user, its own URL).
    """

    def __init__(self, sandbox: SandboxServer) -> None:
        self.sandbox = sandbox
        self.flavour = sandbox.flavour
        self.default_user = sandbox.default_user
        self.redirect_to: str | None = None
        self.server = ScriptedServer(self._answer)
        self._upstream = httpx2.AsyncClient(base_url=sandbox.url)

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def paths(self) -> list[str]:
        return [seen.target.split("?")[0] for seen in self.server.seen]

    async def _answer(self, request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        path = request.target.split("?")[0]
        if path.startswith("/hop/"):
            return 302, {"location": f"/hop/{int(path.rsplit('/', 1)[1]) + 1}"}, b""
        if path.startswith(CONTENT_PATH) and self.redirect_to is not None:
            return 302, {"location": self.redirect_to}, b""
        # Host is kept, so the sandbox's links (attachment content, media) point at this front.
        headers = {k: v for k, v in request.headers.items() if k not in _HOP_HEADERS}
        answer = await self._upstream.request(request.method, request.target, headers=headers, content=request.body)
        return answer.status_code, {k: v for k, v in answer.headers.items() if k not in _HOP_HEADERS}, answer.content

    @asynccontextmanager
    async def running(self) -> AsyncIterator[RedirectingFront]:
        async with self.server, self._upstream:
            yield self


@asynccontextmanager
async def secret_server() -> AsyncIterator[ScriptedServer]:
    """An internal service on another loopback port: what a forged redirect would read."""

    async def answer(request: SeenRequest) -> tuple[int, dict[str, str], bytes]:
        return 200, {"content-type": "text/plain"}, SECRET

    async with ScriptedServer(answer) as server:
        yield server


def text_attachment(sandbox: SandboxServer) -> tuple[Issue, Attachment]:
    for issue in sandbox.state.issues:
        for attachment in issue.attachments:
            if attachment.mime_type == "text/plain":
                return issue, attachment
    raise AssertionError("the sandbox has no text attachment")


async def download(front: RedirectingFront, issue: Issue, attachment: Attachment) -> tuple[bool, str, NetworkWatch]:
    """``jira_download_attachment`` through the MCP client: (is_error, all text of the result, the watch)."""
    async with connect(front) as client:
        with NetworkWatch.armed() as watch:
            result = await client.call_tool("jira_download_attachment",
                                            {"issue_key": issue.key, "attachment_id": attachment.id})
    texts = [getattr(c, "text", None) or getattr(getattr(c, "resource", None), "text", None) or "" for c in
             result.content]
    return result.is_error, "\n".join(texts), watch


def resolving_to(address: str) -> redirects.Resolver:
    """A resolver (the test's DNS) that answers ``address`` for every name."""

    async def resolve(host: str, port: int) -> list[str]:
        return [address]

    return resolve


# --------------------------------------------------------------------------- through the MCP client


@pytest.mark.parametrize("target", [
    pytest.param("http://127.0.0.1:{secret}/admin/export", id="other-loopback-port"),
    pytest.param("http://localhost:{secret}/admin/export", id="name-for-loopback"),
    pytest.param("http://[::ffff:127.0.0.1]:{secret}/admin/export", id="ipv4-mapped-loopback"),
    pytest.param("http://169.254.169.254/jiraplug-test", id="metadata"),
    pytest.param("http://10.20.30.40/internal", id="private-10"),
])
async def test_a_redirect_off_the_site_is_refused_and_never_contacted(cloud_sandbox: SandboxServer,
                                                                      target: str) -> None:
    issue, attachment = text_attachment(cloud_sandbox)
    async with secret_server() as secret, RedirectingFront(cloud_sandbox).running() as front:
        front.redirect_to = target.format(secret=secret.port)
        failed, text, watch = await download(front, issue, attachment)
        seen_by_secret = list(secret.seen)
    assert failed, f"the download through a redirect to {target} succeeded: {text[:200]}"
    assert "refusing to follow Jira's redirect to" in text and SECRET.decode() not in text
    assert seen_by_secret == [], "the refused target was contacted"
    assert {port for _, port in watch.connects} <= {front.server.port, cloud_sandbox.port}, watch.connects
    assert not any(host not in ("127.0.0.1", "localhost") for host in watch.lookups), watch.lookups


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "a loopback address"),
    ("169.254.169.254", "a cloud metadata address"),
    ("10.0.0.7", "a private address"),
    ("fd00:ec2::254", "a cloud metadata address"),
])
async def test_a_media_host_resolving_to_an_internal_address_is_refused(
    cloud_sandbox: SandboxServer, monkeypatch: pytest.MonkeyPatch, address: str, reason: str
) -> None:
    """The allowed media host name, poisoned (DNS rebinding): judged by the address it resolves to."""
    monkeypatch.setattr(redirects, "resolve_host", resolving_to(address))
    issue, attachment = text_attachment(cloud_sandbox)
    async with secret_server() as secret, RedirectingFront(cloud_sandbox).running() as front:
        front.redirect_to = f"http://api.media.atlassian.com:{secret.port}/file/abc/binary?token=signed"
        failed, text, watch = await download(front, issue, attachment)
        seen_by_secret = list(secret.seen)
    assert failed and f"it resolves to {address}, {reason}" in text, text
    assert "token=signed" not in text  # the signed query is not echoed
    assert seen_by_secret == [] and {port for _, port in watch.connects} <= {front.server.port, cloud_sandbox.port}


async def test_a_redirect_on_the_site_itself_is_followed(cloud_sandbox: SandboxServer) -> None:
    """The site on loopback redirects to its own media path (as Cloud's content URL does): delivered."""
    issue, attachment = text_attachment(cloud_sandbox)
    async with RedirectingFront(cloud_sandbox).running() as front:
        failed, text, _ = await download(front, issue, attachment)
        paths = front.paths
    assert not failed, text
    assert attachment.content.decode() in text
    content = next(i for i, p in enumerate(paths) if p.startswith(CONTENT_PATH))
    assert paths[content + 1].startswith("/sandbox-media/")


async def test_a_redirect_chain_longer_than_the_bound_is_stopped(cloud_sandbox: SandboxServer) -> None:
    issue, attachment = text_attachment(cloud_sandbox)
    async with RedirectingFront(cloud_sandbox).running() as front:
        front.redirect_to = "/hop/1"
        failed, text, _ = await download(front, issue, attachment)
        hops = [p for p in front.paths if p.startswith("/hop/")]
    bound = RedirectPolicy.for_site("http://x").max_redirects
    assert failed and f"Jira redirected the download more than {bound} times" in text, text
    # The content URL's redirect and /hop/1 to /hop/{bound - 1} are followed; /hop/{bound}'s is refused.
    assert hops == [f"/hop/{n}" for n in range(1, bound + 1)]


# --------------------------------------------------------------------------- the address rule


@pytest.mark.parametrize("address, reason", [
    ("127.0.0.1", "a loopback address"),
    ("127.45.6.7", "a loopback address"),
    ("::1", "a loopback address"),
    ("0.0.0.0", "an unspecified address"),
    ("::", "an unspecified address"),
    ("169.254.169.254", "a cloud metadata address"),
    ("169.254.170.2", "a cloud metadata address"),
    ("fd00:ec2::254", "a cloud metadata address"),
    ("100.100.100.200", "a cloud metadata address"),
    ("169.254.1.1", "a link-local address"),
    ("fe80::1", "a link-local address"),
    ("10.1.2.3", "a private address"),
    ("172.16.0.1", "a private address"),
    ("192.168.1.1", "a private address"),
    ("fc00::1", "a private address"),
    ("224.0.0.1", "a multicast address"),
    ("ff02::1", "a multicast address"),
    ("240.0.0.1", "a private address"),  # reserved, and listed among the non-public ranges
    ("100.64.0.1", "not publicly routable"),  # shared address space (carrier-grade NAT)
    ("::ffff:127.0.0.1", "a loopback address (127.0.0.1, inside"),  # IPv4-mapped
    ("::127.0.0.1", "a reserved address"),  # IPv4-compatible (deprecated): inside ::/8
    ("::ffff:169.254.169.254", "a cloud metadata address"),
    ("2002:7f00:1::", "a loopback address (127.0.0.1, inside 2002:7f00:1::)"),  # 6to4
    ("64:ff9b::a9fe:a9fe", "a cloud metadata address (169.254.169.254, inside"),  # NAT64
])
def test_address_refusal_names_why(address: str, reason: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address))
    assert refusal is not None and reason in refusal, (address, refusal)


@pytest.mark.parametrize("address", ["104.192.142.1", "13.227.146.10", "2600:1f18::1", "8.8.8.8"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address)) is None


# --------------------------------------------------------------------------- the policy


SITE = "http://127.0.0.1:8080"


async def test_policy_follows_the_site_itself_even_on_loopback() -> None:
    policy = RedirectPolicy.for_site(SITE, SITE + "/jira")
    target = await policy.target(httpx2.URL(SITE + "/sandbox-media/1/a.txt?token=t"))
    assert target.addresses == ()  # the site is reached by name, as every request to it


@pytest.mark.parametrize("url, message", [
    ("http://127.0.0.1:8081/x", "only on the Jira site and to Atlassian's media hosts"),
    ("https://127.0.0.1:8080/x", "only on the Jira site"),  # another scheme is another origin
    ("http://localhost:8080/x", "only on the Jira site"),
    ("http://169.254.169.254/latest/meta-data/", "only on the Jira site"),
    ("http://api.media.atlassian.com.evil.example/x", "only on the Jira site"),
    ("file:///etc/passwd", "the file scheme"),
    ("http://user:pw@api.media.atlassian.com/x", "the URL carries credentials"),
])
async def test_policy_refuses(url: str, message: str) -> None:
    policy = replace(RedirectPolicy.for_site(SITE), resolver=resolving_to("104.192.142.1"))
    with pytest.raises(RedirectRefused, match=message):
        await policy.target(httpx2.URL(url))


async def test_policy_checks_every_address_of_a_media_host() -> None:
    public = replace(RedirectPolicy.for_site(SITE), resolver=resolving_to("104.192.142.1"))
    target = await public.target(httpx2.URL("https://api.media.atlassian.com/file/a/binary?token=t"))
    assert target.addresses == ("104.192.142.1",)

    async def mixed(host: str, port: int) -> list[str]:
        return ["104.192.142.1", "10.0.0.9"]

    with pytest.raises(RedirectRefused, match=r"resolves to 10\.0\.0\.9, a private address"):
        await replace(public, resolver=mixed).target(httpx2.URL("https://media-cdn.atlassian.com/f"))

    async def nowhere(host: str, port: int) -> list[str]:
        raise OSError(-2, "Name or service not known")

    with pytest.raises(RedirectRefused, match="the name does not resolve"):
        await replace(public, resolver=nowhere).target(httpx2.URL("https://api.media.atlassian.com/f"))


async def test_policy_refuses_a_downgrade_to_plain_http() -> None:
    policy = replace(RedirectPolicy.for_site("https://acme.atlassian.net"), resolver=resolving_to("104.192.142.1"))
    with pytest.raises(RedirectRefused, match="from https to plain http"):
        await policy.target(httpx2.URL("http://api.media.atlassian.com/f"),
                            came_from=httpx2.URL("https://acme.atlassian.net/rest/api/3/attachment/content/1"))
