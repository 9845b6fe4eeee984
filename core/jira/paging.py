"""Jira's two pagination styles, decoded into one shape each.

- JQL search: Cloud's enhanced search (``POST /rest/api/3/search/jql``) pages with an
  opaque ``nextPageToken`` and ``isLast``; Data Center's ``/rest/api/2/search`` with
  ``startAt``/``maxResults``/``total``. Both become a :class:`SearchPage` whose
  ``next_page_token`` is passed back for the next page (on DC it is the next ``startAt``).
- Offset lists (agile boards and sprints, comments, worklogs, versions...):
  ``startAt``/``maxResults`` with ``isLast`` and/or ``total``, items under one key.

The functions here are pure: they build request bodies and decode answers, so they are
tested on the specs' own example responses as well as on the sandbox's.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from jiraplug.jira.errors import JiraError

Progress = Callable[[int, int | None], Awaitable[None]]
"""An async callback ``(items so far, total or None when Jira does not say)``."""


@dataclass
class SearchPage:
    """One page of JQL search results, the same shape on Cloud and Data Center.

    ``next_page_token`` is ``None`` on the last page; pass it back to get the next one.
    ``total`` is known on Data Center only. ``names`` maps field ids to names when Jira
    sent them (``expand=names``) or the client knew them.
    """

    issues: list[dict[str, Any]]
    next_page_token: str | None
    total: int | None = None
    names: dict[str, str] = field(default_factory=dict)


@dataclass
class OffsetPage:
    """Items of a ``startAt``/``maxResults`` list and where the next page starts (``None``: no more)."""

    items: list[Any]
    next_start_at: int | None
    total: int | None = None


def cloud_search_body(
    jql: str,
    *,
    limit: int,
    fields: Sequence[str] | None = None,
    expand: Sequence[str] | None = None,
    page_token: str | None = None,
) -> dict[str, Any]:
    """The body of ``POST /rest/api/3/search/jql`` (``SearchAndReconcileRequestBean``: no ``startAt``)."""
    body: dict[str, Any] = {"jql": jql, "maxResults": limit}
    if fields:
        body["fields"] = list(fields)
    if expand:
        body["expand"] = ",".join(expand)  # a comma-separated string in this bean, not a list
    if page_token:
        body["nextPageToken"] = page_token
    return body


def decode_cloud_search(data: Any) -> SearchPage:
    """A :class:`SearchPage` from an enhanced-search answer (``nextPageToken`` absent on the last page)."""
    data = _object(data, "search.jql")
    token = data.get("nextPageToken")
    last = data.get("isLast")
    if not isinstance(last, bool):  # older answers: a token means more
        last = not token
    return SearchPage(
        issues=_issues(data.get("issues")),
        next_page_token=str(token) if token and isinstance(token, (str, int)) and not last else None,
        names=_names(data.get("names")),
    )


def dc_search_params(
    jql: str,
    *,
    start_at: int,
    limit: int,
    fields: Sequence[str] | None = None,
    expand: Sequence[str] | None = None,
) -> dict[str, Any]:
    """Query (or body) of Data Center's ``/rest/api/2/search``."""
    params: dict[str, Any] = {"jql": jql, "startAt": start_at, "maxResults": limit}
    if fields:
        params["fields"] = ",".join(fields)
    if expand:
        params["expand"] = ",".join(expand)
    return params


def decode_dc_search(data: Any, start_at: int) -> SearchPage:
    """A :class:`SearchPage` from Data Center's search answer; the token is the next ``startAt``."""
    data = _object(data, "search")
    issues = _issues(data.get("issues"))
    total = data.get("total")
    start = data.get("startAt", start_at)
    following = (start if _is_int(start) else start_at) + len(issues)
    more = bool(issues) and (not isinstance(total, int) or following < total)
    return SearchPage(
        issues=issues,
        next_page_token=str(following) if more else None,
        total=total if _is_int(total) else None,
        names=_names(data.get("names")),
    )


def start_at_from_token(page_token: str | None) -> int:
    """The ``startAt`` a Data Center page token stands for."""
    if not page_token:
        return 0
    if not page_token.isdigit():
        raise JiraError(
            f"page token {page_token!r} is not valid here (expected the next_page_token of a previous page)",
            status=400,
        )
    return int(page_token)


def decode_offset_page(data: Any, items_key: str, start_at: int, asked: int) -> OffsetPage:
    """One page of an offset list: its items, the next ``startAt`` (``None`` at the end) and the total.

    The end is ``isLast`` when Jira sends it, else ``total``, else a page shorter than asked.
    """
    data = _object(data, items_key)
    items = _list(data.get(items_key), items_key)
    start = data.get("startAt", start_at)
    following = (start if _is_int(start) else start_at) + len(items)
    total = data.get("total") if _is_int(data.get("total")) else None
    if isinstance(data.get("isLast"), bool):
        more = not data["isLast"]
    elif total is not None:
        more = following < total
    else:
        more = len(items) >= asked
    return OffsetPage(items=items, next_start_at=following if more and items else None, total=total)


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise JiraError(f"Jira answered {what} with {type(data).__name__}, not an object", status=502)
    return data


def _list(value: Any, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise JiraError(f"Jira's answer has {key!r} as {type(value).__name__}, not a list", status=502)
    return value


def _issues(value: Any) -> list[dict[str, Any]]:
    """The issues of a search page; an entry that is not an issue object is skipped."""
    return [issue for issue in _list(value, "issues") if isinstance(issue, dict)]


def _names(value: Any) -> dict[str, str]:
    """``expand=names``: field id -> name; entries of another shape are skipped."""
    if not isinstance(value, Mapping):
        return {}
    return {str(k): v for k, v in value.items() if isinstance(v, str)}


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0
