"""Jira's time-tracking durations, the timestamp formats clients send and the one Jira sends.

Durations use Jira's default time-tracking configuration: 1 day = 8 hours, 1 week = 5 days.
"""

from __future__ import annotations

import datetime as dt
import re

__all__ = ["parse_duration", "format_duration", "parse_timestamp", "jira_datetime", "HOURS_PER_DAY", "DAYS_PER_WEEK"]

HOURS_PER_DAY = 8
DAYS_PER_WEEK = 5
_UNITS = {"w": HOURS_PER_DAY * DAYS_PER_WEEK * 3600, "d": HOURS_PER_DAY * 3600, "h": 3600, "m": 60}
_DURATION = re.compile(r"^\s*(?:\d+(?:\.\d+)?\s*[wdhm]\s*)+$", re.IGNORECASE)
_PART = re.compile(r"(\d+(?:\.\d+)?)\s*([wdhm])", re.IGNORECASE)


def parse_duration(text: str) -> int | None:
    """Seconds in a Jira duration such as ``"1h 30m"``, ``"2d"``, ``"1.5h"``; ``None`` if invalid.

    A bare number means minutes, as in Jira.
    """
    text = text.strip()
    if re.fullmatch(r"\d+", text):
        return int(text) * 60
    if not _DURATION.match(text):
        return None
    return int(round(sum(float(amount) * _UNITS[unit.lower()] for amount, unit in _PART.findall(text))))


def format_duration(seconds: int) -> str:
    """Jira's pretty form of a duration: ``5400`` -> ``"1h 30m"``, ``0`` -> ``"0m"``."""
    if seconds <= 0:
        return "0m"
    parts = []
    remaining = seconds
    for unit in ("w", "d", "h", "m"):
        amount, remaining = divmod(remaining, _UNITS[unit])
        if amount:
            parts.append(f"{amount}{unit}")
    return " ".join(parts) or "0m"


_OFFSET = re.compile(r"([+-])(\d\d):?(\d\d)$")


def parse_timestamp(text: str) -> dt.datetime | None:
    """Parse ``2026-11-20T10:00:00.000+0000`` (Jira), ISO 8601 with ``Z`` or ``+10:00``; ``None`` if invalid."""
    value = text.strip()
    if not value:
        return None
    if value.endswith("Z"):
        value = value[:-1] + "+00:00"
    match = _OFFSET.search(value)
    if match and ":" not in match.group(0):
        value = value[: match.start()] + f"{match.group(1)}{match.group(2)}:{match.group(3)}"
    try:
        moment = dt.datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return moment.astimezone(dt.UTC)


def jira_datetime(moment: dt.datetime | None) -> str | None:
    """Jira's timestamp format: ``2026-11-20T10:15:30.000+0000``."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}+0000"
