"""The ``update`` operations with side effects: ``comment`` add, ``issuelinks`` add, ``worklog`` add.

Create, edit and transition accept them; they are validated together with the fields
(so a bad one rejects the whole request) and applied after the issue itself is written.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jiraplug.sandbox import ops
from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.issue_input import BadValue, InputContext, parse_rich_text
from jiraplug.sandbox.model import Issue, LinkType
from jiraplug.sandbox.richtext import Doc
from jiraplug.sandbox.timefmt import parse_duration, parse_timestamp

__all__ = ["SideEffects", "parse_side_effects", "find_link_type", "EMPTY_COMMENT"]

EMPTY_COMMENT = "Comment body can not be empty!"


def find_link_type(value: Any) -> LinkType:
    """The link type named by ``{"id": ...}`` or ``{"name": ...}`` (also inward/outward text)."""
    if not isinstance(value, dict):
        raise BadValue("Issue link type must be an object with 'id' or 'name'.")
    for link_type in ref.LINK_TYPES.values():
        if str(value.get("id", "")) == link_type.id:
            return link_type
        name = str(value.get("name", "")).casefold()
        if name and name in (link_type.name.casefold(), link_type.inward.casefold(), link_type.outward.casefold()):
            return link_type
    raise BadValue(f"No issue link type with name '{value.get('name', value.get('id'))}' found.")


@dataclass(slots=True)
class SideEffects:
    """Validated side effects, applied with :meth:`apply` once the issue exists."""

    comments: list[Doc] = field(default_factory=list)
    links: list[tuple[LinkType, str, Issue]] = field(default_factory=list)  # (type, "outward"/"inward", other)
    worklogs: list[tuple[int, dt.datetime | None, Doc | None]] = field(default_factory=list)

    def apply(self, ctx: InputContext, issue: Issue) -> None:
        """Write the comments, links and worklogs onto ``issue``."""
        for body in self.comments:
            ops.add_comment(ctx.store, issue, ctx.user, body)
        for link_type, direction, other in self.links:
            source, target = (issue, other) if direction == "outward" else (other, issue)
            ops.link_issues(ctx.store, link_type, source, target, ctx.user)
        for seconds, started, comment in self.worklogs:
            ops.add_worklog(ctx.store, issue, ctx.user, seconds, started or ctx.store.now(), comment)


def _each_add(entries: list[Any], field_id: str, errors: dict[str, str],
              handle: Callable[[Any], None]) -> None:
    for entry in entries:
        (op, value), = entry.items()
        if op != "add":
            errors[field_id] = f"Field does not support update '{op}'"
            return
        try:
            handle(value)
        except BadValue as exc:
            errors[field_id] = str(exc)
            return


def parse_side_effects(ctx: InputContext, side: dict[str, list[Any]]) -> SideEffects:
    """Validate the side-effect operations; problems are added to ``ctx.errors``, which
    :func:`~jiraplug.sandbox.issue_input.plan_operations` then raises together with its own."""
    effects = SideEffects()
    errors: dict[str, str] = {}

    def comment(value: Any) -> None:
        if not isinstance(value, dict) or "body" not in value:
            raise BadValue("The comment must be an object with a 'body'.")
        body = parse_rich_text(value["body"], ctx.adf)
        if body is None:
            raise BadValue(EMPTY_COMMENT)
        effects.comments.append(body)

    def link(value: Any) -> None:
        if not isinstance(value, dict):
            raise BadValue("An issue link must be an object with 'type' and 'outwardIssue' or 'inwardIssue'.")
        link_type = find_link_type(value.get("type"))
        direction = "outward" if "outwardIssue" in value else "inward" if "inwardIssue" in value else ""
        if not direction:
            raise BadValue("An issue link needs 'outwardIssue' or 'inwardIssue'.")
        ref_value = value[f"{direction}Issue"]
        key = ref_value.get("key") or ref_value.get("id") if isinstance(ref_value, dict) else None
        other = ctx.store.get_issue(str(key), ctx.user) if key else None
        if other is None:
            raise BadValue(f"Issue '{key}' could not be found.")
        effects.links.append((link_type, direction, other))

    def worklog(value: Any) -> None:
        if not isinstance(value, dict) or "timeSpent" not in value:
            raise BadValue("You must indicate the time spent working.")
        seconds = parse_duration(str(value["timeSpent"]))
        if not seconds:
            raise BadValue("Invalid time duration entered.")
        started = parse_timestamp(str(value["started"])) if value.get("started") else None
        if value.get("started") and started is None:
            raise BadValue("Invalid date format for 'started'.")
        effects.worklogs.append((seconds, started, parse_rich_text(value.get("comment"), ctx.adf)))

    handlers = {"comment": comment, "issuelinks": link, "worklog": worklog}
    for field_id, entries in side.items():
        _each_add(entries, field_id, errors, handlers[field_id])
    ctx.errors.update(errors)
    return effects
