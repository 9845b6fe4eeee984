"""Status names for values that carry only status ids ("Time in Status").

Jira's Time in Status field encodes ``statusId_*:*_timesEntered_*:*_millis``: ids a reader
cannot place. The site's statuses (``GET /status``) are read once per credential (each
user sees the statuses of their projects) and kept for :data:`STATUS_LIST_TTL_SECONDS`, only
when an issue carries such a value. Names are a nicety: a failed read never fails a call;
the ids are then shown as before.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import anyio

from jiraplug.jira.app_values import TIME_IN_STATUS, looks_like_time_in_status
from jiraplug.jira.errors import JiraError, JiraUnavailable
from jiraplug.jira.shapes import obj

log = logging.getLogger("jiraplug.jira")

STATUS_LIST_TTL_SECONDS = 600.0  # statuses are added rarely: re-read after this, never per call

STATUS_NAMES_KEY = "statusNames"
"""Key under which the client adds ``{status id: name}`` to an issue carrying Time in Status."""

ReadStatuses = Callable[[], Awaitable[Any]]


def has_time_in_status(issues: Iterable[Mapping[str, Any]], field_types: Mapping[str, str]) -> bool:
    """Whether any of ``issues`` carries a Time in Status value (known by its field's type, or its shape)."""
    for issue in issues:
        for field_id, value in obj(issue.get("fields")).items():
            if not isinstance(value, str) or not field_id.startswith("customfield_"):
                continue
            custom_type = field_types.get(field_id)
            if custom_type == TIME_IN_STATUS or (custom_type is None and looks_like_time_in_status(value)):
                return True
    return False


class StatusNames:
    """Status id -> name for one credential, read on first need and kept for the TTL."""

    def __init__(self) -> None:
        self._names: dict[str, str] | None = None
        self._at = 0.0
        self._lock: anyio.Lock | None = None
        self._unavailable = False

    def _fresh(self) -> bool:
        return self._names is not None and anyio.current_time() - self._at < STATUS_LIST_TTL_SECONDS

    async def get(self, read: ReadStatuses) -> dict[str, str]:
        """The names, reading them with ``read`` (``GET /status``) when missing or stale; ``{}`` if unreadable."""
        if self._fresh():
            return self._names or {}
        if self._unavailable:
            return {}
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if not self._fresh():
                try:
                    data = await read()
                except (JiraError, JiraUnavailable) as exc:
                    self._unavailable = True  # and do not ask again on every call
                    log.info("status list unavailable (%s); Time in Status keeps status ids", exc)
                    return {}
                self._names = {str(item["id"]): str(item["name"]) for item in (data or [])
                               if isinstance(item, dict) and item.get("id") is not None and item.get("name")}
                self._at = anyio.current_time()
        return self._names or {}
