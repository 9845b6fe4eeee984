"""Redis URLs: a single server, a Unix socket, or a primary found through Redis Sentinel.

- ``redis://[[user]:password@]host[:port][/db]``, ``rediss://`` for TLS, ``unix:///path``;
- ``redis+sentinel://[[user]:password@]host:port[,host:port...]/service[/db]`` (``rediss+sentinel://``
  for TLS): the sentinels to ask, the name of the primary they watch (``sentinel monitor
  <service> ...``) and the database. The user and password are the primary's.

A URL may carry a password, so nothing here ever repeats one: :func:`check_url` says what is
wrong in general terms, :func:`display_url` drops the credentials.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, unquote, urlsplit

SCHEMES = ("redis", "rediss", "unix")
SENTINEL_SCHEMES = ("redis+sentinel", "rediss+sentinel")
_FORMS = "redis://host:6379/0, rediss://host:6380/0, unix:///path or redis+sentinel://host:26379/service/0"
_ENCODE = "percent-encode '/', '@' and ':' in a password"


@dataclass(frozen=True)
class SentinelURL:
    """A ``redis+sentinel://`` URL, taken apart."""

    sentinels: tuple[tuple[str, int], ...]
    service: str
    db: int
    username: str | None
    password: str | None
    tls: bool


def is_sentinel(url: str) -> bool:
    """Whether ``url`` names a primary through Redis Sentinel."""
    return url.split("://", 1)[0].lower() in SENTINEL_SCHEMES


def check_url(url: str) -> str:
    """``url`` stripped, or ``ValueError`` saying what is wrong (never repeating the URL)."""
    url = url.strip()
    if is_sentinel(url):
        parse_sentinel(url)
        return url
    parts = urlsplit(url)
    if parts.scheme not in SCHEMES or (parts.scheme != "unix" and not parts.hostname):
        raise ValueError(f"not a Redis URL; expected {_FORMS}")
    if parts.scheme != "unix" and not (_port_parses(parts) and re.fullmatch(r"/?\d*", parts.path)):
        # e.g. a password with an unencoded "/" moved part of itself into the port or the path
        raise ValueError(f"not a Redis URL: expected redis://[user:password@]host[:port][/db] with a numeric "
                         f"port and database; {_ENCODE}")
    return url


def check_cluster_url(url: str) -> None:
    """``ValueError`` unless ``url`` can name a Redis Cluster node (TCP, database 0)."""
    if is_sentinel(url):
        raise ValueError("redis_cluster = true and a redis+sentinel:// URL exclude each other: a cluster "
                         "fails over by itself; give the URL of one of its nodes")
    if urlsplit(url).scheme == "unix":
        raise ValueError("redis_cluster needs a redis:// or rediss:// URL of a cluster node, not unix://")
    if database_of(url) != "0":
        raise ValueError("redis_cluster needs database 0, the only one a Redis Cluster has "
                         "(leave redis_url's path out or use /0)")


def server_of(url: str) -> tuple[str, int | None] | None:
    """The server ``url`` names: host and port, or the socket path and None; None through Sentinel."""
    if is_sentinel(url):
        return None
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return parts.path, None
    return parts.hostname or "", parts.port or 6379


def parse_sentinel(url: str) -> SentinelURL:
    """The parts of a ``redis+sentinel://`` URL, or ``ValueError`` (never repeating the URL)."""
    scheme, _, rest = url.strip().partition("://")
    authority, _, path = rest.partition("/")
    credentials, _, hosts = authority.rpartition("@")
    username, _, password = credentials.partition(":") if credentials else ("", "", "")
    if "?" in rest or "#" in rest:
        raise ValueError("a redis+sentinel:// URL takes no query or fragment: rediss+sentinel:// checks "
                         f"certificates against the system's CAs; {_ENCODE}")
    sentinels = []
    for host in hosts.split(","):
        name, _, port = host.strip().rpartition(":")
        if not name or not (port.isascii() and port.isdigit()) or not 0 < int(port) < 65536:
            raise ValueError("a redis+sentinel:// URL lists its sentinels as host:port[,host:port...] "
                             f"(e.g. redis+sentinel://sentinel:26379/mymaster/0); {_ENCODE}")
        sentinels.append((name.strip("[]"), int(port)))
    service, _, db = path.partition("/")
    if not service or set(service) & set("@:") or not re.fullmatch(r"[0-9]*", db.strip("/")):
        raise ValueError("a redis+sentinel:// URL names the primary's service and database after the sentinels: "
                         f"redis+sentinel://host:26379/<service>[/<db>]; {_ENCODE}")
    return SentinelURL(sentinels=tuple(sentinels), service=unquote(service), db=int(db.strip("/") or 0),
                       username=unquote(username) or None, password=unquote(password) or None,
                       tls=scheme.lower() == "rediss+sentinel")


def display_url(url: str) -> str:
    """The URL without user or password (for logs, metrics and snapshots)."""
    if is_sentinel(url):
        found = parse_sentinel(url)
        hosts = ",".join(f"{_host(host)}:{port}" for host, port in found.sentinels)
        return f"{url.split('://', 1)[0]}://{hosts}/{found.service}/{found.db}"
    parts = urlsplit(url)
    if parts.scheme == "unix":
        return f"unix://{parts.path}"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{_host(parts.hostname or '')}{port}{parts.path}"


def _host(name: str) -> str:
    """``name`` as a URL writes it: an IPv6 address in brackets."""
    return f"[{name}]" if ":" in name else name


def database_of(url: str) -> str:
    """The database number ``url`` selects (``0`` when it names none; the socket URL's own)."""
    if is_sentinel(url):
        return str(parse_sentinel(url).db)
    parts = urlsplit(url)
    return parts.path.strip("/") or "0" if parts.scheme != "unix" else "0"


def _port_parses(parts: SplitResult) -> bool:
    try:
        parts.port  # noqa: B018 - parsing it is the check
    except ValueError:
        return False
    return True
