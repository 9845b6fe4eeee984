"""Helpers shared by tool implementations (built-in toolsets and third-party plugins).

They read the tool call in progress (:func:`jiraplug.current_call`), so a tool body stays
short: ``jira()`` for the client, ``guard_issue(key)`` and ``scoped_jql(jql)`` to keep
every access inside ``JIRA_PROJECTS_FILTER`` (the guards live in :mod:`jiraplug.server.projects_filter`,
which also checks every write on its way to Jira), ``split_csv`` for comma-separated arguments.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

from jiraplug.jira import offload
from jiraplug.server.projects_filter import ISSUE_KEY, allowed_projects, guard_issue, guard_project
from jiraplug.tool_errors import UserFacingError
from jiraplug.server.toolcalls import current_call

if TYPE_CHECKING:
    from jiraplug.jira.client import JiraClient

T = TypeVar("T")

__all__ = ["ISSUE_KEY", "allowed_projects", "guard_issue", "guard_project", "jira", "next_start_at", "numeric_id", "off_loop",
           "scoped_jql", "split_csv", "split_order_by"]


def jira() -> JiraClient:
    """The Jira client of the tool call being served."""
    return current_call().jira


async def off_loop(func: Callable[..., T], *args: object, what: str) -> T:
    """``func(*args)`` off the event loop, within the current Jira client's text limits.

    For rendering many or large rich-text values (see :func:`jiraplug.jira.offload.off_loop`).
    """
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


def next_start_at(start_at: int, returned: int, total: int | None) -> int | None:
    """Offset of the next page of a ``startAt`` list, or ``None`` after the last page."""
    following = start_at + returned
    more = returned > 0 and (total is None or following < total)
    return following if more else None
