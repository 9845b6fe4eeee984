"""Jira Service Management field values, rendered by their meaning.

An issue of a service project carries SLA, approval, request type, participant, satisfaction
and organization fields whose values are objects: rendered as names they lose their state
(an SLA field would read as its own name, breach and remaining time gone). Each is known by
its field's schema ``custom`` type (``com.atlassian.servicedesk:sd-sla-field``, ...) from the
field list, or by its shape when the field list is not at hand. Cloud and Data Center send
the same shapes through the REST API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from jiraplug.jira.shapes import UNRECOGNISED, obj, objects, scalar, text

_SD = "com.atlassian.servicedesk:"


def render_jsm_value(custom_type: str | None, value: Any) -> Any:
    """The readable form of a Service Management field's ``value``, or :data:`UNRECOGNISED`.

    ``custom_type`` is the field's schema ``custom`` type when known; else the value's shape decides.
    """
    if custom_type:
        render = _BY_TYPE.get(custom_type.removeprefix(_SD)) if custom_type.startswith(_SD) else None
        return UNRECOGNISED if render is None else render(value)
    for looks_like, render in _BY_SHAPE:
        if looks_like(value):
            return render(value)
    return UNRECOGNISED


def friendly_duration(millis: Any) -> str | None:
    """``9000000`` -> ``"2h 30m"`` (days of 24 hours, as Jira's SLA texts count), negative kept."""
    if not isinstance(millis, (int, float)) or isinstance(millis, bool):
        return None
    sign, rest = ("-" if millis < 0 else ""), int(abs(millis)) // 1000
    if rest < 60:
        return f"{sign}{rest}s"
    parts = [(rest // 86400, "d"), (rest % 86400 // 3600, "h"), (rest % 3600 // 60, "m")]
    return sign + " ".join(f"{amount}{unit}" for amount, unit in parts if amount)


# ---------------------------------------------------------------------------- SLA


def _sla(value: Any) -> Any:
    """Goal, remaining (running) or elapsed (completed), breached, paused, cycles completed and breached."""
    if not isinstance(value, Mapping):
        return scalar(value)
    ongoing = obj(value.get("ongoingCycle"))
    completed = objects(value.get("completedCycles"))
    out: dict[str, Any] = {}
    if ongoing:
        out = {"goal": _duration(ongoing.get("goalDuration")), "remaining": _duration(ongoing.get("remainingTime")),
               "breached": bool(ongoing.get("breached"))}
        if ongoing.get("paused") is True:
            out["paused"] = True
        if ongoing.get("withinCalendarHours") is False:
            out["outside_calendar_hours"] = True  # the clock waits for working hours
    elif completed:
        last = completed[-1]
        out = {"goal": _duration(last.get("goalDuration")), "elapsed": _duration(last.get("elapsedTime")),
               "breached": bool(last.get("breached"))}
    else:
        return "not started"
    if completed:
        out["completed_cycles"] = len(completed)
        out["breached_cycles"] = sum(1 for cycle in completed if cycle.get("breached") is True)
    return {k: v for k, v in out.items() if v is not None}


def _duration(value: Any) -> str | None:
    value = obj(value)
    return text(value.get("friendly")) or friendly_duration(value.get("millis"))


# ---------------------------------------------------------------------------- the others


def _approvals(value: Any) -> Any:
    """Each approval: its name, final decision and every approver's decision."""
    out = []
    for approval in objects(value if isinstance(value, list) else [value]):
        approvers = {}
        for entry in objects(approval.get("approvers")):
            who = _user(entry.get("approver"))
            if who:
                approvers[who] = text(entry.get("approverDecision")) or "pending"
        item = {"name": text(approval.get("name")), "decision": text(approval.get("finalDecision")),
                "approvers": approvers}
        out.append({k: v for k, v in item.items() if v})
    return out


def _request_type(value: Any) -> Any:
    """The request type's name, with the status the customer sees."""
    if not isinstance(value, Mapping):
        return scalar(value)
    name = text(obj(value.get("requestType")).get("name")) or text(value.get("name"))
    status = text(obj(value.get("currentStatus")).get("status"))
    if name and status:
        return {"name": name, "status": status}
    return name or status


def _users(value: Any) -> Any:
    users = value if isinstance(value, list) else [value]
    return [who for who in (_user(item) for item in users) if who]


def _satisfaction(value: Any) -> Any:
    """``4/5``, with the customer's comment when there is one."""
    if not isinstance(value, Mapping):
        return scalar(value)
    rating = scalar(value.get("rating"))
    comment = value.get("comment")
    comment_text = text(comment) or text(obj(comment).get("body"))
    shown = f"{rating}/5" if isinstance(rating, (int, float)) and not isinstance(rating, bool) else text(rating)
    if shown and comment_text:
        return f"{shown}: {comment_text}"
    return shown or comment_text


def _organizations(value: Any) -> Any:
    items = value if isinstance(value, list) else [value]
    return [name for name in (text(item.get("name")) for item in objects(items)) if name]


def _user(value: Any) -> str | None:
    value = obj(value)
    return text(value.get("displayName")) or text(value.get("accountId")) or text(value.get("name"))


_BY_TYPE: dict[str, Callable[[Any], Any]] = {
    "sd-sla-field": _sla,
    "sd-approvals": _approvals,
    "vp-origin": _request_type,
    "sd-request-participants": _users,
    "sd-request-feedback": _satisfaction,
    "sd-customer-organizations": _organizations,
}


def _looks_like_sla(value: Any) -> bool:
    return isinstance(value, Mapping) and ("ongoingCycle" in value or "completedCycles" in value)


def _looks_like_approvals(value: Any) -> bool:
    return (isinstance(value, list) and bool(value)
            and all(isinstance(item, Mapping) and "finalDecision" in item and "approvers" in item for item in value))


def _looks_like_request_type(value: Any) -> bool:
    return isinstance(value, Mapping) and isinstance(value.get("requestType"), Mapping)


def _looks_like_satisfaction(value: Any) -> bool:
    return isinstance(value, Mapping) and "rating" in value and set(value) <= {"rating", "comment", "_links", "self"}


# Participants and organizations need no shape of their own: as users and named objects,
# the generic rendering already shows their names.
_BY_SHAPE: tuple[tuple[Callable[[Any], bool], Callable[[Any], Any]], ...] = (
    (_looks_like_sla, _sla),
    (_looks_like_approvals, _approvals),
    (_looks_like_request_type, _request_type),
    (_looks_like_satisfaction, _satisfaction),
)
