"""The shared cache of several replicas: answers in Redis, kept fresh by versioned tags.

Keys (``P`` is ``[cache] redis_prefix``, as a hash tag ``{P}`` on a Redis Cluster; one Redis may
serve several sites):

- ``P c:<layer>:<key>``: one cached answer, a hash of its bytes (``b``), its tags (``t``) and
  the version each tag had when it was stored (``v``); it expires with its TTL.
- ``P t:<tag>``: the current version of a tag, a random token. A write sets a new token on
  every tag it touches (``*`` for "everything"), so an entry is valid only while all its
  tags, ``*`` included, still carry the tokens it recorded: a lookup checks that in the same
  script that reads the entry, and drops an entry that no longer matches.
- ``P w`` (epoch, sequence number of the latest write) and ``P wl`` (the latest writes and
  their tags): the write log of every replica. A read notes the sequence number when it
  misses; when it wants to store, a script refuses if a write since then named one of its
  tags (the "read overlapped a write" rule of :mod:`.writelog`, across replicas), and
  otherwise stores it with the current tokens, atomically.

So a write through any replica makes every replica miss on what it touches as soon as its
tokens are set, before and again after it is sent (before its tool result returns). Tokens
are random, never counters, so a tag key that was evicted (``maxmemory`` with
``allkeys-lru``) or lost (a restart) cannot come back with a value an old entry recorded:
such entries only miss. The scripts touch keys they compute from ``P``; on a Redis Cluster ``P``
is a hash tag, so all of them share one slot (:attr:`jiraplug.redis_link.RedisOptions.key_prefix`).

Redis failing never fails a read: a lookup that fails is a miss, a read whose write-log
position is unknown is not stored, and a write whose tokens could not be set is kept
(pending, bounded; beyond the bound: "everything") and applied first when Redis answers
again. Decoded bodies (the ``parsed`` layer) stay in process: they are keyed by the digest
of the bytes, so they cannot be stale.
"""

from __future__ import annotations

import json
import logging
import secrets
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any

from jiraplug.plugins.cache.store import Entry, LayerConfig, LayerStats
from jiraplug.redis_link import RedisLink, RedisUnavailable

log = logging.getLogger("jiraplug.plugins.cache")

EVERYTHING = "*"
"""The tag every entry carries: a write that explains nothing sets its token (clear all)."""
WRITE_LOG_SIZE = 4096
MAX_PENDING_TAGS = 1000
"""Tags of writes kept while Redis is unreachable; beyond that, "everything" is invalidated."""
_TAG_TTL_MARGIN_SECONDS = 3600.0

# Split a "\n"-joined list; MGET in chunks (Lua's unpack has a stack limit).
_LUA_HELPERS = """
local function split(s)
  local out = {}
  for part in string.gmatch(s, '[^\\n]+') do out[#out + 1] = part end
  return out
end
local function mark_of(wkey, epoch)
  local w = redis.call('HMGET', wkey, 'e', 's')
  if not w[1] then
    redis.call('HSET', wkey, 'e', epoch, 's', 0)
    return epoch .. ':0'
  end
  return w[1] .. ':' .. w[2]
end
"""

# KEYS: entry, writes. ARGV: prefix, epoch if none. -> {1, mark, blob} | {0, mark}
_LOOKUP = _LUA_HELPERS + """
local mark = mark_of(KEYS[2], ARGV[2])
local e = redis.call('HMGET', KEYS[1], 'b', 't', 'v')
if not e[1] then return {0, mark} end
local tags, toks = split(e[2]), split(e[3])
if #tags ~= #toks then redis.call('DEL', KEYS[1]); return {0, mark} end
local i = 1
while i <= #tags do
  local keys = {}
  for j = i, math.min(i + 499, #tags) do keys[#keys + 1] = ARGV[1] .. 't:' .. tags[j] end
  local current = redis.call('MGET', unpack(keys))
  for j = 1, #keys do
    if current[j] ~= toks[i + j - 1] then redis.call('DEL', KEYS[1]); return {0, mark} end
  end
  i = i + 500
end
return {1, mark, e[1]}
"""

# KEYS: entry, writes, write log. ARGV: prefix, since mark, ttl ms, blob, tags, fresh token,
# tag ttl ms, log size. -> 1 stored | 0 refused (a write since the read began names its tags)
_STORE = _LUA_HELPERS + """
local w = redis.call('HMGET', KEYS[2], 'e', 's')
if not w[1] then return 0 end
local sep = string.find(ARGV[2], ':', 1, true)
if string.sub(ARGV[2], 1, sep - 1) ~= w[1] then return 0 end
local since, seq = tonumber(string.sub(ARGV[2], sep + 1)), tonumber(w[2])
if seq < since then return 0 end
local tags = split(ARGV[5])
if seq > since then
  if seq - since > tonumber(ARGV[8]) then return 0 end
  local recent = redis.call('ZRANGEBYSCORE', KEYS[3], since + 1, '+inf')
  if #recent < seq - since then return 0 end
  local mine = {}
  for _, t in ipairs(tags) do mine[t] = true end
  for _, m in ipairs(recent) do
    local body = string.sub(m, string.find(m, '|', 1, true) + 1)
    for t in string.gmatch(body, '[^\\n]+') do
      if t == '*' or mine[t] then return 0 end
    end
  end
end
local toks = {}
for i, t in ipairs(tags) do
  local k = ARGV[1] .. 't:' .. t
  local v = redis.call('GET', k)
  if not v then
    v = ARGV[6]
    redis.call('SET', k, v, 'PX', ARGV[7])
  else
    redis.call('PEXPIRE', k, ARGV[7])
  end
  toks[i] = v
end
redis.call('DEL', KEYS[1])
redis.call('HSET', KEYS[1], 'b', ARGV[4], 't', ARGV[5], 'v', table.concat(toks, '\\n'))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return 1
"""

# KEYS: writes, write log. ARGV: prefix, new token, tag ttl ms, log size, epoch if none, tags...
_WRITE = _LUA_HELPERS + """
mark_of(KEYS[1], ARGV[5])
local seq = redis.call('HINCRBY', KEYS[1], 's', 1)
local tags = {}
for i = 6, #ARGV do
  tags[#tags + 1] = ARGV[i]
  redis.call('SET', ARGV[1] .. 't:' .. ARGV[i], ARGV[2], 'PX', ARGV[3])
end
redis.call('ZADD', KEYS[2], seq, seq .. '|' .. table.concat(tags, '\\n'))
redis.call('ZREMRANGEBYRANK', KEYS[2], 0, -(tonumber(ARGV[4]) + 1))
return seq
"""


def _token() -> str:
    return secrets.token_hex(12)


def encode(value: Any, wall_time: float) -> bytes:
    """A stored answer as bytes: a JSON header line, then the body as is."""
    header = {"s": value.status, "h": [list(pair) for pair in value.headers], "d": value.digest, "at": wall_time}
    return json.dumps(header, separators=(",", ":")).encode() + b"\n" + value.content


def decode(blob: bytes, make: Callable[..., Any]) -> tuple[Any, float]:
    """``(make(status, headers, content, digest), stored at wall time)`` from :func:`encode`'s bytes."""
    head, _, content = blob.partition(b"\n")
    header = json.loads(head)
    headers = tuple((str(name), str(value)) for name, value in header["h"])
    return make(header["s"], headers, content, header["d"]), float(header["at"])


class SharedCache:
    """The ``api`` and ``config`` layers of every replica, in Redis (see module docstring).

    ``make`` rebuilds a stored answer (the middleware's ``StoredResponse``); ``monotonic``
    and ``wall`` are the runtime's clocks (an entry's age is measured in wall time, the
    same on every replica).
    """

    def __init__(self, link: RedisLink, layers: dict[str, LayerConfig], prefix: str, *,
                 make: Callable[..., Any], monotonic: Callable[[], float], wall: Callable[[], float]) -> None:
        self.link = link
        self.layers = layers
        self.prefix = prefix
        self._make = make
        self._monotonic = monotonic
        self._wall = wall
        longest = max((cfg.ttl_seconds for cfg in layers.values() if cfg.enabled), default=0.0)
        self._tag_ttl_ms = int((longest + _TAG_TTL_MARGIN_SECONDS) * 1000)
        self._epoch = _token()
        self._scripts: dict[str, Any] = {}
        self._pending: set[str] | None = set()  # None: "everything" is pending
        self._has_pending = False
        self.stored: Counter[str] = Counter()
        self.refused = 0
        self.skipped_unavailable = 0
        link.on_recover(self._apply_pending)
        link.on_failover(self._after_failover)

    def _script(self, client: Any, name: str, source: str) -> Any:
        script = self._scripts.get(name)
        if script is None:
            script = self._scripts[name] = client.register_script(source)
        return script

    def _key(self, layer: str, key: str) -> str:
        return f"{self.prefix}c:{layer}:{key}"

    # ----------------------------------------------------------------- reads

    async def lookup(self, layer: str, key: str) -> tuple[Entry | None, str | None]:
        """The valid entry (or None) and the write-log position to store a fresh answer against.

        ``(None, None)`` when Redis cannot be asked: a miss, and an answer not to store.
        """
        if not self._layer_on(layer):
            return None, None
        entry_key = self._key(layer, key)
        try:
            found = await self.link.run("cache.lookup", lambda client: self._script(client, "lookup", _LOOKUP)(
                keys=[entry_key, f"{self.prefix}w"], args=[self.prefix, self._epoch]))
        except RedisUnavailable:
            self.skipped_unavailable += 1
            return None, None
        mark = _text(found[1])
        if not int(found[0]):
            return None, mark
        value, stored_wall = decode(found[2], self._make)
        age = max(0.0, self._wall() - stored_wall)
        return Entry(value, len(found[2]), stored_at=self._monotonic() - age), mark

    async def mark(self) -> str | None:
        """The current write-log position (None when Redis cannot be asked)."""
        return (await self.lookup("api", "-"))[1] if self._layer_on("api") else (await self.lookup("config", "-"))[1]

    async def store(self, layer: str, key: str, value: Any, tags: Iterable[str], ttl: float | None,
                    since: str) -> bool:
        """Store ``value`` unless a write since ``since`` named one of ``tags``; whether it was stored."""
        config = self.layers.get(layer)
        if config is None or not config.enabled:
            return False
        seconds = config.ttl_seconds if ttl is None else min(ttl, config.ttl_seconds)
        if seconds <= 0:
            return False
        all_tags = sorted({*tags, EVERYTHING})
        blob = encode(value, self._wall())
        args = [self.prefix, since, int(seconds * 1000), blob, "\n".join(all_tags), _token(), self._tag_ttl_ms,
                WRITE_LOG_SIZE]
        keys = [self._key(layer, key), f"{self.prefix}w", f"{self.prefix}wl"]
        try:
            ok = int(await self.link.run("cache.store", lambda client: self._script(client, "store", _STORE)(
                keys=keys, args=args)))
        except RedisUnavailable:
            self.skipped_unavailable += 1
            return False
        if ok:
            self.stored[layer] += 1
        else:
            self.refused += 1
        return bool(ok)

    # ---------------------------------------------------------------- writes

    async def invalidate(self, tags: set[str] | None) -> None:
        """New tokens for ``tags`` (``None``: everything) on every replica; kept for later if Redis fails."""
        if self._has_pending:
            self._add_pending(tags)
            try:
                await self.link.run("cache.invalidate", lambda client: self._apply_pending_on(client))
            except RedisUnavailable:
                pass
            return
        try:
            await self.link.run("cache.invalidate", lambda client: self._write(client, tags))
        except RedisUnavailable:
            self._add_pending(tags)

    async def _write(self, client: Any, tags: set[str] | None) -> None:
        names = [EVERYTHING] if tags is None or EVERYTHING in tags else sorted(tags)
        await self._script(client, "write", _WRITE)(
            keys=[f"{self.prefix}w", f"{self.prefix}wl"],
            args=[self.prefix, _token(), self._tag_ttl_ms, WRITE_LOG_SIZE, self._epoch, *names])

    def _add_pending(self, tags: set[str] | None) -> None:
        if not self._has_pending:
            log.warning("a write's cache invalidation could not reach Redis: it is applied when Redis answers "
                        "again, before this replica uses the shared cache")
        self._has_pending = True
        if tags is None or self._pending is None:
            self._pending = None
            return
        self._pending |= tags
        if len(self._pending) > MAX_PENDING_TAGS:
            self._pending = None

    async def _after_failover(self, client: Any) -> None:
        """Another primary (Sentinel): it may lack the last writes' tokens, so every entry is suspect.

        Kept pending if this fails, like a write during an outage, and applied when Redis answers.
        """
        self._pending, self._has_pending = None, True
        await self._apply_pending_on(client)

    async def _apply_pending(self) -> None:
        """Called by the link when an outage ends, before any other command."""
        if self._has_pending:
            await self._apply_pending_on(self.link.client)

    async def _apply_pending_on(self, client: Any) -> None:
        pending = self._pending
        await self._write(client, None if pending is None else set(pending))
        self._pending, self._has_pending = set(), False

    @property
    def pending(self) -> bool:
        """Whether writes made during an outage still wait to invalidate the shared cache."""
        return self._has_pending

    # ----------------------------------------------------------------- stats

    def _layer_on(self, layer: str) -> bool:
        config = self.layers.get(layer)
        return config is not None and config.enabled

    def stats(self) -> dict[str, LayerStats]:
        """Per layer: entries this replica stored (Redis keeps the real count; see ``INFO keyspace``)."""
        return {name: LayerStats(entries=self.stored[name], bytes=0, capacity=cfg.capacity,
                                 ttl_seconds=cfg.ttl_seconds)
                for name, cfg in self.layers.items() if name != "parsed"}

    def snapshot(self) -> dict[str, Any]:
        """The backend's figures for ``jiraplug://cache``."""
        return {"kind": "redis", **self.link.snapshot(), "prefix": self.prefix,
                "stored": sum(self.stored.values()), "not_stored_after_write": self.refused,
                "skipped_while_unavailable": self.skipped_unavailable,
                "invalidations_pending": self._has_pending}


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)
