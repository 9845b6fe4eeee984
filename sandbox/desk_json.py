"""Service Management values as JSON: dates, durations, SLAs, approvals and the customer-facing status.

Jira sends these same shapes from ``/rest/servicedeskapi/...`` and as the values of a service
project's custom fields on ``/rest/api/{v}/issue`` (Cloud and Data Center alike), so both the
service desk routes and the issue renderer build them here.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from jiraplug.sandbox.model import SandboxUser
from jiraplug.sandbox.servicedesk import STATUSES, Approval, Request, ServiceDesk, SlaGoal
from jiraplug.sandbox.timefmt import jira_datetime

__all__ = ["approval_json", "date_json", "duration_json", "sla_json", "status_json"]

BASE = "/rest/servicedeskapi"


def date_json(moment: dt.datetime | None) -> dict[str, Any] | None:
    """A ``DateDTO``: ``iso8601``, ``jira``, ``friendly`` and ``epochMillis``."""
    if moment is None:
        return None
    return {"iso8601": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"), "jira": jira_datetime(moment),
            "friendly": moment.strftime("%d/%b/%y %I:%M %p"), "epochMillis": int(moment.timestamp() * 1000)}


def duration_json(delta: dt.timedelta) -> dict[str, Any]:
    """A ``DurationDTO``: ``millis`` and ``friendly`` in hours and minutes (``24h``, ``-2h 5m``), as SLAs show."""
    millis = int(delta.total_seconds() * 1000)
    hours, minutes = divmod(abs(int(delta.total_seconds())) // 60, 60)
    text = " ".join(part for part in (f"{hours}h" if hours else "", f"{minutes}m" if minutes else "") if part)
    return {"millis": millis, "friendly": f"-{text}" if millis < 0 and text else text or "0m"}


def status_json(request: Request) -> dict[str, Any]:
    """The status the customer sees (``CustomerRequestStatusDTO``)."""
    return {"status": request.status, "statusCategory": STATUSES[request.status].upper(),
            "statusDate": date_json(request.status_date)}


def sla_json(desk: ServiceDesk, request: Request, goal: SlaGoal, now: dt.datetime) -> dict[str, Any]:
    """One SLA of ``request`` at ``now`` (``SlaInformationDTO``): its ongoing or completed cycle."""
    state = desk.sla(request, goal, now)
    cycle = {"startTime": date_json(state["start"]), "breachTime": date_json(state["start"] + goal.goal),
             "breached": state["breached"], "paused": state["paused"], "withinCalendarHours": True,
             "goalDuration": duration_json(goal.goal), "elapsedTime": duration_json(state["elapsed"]),
             "remainingTime": duration_json(state["remaining"])}
    body: dict[str, Any] = {"id": goal.id, "name": goal.name, "completedCycles": [],
                            "_links": {"self": f"{BASE}/request/{request.issue_id}/sla/{goal.id}"},
                            "slaDisplayFormat": "NEW_SLA_FORMAT"}
    if state["stop"] is None:
        body["ongoingCycle"] = cycle
    else:
        body["completedCycles"] = [{k: v for k, v in cycle.items() if k not in ("paused", "withinCalendarHours")}
                                   | {"stopTime": date_json(state["stop"])}]
    return body


def approval_json(approval: Approval, viewer: SandboxUser, user_json: Callable[[SandboxUser], Any]) -> dict[str, Any]:
    """One approval (``ApprovalDTO``): final decision and each approver's, users as ``user_json`` shows them."""
    return {"id": approval.id, "name": approval.name, "finalDecision": approval.final,
            "canAnswerApproval": approval.final == "pending" and viewer in approval.approvers,
            "approvers": [{"approver": user_json(u), "approverDecision": approval.decisions.get(u.name, "pending")}
                          for u in approval.approvers],
            "createdDate": date_json(approval.created), "completedDate": date_json(approval.completed)}
