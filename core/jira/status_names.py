"""Status names for values that carry only status ids ("Time in Status").

Jira's Time in Status field encodes ``statusId_*:*_timesEntered_*:*_millis``: ids a reader
cannot place. The site's statuses (``GET /status``) are read once per credential (each
user sees the statuses of their projects) and kept for :data:`STATUS_LIST_TTL_SECONDS`, only
when an issue carries such a value. Names are a nicety: a failed read never fails a call;
what was read before (or the ids) is shown.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable, Mapping
from typing import Any

import anyio

from jiraplug.jira.app_values import TIME_IN_STATUS, looks_like_time_in_status
from jiraplug.jira.errors import JiraError, JiraUnavailable
from jiraplug.jira.shapes import obj

log = logging.getLogger("jiraplug.jira")

STATUS_LIST_TTL_SECONDS = 600.0  # statuses are added rarely: re-read after this, never per call
RETRY_AFTER_FAILURE_SECONDS = 60.0  # a failed read (an outage, a 429) is not retried on every call

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
    """Status id -> label for one credential, read on first need and kept for the TTL.

    The label is the status's name; a name several statuses share (each team-managed project
    has its own "To Do") always carries its id, so one label means one status everywhere. A
    failed read keeps what was read before and is tried again after
    :data:`RETRY_AFTER_FAILURE_SECONDS`, not on every call.
    """

    def __init__(self) -> None:
        self._labels: dict[str, str] = {}
        self._read_at: float | None = None
        self._failed_at: float | None = None
        self._lock: anyio.Lock | None = None

    def _current(self) -> bool:
        now = anyio.current_time()
        if self._failed_at is not None and now - self._failed_at < RETRY_AFTER_FAILURE_SECONDS:
            return True  # failed lately: what we have (maybe nothing) stands until the retry
        return self._read_at is not None and now - self._read_at < STATUS_LIST_TTL_SECONDS

    async def get(self, read: ReadStatuses) -> dict[str, str]:
        """The labels, reading them with ``read`` (``GET /status``) when missing or stale."""
        if self._current():
            return self._labels
        if self._lock is None:
            self._lock = anyio.Lock()
        async with self._lock:
            if self._current():  # another task read (or failed) while this one waited
                return self._labels
            try:
                data = await read()
            except (JiraError, JiraUnavailable) as exc:
                self._failed_at = anyio.current_time()
                log.info("status list unavailable (%s); Time in Status keeps %s", exc,
                         "the names read before" if self._labels else "status ids")
                return self._labels
            self._labels = status_labels(data)
            self._read_at, self._failed_at = anyio.current_time(), None
        return self._labels


def status_labels(statuses: Any) -> dict[str, str]:
    """``GET /status``'s answer as id -> label: the name, plus the id where several statuses share it."""
    names = {str(item["id"]): str(item["name"]) for item in (statuses or [])
             if isinstance(item, dict) and item.get("id") is not None and item.get("name")}
    shared = {name for name, count in Counter(names.values()).items() if count > 1}
    return {sid: f"{name} (status {sid})" if name in shared else name for sid, name in names.items()}
