"""Read what Jira says about waiting: ``Retry-After``, ``X-RateLimit-Reset``, ``X-RateLimit-FillRate``.

Pure functions over a header mapping and the current wall-clock time, so they are tested
without a server. Unparseable values are ignored (``None``), never raised: a malformed
header from Jira must not turn a retryable answer into a crash.
"""

from __future__ import annotations

import datetime as dt
import email.utils
import math
from collections.abc import Mapping

# Numbers this large are epoch timestamps, not durations (2001-09-09 and later).
_EPOCH_THRESHOLD = 1_000_000_000


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        return None
    value = value.strip()
    return value or None


def _finite_number(text: str) -> float | None:
    try:
        value = float(text)
    except ValueError:
        return None
    return value if math.isfinite(value) else None


def _seconds_until(moment: dt.datetime, now: float) -> float:
    if moment.tzinfo is None:  # a time without zone is UTC (Jira sends UTC)
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.timestamp() - now


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP-date.

    ``now`` is the wall-clock time (``time.time()``). A date in the past gives a negative
    number (the caller clamps it). ``None`` when absent or unparseable.
    """
    if value is None or not value.strip():
        return None
    value = value.strip()
    number = _finite_number(value)
    if number is not None:
        return number
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    return _seconds_until(moment, now)


def parse_reset(value: str | None, now: float) -> float | None:
    """Seconds until an ``X-RateLimit-Reset`` time: ISO 8601 (Jira), epoch seconds, or a delay."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    number = _finite_number(value)
    if number is not None:
        return number - now if number >= _EPOCH_THRESHOLD else number
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    return _seconds_until(moment, now)


def requested_wait(headers: Mapping[str, str], now: float) -> float | None:
    """How long Jira asks us to wait: ``Retry-After`` first, then ``X-RateLimit-Reset``."""
    wait = parse_retry_after(_header(headers, "retry-after"), now)
    if wait is None:
        wait = parse_reset(_header(headers, "x-ratelimit-reset"), now)
    return wait


def advertised_rate(headers: Mapping[str, str]) -> float | None:
    """Requests per second Jira Data Center says it refills (``FillRate / Interval-Seconds``).

    Cloud's ``X-RateLimit-Limit`` is a bucket size, not a rate, so it is not used here.
    """
    fill = _header(headers, "x-ratelimit-fillrate")
    interval = _header(headers, "x-ratelimit-interval-seconds")
    if fill is None or interval is None:
        return None
    fill_rate, seconds = _finite_number(fill), _finite_number(interval)
    if fill_rate is None or seconds is None or fill_rate <= 0 or seconds <= 0:
        return None
    return fill_rate / seconds
