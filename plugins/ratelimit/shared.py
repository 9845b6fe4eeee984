"""The rate budget, Jira's pushback and the breaker, shared by every replica through Redis.

With ``[ratelimit] backend = "redis"`` each attempt asks one Lua script (atomic in Redis, on
Redis's own clock, so replicas need no synchronised clocks) for its turn:

- **budgets**: a GCRA reservation (a token bucket that keeps only its "theoretical arrival
  time") on the global bucket and on the credential's, so N replicas together send at most
  ``rate_limit_requests_per_second`` (and each credential its own rate); a request waits
  the time the script names instead of polling;
- **pause**: after a 429 (or 503 with ``Retry-After``) seen by any replica, nothing is
  scheduled for that credential before the time Jira named;
- **adaptive rate**: after a 429 the cut rate is stored for the credential (the rate the
  replicas together were sending at, times ``adaptive_factor``, climbing back over
  ``adaptive_recovery_seconds``) and paces every replica's requests together (burst 1);
- **breaker**: outcomes per Jira site are counted in shared time slots, and the state
  (closed, open, half-open with one probe at a time across replicas) is shared.

Each replica also registers itself (a heartbeat in a sorted set), so when Redis fails it
knows how many replicas share the budget and falls back to its own share (the rate divided
by the replicas last seen). Every method returns ``None`` (or raises
:class:`~jiraplug.redis_link.RedisUnavailable`) when Redis cannot be asked: the controller
then uses its local buckets, throttle and breaker.
"""

from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from typing import Any

from jiraplug.plugins.ratelimit.breaker import SLOTS, BreakerState
from jiraplug.plugins.ratelimit.settings import RateLimitSettings
from jiraplug.plugins.ratelimit.throttle import MIN_ADAPTIVE_RATE
from jiraplug.redis_link import RedisLink, RedisUnavailable

HEARTBEAT_MS = 15_000
"""A replica not heard of for this long no longer counts in the budget's share."""
PROBE_LEASE_MS = 60_000
"""How long a half-open breaker's probe holds its slot if its replica dies before reporting."""

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
"""

# KEYS: global tat, credential tat, pace tat, pause, adaptive, replicas.
# ARGV: global rate, global burst, credential rate, credential burst, replica id, sent-counter prefix.
_ACQUIRE = _NOW + """
redis.call('ZADD', KEYS[6], now, ARGV[5])
redis.call('ZREMRANGEBYSCORE', KEYS[6], '-inf', now - %(heartbeat)d)
redis.call('PEXPIRE', KEYS[6], %(heartbeat)d * 4)
local replicas = redis.call('ZCARD', KEYS[6])
local pause = tonumber(redis.call('GET', KEYS[4]) or '0')
local at = math.max(now, pause)
local function reserve(key, rate, burst, start)
  if rate <= 0 then return start end
  local interval = 1000 / rate
  local tat = math.max(tonumber(redis.call('GET', key) or '0'), start) + interval
  redis.call('SET', key, tostring(tat), 'PX', math.ceil(tat - now + (burst + 1) * interval + 1000))
  return math.max(start, tat - burst * interval)
end
at = reserve(KEYS[1], tonumber(ARGV[1]), tonumber(ARGV[2]), at)
at = reserve(KEYS[2], tonumber(ARGV[3]), tonumber(ARGV[4]), at)
local rate = -1
local a = redis.call('HMGET', KEYS[5], 'r', 'cut', 'slope', 'ceil', 'rec')
if a[1] then
  local elapsed = math.max(0, (now - tonumber(a[2])) / 1000)
  local r = tonumber(a[1]) + tonumber(a[3]) * elapsed
  if r >= tonumber(a[4]) and elapsed >= tonumber(a[5]) then
    redis.call('DEL', KEYS[5])
  else
    rate = math.min(r, tonumber(a[4]))
    at = reserve(KEYS[3], rate, 1, at)
  end
end
local second = ARGV[6] .. math.floor(at / 1000)
redis.call('INCR', second)
redis.call('PEXPIRE', second, 5000)
return {tostring(at - now), tostring(pause - now), replicas, tostring(rate), tostring(at)}
""" % {"heartbeat": HEARTBEAT_MS}

# KEYS: pause. ARGV: seconds from now.
_PAUSE = _NOW + """
local until_ms = now + tonumber(ARGV[1]) * 1000
local current = tonumber(redis.call('GET', KEYS[1]) or '0')
if until_ms > current then
  redis.call('SET', KEYS[1], tostring(until_ms), 'PX', math.ceil(until_ms - now) + 1000)
end
return 1
"""

# KEYS: adaptive. ARGV: sent at (ms, Redis time), factor, recovery s, baseline, advertised (-1: none),
# sent-counter prefix. -> 1 cut | 0 not (sent before the last cut, or adaptation off)
_CUT = _NOW + """
local a = redis.call('HMGET', KEYS[1], 'r', 'cut', 'slope', 'ceil', 'rec')
local sent_at, factor, rec = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local baseline, advertised = tonumber(ARGV[4]), tonumber(ARGV[5])
if a[2] and sent_at <= tonumber(a[2]) then return 0 end
if factor >= 1 and advertised < 0 then return 0 end
local second = math.floor(sent_at / 1000)
local observed = math.max(1, tonumber(redis.call('GET', ARGV[6] .. second) or '0'),
                         tonumber(redis.call('GET', ARGV[6] .. (second - 1)) or '0'))
local current = math.huge
if a[1] then
  current = math.min(tonumber(a[1]) + tonumber(a[3]) * math.max(0, (now - tonumber(a[2])) / 1000), tonumber(a[4]))
end
local cap = math.huge
if baseline > 0 then cap = baseline end
local before = math.min(observed, current, cap)
local floor = %(min_rate)s
if baseline > 0 then floor = math.min(floor, baseline) end
local reduced = math.max(floor, before * factor)
local ceiling = before
if baseline > 0 then ceiling = baseline end
if advertised >= 0 then
  reduced = math.min(reduced, advertised)
  ceiling = math.min(ceiling, advertised)
end
local slope = math.max(before - reduced, %(min_rate)s) / rec
ceiling = math.max(ceiling, reduced)
redis.call('HSET', KEYS[1], 'r', tostring(reduced), 'cut', tostring(now), 'slope', tostring(slope),
           'ceil', tostring(ceiling), 'rec', tostring(rec))
redis.call('PEXPIRE', KEYS[1], math.ceil(rec * 1000 * 4 + 60000))
return 1
""" % {"min_rate": repr(float(MIN_ADAPTIVE_RATE))}

# KEYS: breaker. ARGV: claim (0/1), cooldown ms, probe lease ms.
# -> {0 admitted | 1 admitted as the probe | 2 refused, retry in ms, failures, outcomes, transition}
_ADMIT = _NOW + """
local b = redis.call('HMGET', KEYS[1], 'st', 'opened', 'probe', 'f', 'o')
local st = tonumber(b[1] or '0')
if st == 0 then return {0, '0', 0, 0, ''} end
local f, o = tonumber(b[4] or '0'), tonumber(b[5] or '0')
local moved = ''
if st == 2 then
  local remaining = tonumber(b[2]) + tonumber(ARGV[2]) - now
  if remaining > 0 then return {2, tostring(remaining), f, o, ''} end
  if ARGV[1] == '0' then return {0, '0', f, o, ''} end
  redis.call('HSET', KEYS[1], 'st', 1, 'probe', 0)
  moved = 'open>half_open'
elseif tonumber(b[3] or '0') > now then
  return {2, '0', f, o, ''}
end
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'probe', tostring(now + tonumber(ARGV[3])))
  return {1, '0', f, o, moved}
end
return {0, '0', f, o, moved}
"""

# KEYS: breaker, window. ARGV: failed, probe, threshold, failure rate, window ms, slots.
# -> the transition ("closed>open"...) or ""
_RECORD = _NOW + """
local names = {[0] = 'closed', [1] = 'half_open', [2] = 'open'}
local failed, probe = ARGV[1] == '1', ARGV[2] == '1'
local st = tonumber(redis.call('HGET', KEYS[1], 'st') or '0')
if probe then
  redis.call('HSET', KEYS[1], 'probe', 0)
  redis.call('DEL', KEYS[2])
  if failed then
    redis.call('HSET', KEYS[1], 'st', 2, 'opened', tostring(now), 'f', 1, 'o', 1)
    if st ~= 2 then return names[st] .. '>open' end
    return ''
  end
  redis.call('HSET', KEYS[1], 'st', 0, 'f', 0, 'o', 0)
  if st ~= 0 then return names[st] .. '>closed' end
  return ''
end
if st ~= 0 then return '' end
local slots, window = tonumber(ARGV[6]), tonumber(ARGV[5])
local index = math.floor(now / (window / slots))
redis.call('HINCRBY', KEYS[2], 'o:' .. index, 1)
if failed then redis.call('HINCRBY', KEYS[2], 'f:' .. index, 1) end
redis.call('PEXPIRE', KEYS[2], math.ceil(window * 2))
local all = redis.call('HGETALL', KEYS[2])
local o, f = 0, 0
for i = 1, #all, 2 do
  local kind, at = string.sub(all[i], 1, 1), tonumber(string.sub(all[i], 3))
  if at <= index - slots then
    redis.call('HDEL', KEYS[2], all[i])
  elseif kind == 'o' then
    o = o + tonumber(all[i + 1])
  else
    f = f + tonumber(all[i + 1])
  end
end
if failed and f >= tonumber(ARGV[3]) and f >= tonumber(ARGV[4]) * o then
  redis.call('HSET', KEYS[1], 'st', 2, 'opened', tostring(now), 'f', f, 'o', o)
  redis.call('PEXPIRE', KEYS[1], 86400000)
  return 'closed>open'
end
return ''
"""

# KEYS: breaker. Gives the probe slot back.
_RELEASE = "redis.call('HSET', KEYS[1], 'probe', 0) return 1"


@dataclass(frozen=True)
class Turn:
    """When this attempt may go (seconds from now), and what the script saw."""

    wait: float
    paused_for: float  # seconds Jira's pause still holds (<= 0: none)
    replicas: int
    adaptive_rate: float | None
    at_ms: float  # the scheduled send time on Redis's clock (for the one-cut-per-episode rule)


@dataclass(frozen=True)
class Refusal:
    """The shared breaker is open: fail fast."""

    retry_in: float
    failures: int
    outcomes: int


@dataclass(frozen=True)
class Admission:
    """The shared breaker let the attempt through (``probe``: as the half-open probe)."""

    probe: bool
    transition: tuple[BreakerState, BreakerState] | None


def _transition(text: Any) -> tuple[BreakerState, BreakerState] | None:
    value = text.decode() if isinstance(text, bytes) else str(text or "")
    if not value:
        return None
    before, _, after = value.partition(">")
    return BreakerState(before), BreakerState(after)


class SharedLimits:
    """The ratelimit state every replica shares (see module docstring)."""

    def __init__(self, link: RedisLink, config: RateLimitSettings, prefix: str) -> None:
        self.link = link
        self.config = config
        self.prefix = f"{prefix}rl:"
        self.replica = secrets.token_hex(8)
        self.replicas = 1  # last seen; the share of the budget while Redis is unreachable
        self._scripts: dict[str, Any] = {}

    def _run(self, what: str, name: str, source: str, keys: list[str], args: list[Any]) -> Any:
        async def command(client: Any) -> Any:
            script = self._scripts.get(name)
            if script is None:
                script = self._scripts[name] = client.register_script(source)
            return await script(keys=keys, args=args)

        return self.link.run(what, command)

    # ------------------------------------------------------------------ budget

    async def turn(self, credential: str) -> Turn | None:
        """Reserve this attempt's place in the shared budgets (None: Redis unavailable)."""
        p, c = self.prefix, self.config
        keys = [f"{p}tat:global", f"{p}tat:cred:{credential}", f"{p}pace:{credential}", f"{p}pause:{credential}",
                f"{p}adapt:{credential}", f"{p}replicas"]
        args = [c.rate_limit_requests_per_second, c.global_burst, c.per_credential_requests_per_second,
                c.credential_burst, self.replica, f"{p}sent:{credential}:"]
        try:
            found = await self._run("ratelimit.turn", "turn", _ACQUIRE, keys, args)
        except RedisUnavailable:
            return None
        self.replicas = max(1, int(found[2]))
        rate = float(found[3])
        return Turn(float(found[0]) / 1000, float(found[1]) / 1000, self.replicas, None if rate < 0 else rate,
                    float(found[4]))

    def local_share(self, rate: float) -> float:
        """This replica's share of ``rate`` while Redis is unreachable."""
        return rate / max(1, self.replicas)

    # ---------------------------------------------------------------- pushback

    async def pause(self, credential: str, seconds: float) -> bool:
        """Hold every replica's requests for ``credential`` for ``seconds``; whether it was shared."""
        try:
            await self._run("ratelimit.pause", "pause", _PAUSE, [f"{self.prefix}pause:{credential}"], [seconds])
        except RedisUnavailable:
            return False
        return True

    async def cut(self, credential: str, sent_at_ms: float, advertised: float | None) -> bool | None:
        """A 429 for a request scheduled at ``sent_at_ms``: cut the shared rate (once per episode).

        True if cut, False if this 429 says nothing new, None if Redis is unavailable.
        """
        c = self.config
        baseline = min((r for r in (c.rate_limit_requests_per_second, c.per_credential_requests_per_second) if r),
                       default=0.0)
        args = [sent_at_ms, c.adaptive_factor, c.adaptive_recovery_seconds, baseline,
                -1 if advertised is None or math.isinf(advertised) else advertised,
                f"{self.prefix}sent:{credential}:"]
        try:
            return bool(int(await self._run("ratelimit.cut", "cut", _CUT, [f"{self.prefix}adapt:{credential}"], args)))
        except RedisUnavailable:
            return None

    # ----------------------------------------------------------------- breaker

    async def admit(self, server: str, *, claim: bool) -> Admission | Refusal | None:
        """Ask the shared breaker of ``server`` (None: Redis unavailable)."""
        c = self.config
        if c.breaker_failure_threshold <= 0:
            return Admission(False, None)
        args = [1 if claim else 0, int(c.breaker_cooldown_seconds * 1000), PROBE_LEASE_MS]
        try:
            found = await self._run("ratelimit.breaker", "admit", _ADMIT, [f"{self.prefix}breaker:{server}"], args)
        except RedisUnavailable:
            return None
        if int(found[0]) == 2:
            return Refusal(float(found[1]) / 1000, int(found[2]), int(found[3]))
        return Admission(int(found[0]) == 1, _transition(found[4]))

    async def record(self, server: str, *, failed: bool, probe: bool) -> tuple[BreakerState, BreakerState] | None:
        """Count an outcome in the shared window; the breaker's transition, if any."""
        c = self.config
        if c.breaker_failure_threshold <= 0:
            return None
        keys = [f"{self.prefix}breaker:{server}", f"{self.prefix}window:{server}"]
        args = [1 if failed else 0, 1 if probe else 0, c.breaker_failure_threshold,
                c.breaker_failure_rate_percent / 100, int(c.breaker_window_seconds * 1000), SLOTS]
        try:
            return _transition(await self._run("ratelimit.breaker", "record", _RECORD, keys, args))
        except RedisUnavailable:
            return None

    async def release(self, server: str) -> None:
        """Give the probe slot back (the probe ended without an outcome)."""
        try:
            await self._run("ratelimit.breaker", "release", _RELEASE, [f"{self.prefix}breaker:{server}"], [])
        except RedisUnavailable:
            pass  # the lease runs out on its own

    def snapshot(self) -> dict[str, Any]:
        """The shared backend's figures for ``jiraplug://ratelimit``."""
        return {"kind": "redis", **self.link.snapshot(), "prefix": self.prefix, "replicas_seen": self.replicas,
                "mode": "shared" if self.link.available else "local share"}
