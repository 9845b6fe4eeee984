"""Helpers shared by tool implementations (built-in toolsets and third-party plugins).

They read the tool call in progress (:func:`jiraplug.current_call`), so a tool body stays
short: ``jira()`` for the client, ``scoped_jql(jql)`` to keep a search inside
``JIRA_PROJECTS_FILTER`` (the guards on keys, ``guard_issue`` and friends, live in
:mod:`jiraplug.server.projects_filter`, which also checks every write on its way to Jira),
the argument types every toolset uses (:data:`IssueKey`, :data:`StartAt`, :data:`Limit`),
and the parsing of common arguments (``split_csv``, ``parse_day``, ``numeric_id``).
Lists Jira pages itself go through :meth:`JiraClient.paginate <jiraplug.jira.client.JiraClient.paginate>`;
``slice_page`` pages a list Jira returns whole.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from pydantic import Field

from jiraplug.jira import offload
from jiraplug.server.projects_filter import allowed_projects
from jiraplug.server.toolcalls import current_call
from jiraplug.tool_errors import UserFacingError

if TYPE_CHECKING:
    from jiraplug.jira.client import JiraClient

T = TypeVar("T")

__all__ = ["IssueKey", "Limit", "StartAt", "jira", "numeric_id", "off_loop", "parse_day", "scoped_jql", "slice_page",
           "split_csv", "split_order_by"]

IssueKey = Annotated[str, Field(description="Issue key, e.g. PROJ-123")]
"""An issue key argument."""
StartAt = Annotated[int, Field(ge=0)]
"""The ``start_at`` of a paged list (a tool's ``next_start_at`` from the page before)."""
Limit = Annotated[int, Field(ge=1, le=100)]
"""Items per page of a paged list."""


def jira() -> JiraClient:
    """The Jira client of the tool call being served."""
    return current_call().jira


async def off_loop(func: Callable[..., T], *args: object, what: str) -> T:
    """``func(*args)`` off the event loop, within the current Jira client's text limits.

    For rendering the Jira data a tool read (see :func:`jiraplug.jira.offload.off_loop`).
    When the call has read little from Jira so far (``offload.INLINE_RENDER_BYTES``), the
    rendering is quicker than the trip to a worker thread and runs in place.
    """
    if offload.read_little():
        return func(*args)
    return await offload.off_loop(func, *args, what=what, limits=jira().text_limits)


def scoped_jql(jql: str) -> str:
    """``jql`` restricted to ``JIRA_PROJECTS_FILTER``, so that no clause can escape it.

    The user's query is parenthesised and ANDed with the filter; its ``ORDER BY`` is kept
    outside the parentheses, where JQL requires it. An ``ORDER BY`` inside a quoted string
    is left alone.
    """
    projects = allowed_projects()
    if not projects:
        return jql
    where, order = split_order_by(jql)
    scope = "project in (" + ", ".join(f'"{key}"' for key in projects) + ")"
    query = f"{scope} AND ({where})" if where.strip() else scope
    return f"{query} {order}".strip()


ORDER_BY = re.compile(
    r'^ORDER\s+BY\s+(?:[\w.\[\]]+|"[^"]+")(?:\s+(?:ASC|DESC))?'
    r'(?:\s*,\s*(?:[\w.\[\]]+|"[^"]+")(?:\s+(?:ASC|DESC))?)*$',
    re.IGNORECASE,
)


def split_order_by(jql: str) -> tuple[str, str]:
    """Split JQL into its condition and its trailing ``ORDER BY`` clause.

    Refuses what could change the meaning of the condition once it is wrapped in
    parentheses: unbalanced parentheses or quotes, or an ``ORDER BY`` clause that is more
    than a list of fields with ASC/DESC.
    """
    quote: str | None = None
    depth = 0
    index = 0
    while index < len(jql):
        char = jql[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char in "()":
            depth += 1 if char == "(" else -1
            if depth < 0:
                raise UserFacingError("the JQL has a ')' without a matching '('")
        elif (jql[index : index + 5].upper() == "ORDER" and (index == 0 or not jql[index - 1].isalnum())
              and re.match(r"ORDER\s+BY\b", jql[index:], re.IGNORECASE)):
            if depth:
                raise UserFacingError("the JQL has ORDER BY inside parentheses")
            order = jql[index:].strip()
            if not ORDER_BY.match(order):
                raise UserFacingError(
                    f"the JQL ORDER BY clause {order!r} is not a list of fields with ASC/DESC"
                )
            return jql[:index].strip(), order
        index += 1
    if quote:
        raise UserFacingError("the JQL has an unterminated quoted string")
    if depth:
        raise UserFacingError("the JQL has a '(' without a matching ')'")
    return jql.strip(), ""


def split_csv(value: str | None) -> list[str] | None:
    """``"a, b,c"`` -> ``["a", "b", "c"]``; ``None``/empty -> ``None``."""
    if not value:
        return None
    parts = [part.strip() for part in value.split(",") if part.strip()]
    return parts or None


def numeric_id(value: str, what: str, listed_by: str) -> str:
    """Check an id that Jira expects to be numeric (comments, worklogs...)."""
    value = str(value).strip()
    if not value.isdigit():
        raise UserFacingError(f"{what} id {value!r} is not valid; ids are numbers, see {listed_by}")
    return value


def parse_day(value: str | None, what: str) -> str | None:
    """Check a ``YYYY-MM-DD`` date argument named ``what``; ``None`` passes through."""
    if value is None:
        return None
    try:
        return dt.date.fromisoformat(value.strip()).isoformat()
    except ValueError:
        raise UserFacingError(f"{what} {value!r} is not a date; expected YYYY-MM-DD, e.g. 2026-03-31") from None


def slice_page(items: list[Any], start_at: int, limit: int) -> tuple[list[Any], int | None]:
    """One page of a list Jira returns whole, and the ``start_at`` of the next (``None`` at the end)."""
    end = start_at + limit
    return items[start_at:end], (end if end < len(items) else None)
