"""One Redis connection shared by the plugins that keep their state there (cache, ratelimit).

Replicas of jiraplug share their cache and rate budget through Redis (``[cache] backend =
"redis"``, ``[ratelimit] backend = "redis"``). Redis is a helper, never a dependency of a
call: every command runs under ``redis_timeout_seconds``, and a failure raises
:class:`RedisUnavailable`, which the plugins turn into their local fallback (a cache miss;
each replica's local share of the rate budget). :class:`RedisLink` tracks the outage:

- the first failure logs one warning (the host, never the password) and starts an outage;
- during an outage commands fail at once, without waiting for a timeout, except one probe
  every ``PROBE_INTERVAL_SECONDS``; the probe's success ends the outage (logged once, at info);
- ``jiraplug.redis.available`` (gauge, 1/0) and ``jiraplug.redis.failures`` (counter) report
  it; the alerting plugin's ``redis_unavailable`` rule reads :func:`links_of`.

Every operation (one script or command, named by the caller: ``cache.lookup``,
``ratelimit.admit``...) is a CLIENT span ``redis <operation>`` under the current span and a
point of ``db.client.operation.duration``, with ``db.system.name = redis``, the server and,
when it failed, ``error.type`` (OpenTelemetry's database conventions).

Links live on the runtime (one per URL and password; the cache and ratelimit plugins share
one when they point at the same Redis). The ``redis`` package is optional
(``pip install 'jiraplug[redis]'``); :func:`require_redis_package` says so at start-up.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Meter, Observation
from opentelemetry.trace import Span, SpanKind, Status, StatusCode, Tracer
from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator

from jiraplug.redis_url import (
    check_cluster_url,
    check_url,
    database_of,
    display_url,
    is_sentinel,
    parse_sentinel,
    server_of,
)
from jiraplug.telemetry import once_per_meter

if TYPE_CHECKING:
    from jiraplug.runtime import Runtime

log = logging.getLogger("jiraplug.redis")

T = TypeVar("T")

PROBE_INTERVAL_SECONDS = 1.0
"""During an outage, how often one command is let through to see whether Redis is back."""
PRIMARY_CHECK_SECONDS = 1.0
"""Through Sentinel, how often the sentinels are asked which primary they name."""
INSTALL_HINT = "pip install 'jiraplug[redis]'"
# redis-py's errors for a cluster node's answers: MOVED/ASK (a key on another node) and CROSSSLOT
# (keys of several slots in one command: what a cluster node says to our untagged scripts).
_CLUSTER_ANSWERS = ("MovedError", "AskError", "ClusterCrossSlotError")
_REGISTRY = "jiraplug.redis_link"


class RedisUnavailable(Exception):
    """Redis did not answer in time, refused, or is in an outage (the caller falls back).

    ``error_type``: why, for telemetry: ``timeout``, ``outage`` (failed fast) or the error's class name.
    """

    def __init__(self, message: str, error_type: str = "outage") -> None:
        super().__init__(message)
        self.error_type = error_type


def require_redis_package() -> None:
    """Raise ``ValueError`` naming the install command when the ``redis`` package is missing."""
    try:
        import redis.asyncio  # noqa: F401
    except ImportError:
        raise ValueError(f'backend = "redis" needs the redis package, which is not installed: {INSTALL_HINT}') from None


class RedisOptions(BaseModel):
    """Settings of a plugin that may keep its state in Redis (mixed into its settings table).

    The URL is a secret (it may carry a password); so is ``redis_password``, which may come
    from a file instead (``redis_password_file``, e.g. a mounted Kubernetes or Docker secret).
    """

    backend: Literal["memory", "redis"] = Field(
        default="memory", description='Where the state lives: "memory" (this process) or "redis" (shared by replicas)'
    )
    redis_url: SecretStr | None = Field(
        default=None, description="redis://host:6379/0, rediss:// for TLS, unix:///path, or "
                                  "redis+sentinel://host:26379[,host:26379]/service/0; may carry a password (secret)"
    )
    redis_password: SecretStr | None = Field(default=None, description="Redis password, if not in the URL (secret)")
    redis_password_file: Path | None = Field(default=None, description="File holding the Redis password")
    redis_prefix: str = Field(
        default="jiraplug:", min_length=1, max_length=100,
        description="Prefix of every key, so several sites can share one Redis",
    )
    redis_timeout_seconds: float = Field(
        default=0.25, gt=0, le=30, description="Timeout of every Redis command; past it the local fallback applies"
    )
    redis_cluster: bool = Field(
        default=False,
        description="redis_url names a node of a Redis Cluster (cluster mode on): the client finds the others, "
                    "and every key carries the prefix as a hash tag, {prefix}, so it lives in one slot",
    )
    redis_sentinel_password: SecretStr | None = Field(
        default=None, description="With a redis+sentinel:// URL: the sentinels' own password, if they require one "
                                  "(the URL's password is the primary's) (secret)",
    )

    @field_validator("redis_url", mode="before")
    @classmethod
    def _check_redis_url(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        text = value.get_secret_value() if isinstance(value, SecretStr) else str(value)
        return check_url(text)  # never echoes the value: it may carry a password

    @model_validator(mode="after")
    def _check_backend(self) -> Any:
        if self.redis_password_file is not None and self.redis_password is None:
            try:
                secret = self.redis_password_file.read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise ValueError(f"redis_password_file {str(self.redis_password_file)!r}: cannot read: "
                                 f"{exc.strerror}") from None
            if not secret:
                raise ValueError(f"redis_password_file {str(self.redis_password_file)!r} is empty")
            self.redis_password = SecretStr(secret)
        if self.backend == "redis":
            if self.redis_url is None:
                raise ValueError('backend = "redis" needs redis_url (e.g. redis://redis:6379/0)')
            require_redis_package()
        if self.redis_cluster and self.redis_url is not None:
            check_cluster_url(self.redis_url.get_secret_value())
        return self

    @property
    def key_prefix(self) -> str:
        """The prefix of every key; on a cluster, a hash tag that keeps a plugin's keys in one slot.

        The plugins' Lua scripts touch several keys at once (an entry, its tags, the write log),
        which a cluster allows only within one slot. A prefix that already holds a tag
        (``{team-a}:``) is used as it is.
        """
        if not self.redis_cluster or _hash_tag(self.redis_prefix):
            return self.redis_prefix
        return "{" + self.redis_prefix + "}"


def _hash_tag(key: str) -> str:
    """The part of ``key`` Redis Cluster hashes: between the first ``{`` and the next ``}``, if not empty."""
    start = key.find("{")
    end = key.find("}", start + 1) if start >= 0 else -1
    return key[start + 1:end] if end > start + 1 else ""


# OpenTelemetry's database conventions: the duration metric and the attributes of a Redis operation.
DB_OPERATION_DURATION = "db.client.operation.duration"
_DB_DURATION_BUCKETS = (0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 10)
OPERATION_ATTRIBUTE = "jiraplug.redis.operation"


@dataclass(frozen=True)
class _Instruments:
    failures: Counter
    duration: Histogram


@once_per_meter
def _instruments(meter: Meter) -> _Instruments:
    meter.create_observable_gauge(
        "jiraplug.redis.available", callbacks=[_observe_available], unit="1",
        description="1 while the shared Redis answers, 0 during an outage (state falls back to each replica)",
    )
    return _Instruments(
        failures=meter.create_counter(
            "jiraplug.redis.failures", unit="{command}",
            description="Redis commands that failed or timed out (the call went on with the local fallback)",
        ),
        duration=meter.create_histogram(
            DB_OPERATION_DURATION, unit="s", description="Duration of database client operations.",
            explicit_bucket_boundaries_advisory=list(_DB_DURATION_BUCKETS),
        ),
    )


def _server_attributes(url: str) -> dict[str, Any]:
    """``db.system.name``, ``db.namespace`` and the server: its host and port, or the socket path.

    Through Sentinel the primary is known only once resolved (and changes on a failover): no server.
    """
    attributes: dict[str, Any] = {"db.system.name": "redis", "db.namespace": database_of(url)}
    server = server_of(url)
    if server is not None:
        attributes["server.address"] = server[0]
        if server[1] is not None:
            attributes["server.port"] = server[1]
    return attributes


_links: weakref.WeakSet[RedisLink] = weakref.WeakSet()


def _observe_available(_options: CallbackOptions) -> Iterable[Observation]:
    return [Observation(1 if link.available else 0, {"redis": link.display}) for link in list(_links)]


class RedisLink:
    """A Redis client with timeouts, outage tracking and a once-per-outage warning.

    ``cluster``: ``url`` names a node of a Redis Cluster (``redis.asyncio.RedisCluster``).
    """

    def __init__(self, url: str, *, password: str | None = None, timeout: float = 0.25,
                 meter: Meter | None = None, clock: Callable[[], float] = time.monotonic,
                 cluster: bool = False, tracer: Tracer | None = None, sentinel_password: str | None = None) -> None:
        self.display = display_url(url)
        self.timeout = timeout
        self.cluster = cluster
        self._sentinel_password = sentinel_password
        self._sentinels: Any = None  # redis-py's Sentinel, with a sentinel URL
        self._primary: Any = None  # the primary's address as the sentinels last named it
        self._next_primary_check = 0.0
        self._on_failover: list[Callable[[Any], Awaitable[None]]] = []
        self._url = url
        self._password = password
        self._clock = clock
        self._client: Any = None
        self.available = True
        self.outages = 0
        self.failures = 0
        self._down_since: float | None = None
        self._next_probe = 0.0
        self._last_error = ""
        self._instruments = _instruments(meter) if meter is not None else None
        self._tracer = tracer
        self._attributes = _server_attributes(url)
        self._on_recover: list[Callable[[], Awaitable[None]]] = []
        _links.add(self)

    @property
    def client(self) -> Any:
        """The ``redis.asyncio.Redis`` (or ``RedisCluster``) client, made on first use."""
        if self._client is None:
            import redis.asyncio as aioredis

            kwargs: dict[str, Any] = {"socket_timeout": self.timeout, "socket_connect_timeout": self.timeout,
                                      "health_check_interval": 0}
            if self._password is not None:
                kwargs["password"] = self._password
            if self.cluster:
                # Our timeout bounds each command; the cluster client's own retries stay within it.
                self._client = aioredis.RedisCluster.from_url(self._url, **kwargs)
            elif is_sentinel(self._url):
                self._client = self._through_sentinel()
            else:
                self._client = aioredis.from_url(self._url, retry_on_timeout=False, **kwargs)
        return self._client

    def _through_sentinel(self) -> Any:
        """A client of the primary the sentinels name; it asks them again when the primary fails over."""
        from redis.asyncio.sentinel import Sentinel

        found = parse_sentinel(self._url)
        # redis-py asks the sentinels in turn: a hung one must leave time for the next and the primary.
        ask = self.timeout / (len(found.sentinels) + 1)
        sentinel_options = {"socket_timeout": ask, "socket_connect_timeout": ask, "ssl": found.tls}
        if self._sentinel_password:
            sentinel_options["password"] = self._sentinel_password
        primary_auth = {"username": found.username, "password": found.password or self._password}
        self._sentinels = Sentinel(found.sentinels, sentinel_kwargs=sentinel_options)
        return self._sentinels.master_for(
            found.service, db=found.db, health_check_interval=0, retry_on_timeout=False, ssl=found.tls,
            socket_timeout=self.timeout, socket_connect_timeout=self.timeout,
            **{k: v for k, v in primary_auth.items() if v})

    def on_failover(self, callback: Callable[[Any], Awaitable[None]]) -> None:
        """Run ``callback(client)`` (before the command) when the sentinels name another primary."""
        self._on_failover.append(callback)

    async def _follow_the_primary(self, client: Any) -> None:
        """Through Sentinel, ask (at most once a second) which primary the sentinels name now.

        redis-py asks again only for new connections, so after a failover that left the old
        primary running (a planned one, a partition) pooled connections kept writing to it, and
        those writes were lost when it became a replica. A new address drops the idle
        connections, and the failover callbacks run: replication is asynchronous, so the promoted
        replica may lack the last writes (the cache then invalidates everything).
        """
        now = self._clock()
        if self._sentinels is None or now < self._next_primary_check:
            return
        address = await client.connection_pool.get_master_address()
        self._next_primary_check = now + PRIMARY_CHECK_SECONDS
        moved, self._primary = self._primary is not None and address != self._primary, address
        if moved:
            log.warning("Redis Sentinel names another primary for %s: shared state continues there", self.display)
            for callback in list(self._on_failover):
                await callback(client)

    def on_recover(self, callback: Callable[[], Awaitable[None]]) -> None:
        """Run ``callback`` (before anything else) when an outage ends."""
        self._on_recover.append(callback)

    async def run(self, what: str, command: Callable[[Any], Awaitable[T]]) -> T:
        """``await command(client)`` within the timeout; :class:`RedisUnavailable` if it fails.

        During an outage this fails at once, except for one probe per ``PROBE_INTERVAL_SECONDS``.
        """
        probing = False
        if not self.available:
            now = self._clock()
            if now < self._next_probe:
                raise RedisUnavailable(f"Redis at {self.display} is unavailable ({self._last_error})")
            self._next_probe = now + PROBE_INTERVAL_SECONDS
            probing = True
        # A CLIENT span under the tool call and a duration per operation, as OpenTelemetry's
        # database conventions have them (the span is a no-op when no tracer provider is set).
        attributes = {**self._attributes, OPERATION_ATTRIBUTE: what}
        span = self._tracer.start_span(f"redis {what}", kind=SpanKind.CLIENT, attributes=attributes) \
            if self._tracer is not None else None
        started = time.perf_counter()
        error_type: str | None = "cancelled"  # unless it ends otherwise: the caller was cancelled meanwhile
        try:
            result = await self._attempt(what, command, probing)
            error_type = None
        except RedisUnavailable as exc:
            error_type = exc.error_type
            raise
        finally:
            self._observed(attributes, started, span, error_type)
        # Only a command sent during the outage (the probe) ends it: one sent before, answered
        # after another had failed, says nothing about Redis now (it would end the outage at
        # once, and the next failure would warn a second time).
        if probing and not self.available:
            self._recovered()
        return result

    async def _attempt(self, what: str, command: Callable[[Any], Awaitable[T]], probing: bool) -> T:
        """The command (after the recovery steps when probing), its failure as :class:`RedisUnavailable`."""
        try:
            async with asyncio.timeout(self.timeout):
                client = self.client
                await self._follow_the_primary(client)
                if probing:
                    for callback in list(self._on_recover):
                        await callback_in_outage(callback)
                return await command(client)
        except RedisUnavailable as exc:
            self._failed(what, f"recovery step: {exc}")
            raise
        except Exception as exc:  # noqa: BLE001 - timeouts, sockets, redis-py's own errors (ResponseError...)
            error = _describe(exc)
            if not self.cluster and type(exc).__name__ in _CLUSTER_ANSWERS:
                error += " (this Redis is a cluster node: set redis_cluster = true)"
            self._failed(what, error)
            raise RedisUnavailable(f"Redis at {self.display}: {error}", _error_type(exc)) from None

    def _observed(self, attributes: dict[str, Any], started: float, span: Span | None,
                  error_type: str | None) -> None:
        """Record one operation's duration (and end its span), with ``error.type`` when it failed."""
        if error_type is not None:
            attributes["error.type"] = error_type
        if self._instruments is not None:
            self._instruments.duration.record(time.perf_counter() - started, attributes)
        if span is not None:
            if error_type is not None:
                span.set_attribute("error.type", error_type)
                span.set_status(Status(StatusCode.ERROR))
            span.end()

    def _failed(self, what: str, error: str) -> None:
        self.failures += 1
        self._last_error = error
        if self._instruments is not None:
            self._instruments.failures.add(1, {"redis": self.display, "command": what})
        if self.available:
            self.available = False
            self.outages += 1
            self._down_since = self._clock()
            self._next_probe = self._down_since + PROBE_INTERVAL_SECONDS
            log.warning("Redis at %s is unavailable (%s, during %s): the cache falls back to Jira and rate limits "
                        "to this replica's share until it answers again", self.display, error, what)

    def _recovered(self) -> None:
        down_for = self._clock() - (self._down_since or self._clock())
        self.available, self._down_since = True, None
        log.info("Redis at %s answers again after %.1f s: shared state resumes", self.display, down_for)

    def down_for(self) -> float | None:
        """Seconds since the current outage began (None: Redis answers)."""
        return None if self._down_since is None else self._clock() - self._down_since

    def snapshot(self) -> dict[str, Any]:
        """Health figures, JSON-ready (no secret)."""
        return {"redis": self.display, "available": self.available, "outages": self.outages,
                "failed_commands": self.failures,
                "down_for_seconds": None if self._down_since is None else round(self.down_for() or 0.0, 3),
                "last_error": self._last_error or None}

    async def aclose(self) -> None:
        """Close the connections (safe to call twice)."""
        client, self._client = self._client, None
        sentinels, self._sentinels = self._sentinels, None
        for closable in (client, sentinels):
            if closable is not None:
                try:
                    await closable.aclose()
                except Exception:  # noqa: BLE001 - closing a dead connection must not fail shutdown
                    pass


async def callback_in_outage(callback: Callable[[], Awaitable[None]]) -> None:
    """Run a recovery step; its failure keeps the outage going."""
    try:
        await callback()
    except RedisUnavailable:
        raise
    except Exception as exc:  # noqa: BLE001
        raise RedisUnavailable(_describe(exc), _error_type(exc)) from None


def _error_type(exc: BaseException) -> str:
    """``error.type`` of a failed operation: ``timeout`` (ours or redis-py's), else the error's class."""
    return "timeout" if type(exc).__name__ == "TimeoutError" else type(exc).__name__


def _describe(exc: BaseException) -> str:
    if isinstance(exc, TimeoutError):
        return "no answer within the timeout"
    text = str(exc).splitlines()[0] if str(exc) else ""
    if type(exc).__name__ == "MasterNotFoundError":  # redis-py appends the sentinels' client reprs: drop them
        text = text.split(" : ", 1)[0] + (" (do the sentinels answer, watch that service, and need "
                                          "redis_sentinel_password?)")
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__


def link_for(runtime: Runtime, options: RedisOptions) -> RedisLink:
    """The runtime's link to the Redis ``options`` name (one per URL and password, shared by plugins)."""
    assert options.redis_url is not None
    url = options.redis_url.get_secret_value()
    password = options.redis_password.get_secret_value() if options.redis_password else None
    sentinel_password = (options.redis_sentinel_password.get_secret_value()
                         if options.redis_sentinel_password else None)
    identity = f"{url}\0{password}\0{options.redis_timeout_seconds}\0{options.redis_cluster}\0{sentinel_password}"
    digest = hashlib.blake2b(identity.encode(), digest_size=8).hexdigest()
    links: dict[str, RedisLink] = runtime.plugin_state(_REGISTRY, dict)
    link = links.get(digest)
    if link is None:
        link = links[digest] = RedisLink(url, password=password, timeout=options.redis_timeout_seconds,
                                         meter=runtime.telemetry.meter, clock=runtime.clock.monotonic,
                                         cluster=options.redis_cluster, tracer=runtime.telemetry.tracer,
                                         sentinel_password=sentinel_password)
    return link


def links_of(runtime: Runtime) -> list[RedisLink]:
    """Every Redis link the runtime's plugins opened (for health checks and alert rules)."""
    links = runtime.plugin_state(_REGISTRY)
    return list(links.values()) if links else []


def redis_down_seconds(runtime: Runtime) -> float:
    """How long the longest current outage of the runtime's Redis links has lasted (0: none down)."""
    down = [link.down_for() for link in links_of(runtime)]
    return max((d for d in down if d is not None), default=0.0)


async def close_links(runtime: Runtime) -> None:
    """Close every link of the runtime (each plugin's ``shutdown`` may call it; idempotent)."""
    for link in links_of(runtime):
        await link.aclose()
