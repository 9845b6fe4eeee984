"""Where a download may be redirected: the Jira site itself, or Atlassian's media hosts at public addresses.

Jira Cloud answers ``GET /rest/api/3/attachment/content/{id}`` with a 303 to
``https://api.media.atlassian.com/file/{uuid}/binary?token=...`` (a signed, credential-free
URL); Atlassian's media client serves the same files from ``media-cdn.atlassian.com``, its
CDN host for ``api.media.atlassian.com``. Data Center serves the file itself. A redirect
anywhere else is refused: a compromised or hostile site could otherwise make the server
fetch ``http://127.0.0.1:PORT/``, a cloud metadata endpoint or an internal address and hand
the body to the caller (server-side request forgery).

:meth:`RedirectPolicy.target` decides one hop. The Jira site's own origins are followed as
any request to the site is sent (whatever its address: a Data Center on a private network
or the sandbox on loopback). A media host is resolved once, every address it resolves to is
checked by :func:`address_refusal`, and the caller connects to a checked address, never to
the name again, so a second DNS answer cannot swap in another address.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field, replace

import anyio
import httpx2

from jiraplug.jira.errors import RedirectRefused

__all__ = [
    "ATLASSIAN_MEDIA_HOSTS",
    "METADATA_ADDRESSES",
    "RedirectPolicy",
    "RedirectTarget",
    "address_refusal",
    "resolve_host",
]

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Awaitable[list[str]]]
AddressCheck = Callable[[IPAddress], "str | None"]

ATLASSIAN_MEDIA_HOSTS = frozenset({"api.media.atlassian.com", "media-cdn.atlassian.com"})
"""Hosts Jira Cloud's attachment downloads are redirected to (Atlassian's media store and its CDN)."""

METADATA_ADDRESSES = frozenset(ipaddress.ip_address(a) for a in (
    "169.254.169.254",  # AWS, GCP, Azure, OpenStack, Oracle instance metadata
    "169.254.170.2",  # AWS ECS task metadata and credentials
    "fd00:ec2::254",  # AWS instance metadata over IPv6
    "100.100.100.200",  # Alibaba Cloud
    "192.0.0.192",  # Oracle Cloud Classic
))
"""Cloud instance-metadata endpoints, refused by name in messages (most are also link-local or private)."""

_NAT64 = ipaddress.ip_network("64:ff9b::/96")  # well-known NAT64 prefix: an IPv4 address in the low 32 bits
_MAX_REDIRECTS = 5


def address_refusal(address: IPAddress) -> str | None:
    """Why a download must not connect to ``address`` (``"a loopback address"``...), or ``None`` if it may.

    Only globally routable unicast addresses pass. An IPv6 address that carries an IPv4
    address (IPv4-mapped ``::ffff:a.b.c.d``, 6to4, Teredo, NAT64) is judged by that IPv4
    address as well.
    """
    for candidate in (*_embedded_ipv4(address), address):  # the IPv4 inside first: it names the real target
        reason = _refusal_of_one(candidate)
        if reason:
            return reason if candidate == address else f"{reason} ({candidate}, inside {address})"
    return None


def _refusal_of_one(address: IPAddress) -> str | None:
    if address in METADATA_ADDRESSES:
        return "a cloud metadata address"
    checks = (
        (address.is_unspecified, "an unspecified address"),
        (address.is_loopback, "a loopback address"),
        (address.is_link_local, "a link-local address"),
        (address.is_multicast, "a multicast address"),
        (address.is_private, "a private address"),
        (address.is_reserved, "a reserved address"),
        # Shared address space (100.64.0.0/10) and the like: neither private nor public.
        (not address.is_global, "an address that is not publicly routable"),
    )
    return next((reason for failed, reason in checks if failed), None)


def _embedded_ipv4(address: IPAddress) -> list[ipaddress.IPv4Address]:
    if not isinstance(address, ipaddress.IPv6Address):
        return []
    found = [address.ipv4_mapped, address.sixtofour, *(address.teredo or ())]
    if address in _NAT64:
        found.append(ipaddress.IPv4Address(int(address) & 0xFFFFFFFF))
    return [a for a in found if a is not None]


async def resolve_host(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, in the order to try them (the event loop's ``getaddrinfo``)."""
    answers = await anyio.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for _family, _kind, _proto, _name, sockaddr in answers:
        if sockaddr[0] not in addresses:
            addresses.append(str(sockaddr[0]))
    return addresses


@dataclass(frozen=True)
class RedirectTarget:
    """One allowed hop: ``url`` as Jira named it, and the checked addresses to connect to.

    ``addresses`` is empty for the Jira site itself, which is reached by name like every
    other request to it.
    """

    url: httpx2.URL
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True)
class RedirectPolicy:
    """Which redirects a download follows, and how many.

    ``sites``: origins of the configured Jira (its URL and, under OAuth, the REST gateway);
    ``hosts``: other host names allowed (:data:`ATLASSIAN_MEDIA_HOSTS`); ``resolver`` and
    ``address_check`` are the DNS lookup and the address rule (replaceable in tests).
    """

    sites: frozenset[tuple[str, str, int | None]]
    hosts: frozenset[str] = ATLASSIAN_MEDIA_HOSTS
    max_redirects: int = _MAX_REDIRECTS
    resolver: Resolver | None = field(default=None, compare=False)
    address_check: AddressCheck = field(default=address_refusal, compare=False)

    @classmethod
    def for_site(cls, *urls: str) -> RedirectPolicy:
        """The policy for a Jira reached at ``urls`` (the site URL, the REST base)."""
        return cls(sites=frozenset(_origin(httpx2.URL(url)) for url in urls))

    def with_sites(self, urls: Iterable[str]) -> RedirectPolicy:
        """The same rules for another set of site URLs (a client cloned for another credential)."""
        return replace(self, sites=frozenset(_origin(httpx2.URL(url)) for url in urls))

    def is_site(self, url: httpx2.URL) -> bool:
        """Whether ``url`` is on the configured Jira site (same scheme, host and port)."""
        return _origin(url) in self.sites

    async def target(self, url: httpx2.URL, *, came_from: httpx2.URL | None = None) -> RedirectTarget:
        """Check the redirect to ``url`` (from ``came_from``); raise :class:`RedirectRefused` unless allowed.

        Nothing is sent anywhere here; a media host's name is resolved (once).
        """
        where = describe_origin(url)
        if url.scheme not in ("http", "https"):
            raise RedirectRefused(f"refusing to follow Jira's redirect to the {url.scheme or 'empty'} scheme "
                                  f"({where}): only http and https are followed")
        if came_from is not None and came_from.scheme == "https" and url.scheme == "http":
            raise RedirectRefused(f"refusing to follow Jira's redirect from https to plain http ({where})")
        if url.userinfo:
            raise RedirectRefused(f"refusing to follow Jira's redirect to {where}: the URL carries credentials")
        if self.is_site(url):
            return RedirectTarget(url)
        if url.host not in self.hosts:
            raise RedirectRefused(
                f"refusing to follow Jira's redirect to {where}: downloads follow redirects only on the Jira "
                f"site and to Atlassian's media hosts ({', '.join(sorted(self.hosts))})"
            )
        port = url.port or (443 if url.scheme == "https" else 80)
        resolve = self.resolver or resolve_host
        try:
            addresses = await resolve(url.host, port)
        except OSError as exc:  # socket.gaierror: the name does not resolve here
            raise RedirectRefused(f"cannot follow Jira's redirect to {where}: the name does not resolve "
                                  f"({exc.strerror or exc})") from None
        if not addresses:
            raise RedirectRefused(f"cannot follow Jira's redirect to {where}: the name resolves to no address")
        for text in addresses:
            reason = self.address_check(ipaddress.ip_address(text))
            if reason:
                raise RedirectRefused(f"refusing to follow Jira's redirect to {where}: it resolves to {text}, "
                                      f"{reason}")
        return RedirectTarget(url, tuple(addresses))


def describe_origin(url: httpx2.URL) -> str:
    """``scheme://host[:port]`` of ``url``: enough to name it, without its path or signed query."""
    return f"{url.scheme}://{url.netloc.decode('ascii', 'replace').rpartition('@')[2]}"


def _origin(url: httpx2.URL) -> tuple[str, str, int | None]:
    return url.scheme, url.host, url.port
