"""An issue's change history: the latest changes, read the way each deployment serves them.

Cloud pages ``GET /issue/{key}/changelog`` oldest first (``startAt``/``maxResults``/``total``,
at most 100 histories a page): the newest entries are on the *last* pages, so they are read
from the end backwards. Data Center embeds the whole history in ``expand=changelog``. Either
way the answer says how many histories exist and how many changes are shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from jiraplug.jira.errors import JiraError
from jiraplug.jira.shapes import expect_object

if TYPE_CHECKING:
    from jiraplug.jira.client import JiraClient

PAGE = 100  # Jira Cloud's most histories per changelog page
MAX_PAGES = 5  # how far back a filtered read goes before saying older changes were not read


@dataclass
class Changes:
    """The latest changes of one issue, oldest first, and how much of its history they cover."""

    changes: list[dict[str, Any]] = field(default_factory=list)
    histories_total: int | None = None
    histories_read: int = 0

    def summary(self) -> dict[str, Any]:
        """Counts for the answer: histories that exist, how many were read, changes shown."""
        out: dict[str, Any] = {"changes_shown": len(self.changes)}
        if self.histories_total is not None:
            out["histories_total"] = self.histories_total
        if self.histories_total is None or self.histories_read < self.histories_total:
            out["histories_read"] = self.histories_read
        return out


def history_entries(histories: Any) -> list[dict[str, Any]]:
    """Changelog histories as flat changes, oldest first; shapes not understood are skipped.

    Each change is ``{"at", "by", "field", "from", "to"}``. Histories embedded newest first
    are turned around.
    """
    if not isinstance(histories, list):
        return []
    ordered = [h for h in histories if isinstance(h, Mapping)]
    if len(ordered) > 1 and _created(ordered[0]) > _created(ordered[-1]):
        ordered.reverse()  # newest first, as some expansions embed them
    entries = []
    for history in ordered:
        author = history.get("author")
        by = _text(author.get("displayName") or author.get("name")) if isinstance(author, Mapping) else None
        items = history.get("items")
        for item in items if isinstance(items, list) else []:
            if not isinstance(item, Mapping):
                continue
            entries.append({
                "at": _text(history.get("created")),
                "by": by,
                "field": _text(item.get("field")),
                "from": _text(item.get("fromString")),
                "to": _text(item.get("toString")),
            })
    return entries


def latest_from_expand(changelog: Any, limit: int, keep: Callable[[dict[str, Any]], bool] = lambda _: True
                       ) -> Changes:
    """The latest ``limit`` changes of an issue's ``changelog`` expansion (Data Center).

    A changelog that is not an object (Jira 5 answers carry a string) yields no changes.
    """
    if not isinstance(changelog, Mapping):
        return Changes(histories_total=None, histories_read=0)
    histories = changelog.get("histories")
    histories = histories if isinstance(histories, list) else []
    total = changelog.get("total")
    entries = [entry for entry in history_entries(histories) if keep(entry)]
    return Changes(entries[-limit:] if limit else [], _count(total, len(histories)), len(histories))


async def latest_changes(
    jira: JiraClient, key: str, limit: int, keep: Callable[[dict[str, Any]], bool] = lambda _: True
) -> Changes:
    """The latest ``limit`` changes of issue ``key`` that ``keep`` accepts, oldest first."""
    if not jira.is_cloud:
        raw = await jira.get_issue(key, fields=["summary"], expand=["changelog"])
        return latest_from_expand(raw.get("changelog"), limit, keep)
    first = await _page(jira, key, 0)
    total = _count(first["total"], len(first["values"]))
    floor, end = len(first["values"]), total
    size = max(floor, 1)  # a first page short of the total is full: its length is the site's page size
    tail: list[Any] = []
    # Oldest first: when the first page is not everything, the newest histories are at the end.
    for _ in range(MAX_PAGES):
        if end <= floor or len([e for e in history_entries(tail) if keep(e)]) >= limit:
            break
        start = max(floor, end - size)
        values = (await _page(jira, key, start))["values"][: end - start]
        if not values:
            break
        tail, end = values + tail, start
    histories = first["values"] + tail if end <= floor else tail
    entries = [entry for entry in history_entries(histories) if keep(entry)]
    return Changes(entries[-limit:] if limit else [], total, len(histories))


async def _page(jira: JiraClient, key: str, start: int) -> dict[str, Any]:
    data = await jira.request(
        "GET", f"{jira.api}/issue/{key}/changelog", operation="issue.changelog",
        params={"startAt": start, "maxResults": PAGE}, subject=key,
    )
    return decode_changelog_page(data, key)


def decode_changelog_page(data: Any, key: str) -> dict[str, Any]:
    """A changelog page as ``{"values": [...], "total": ...}``; an unusable answer is a clear error."""
    page = expect_object(data, f"issue.changelog {key}", "a page of histories (startAt, total, values)")
    values = page.get("values")
    if values is not None and not isinstance(values, list):
        raise JiraError(f"Jira answered issue.changelog {key} with values that are not a list; "
                        "expected a page of histories (startAt, total, values)", status=502)
    return {"values": list(values or []), "total": page.get("total")}


def _count(value: Any, fallback: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= fallback else fallback


def _created(history: Mapping[str, Any]) -> str:
    created = history.get("created")
    return created if isinstance(created, str) else ""


def _text(value: Any) -> Any:
    """Strings and numbers as they are; anything else (an odd shape) as its string form."""
    if value is None or isinstance(value, (str, int, float)):
        return value
    return str(value)
