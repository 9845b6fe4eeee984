"""Jira Service Management in the sandbox: the ``HELP`` service project and its customer requests.

The service project lives beside the issue tracker (its requests are served by
``/rest/servicedeskapi/...`` only, so the seeded projects and their JQL stay as they were).
Agents (alice, bob, carol) see the queues and every request; customers (dave and the
customer-only account ``frank``) see only requests they raised or take part in, as in Jira.
SLAs tick on the sandbox clock (:meth:`Store.now <jiraplug.sandbox.store.Store.now>`) from
each request's creation: *Time to first response* stops at the first public agent comment,
*Time to resolution* pauses while the request waits for the customer and stops when resolved.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

from jiraplug.sandbox.model import REFERENCE_NOW, SandboxUser
from jiraplug.sandbox.reference import _user

__all__ = ["CUSTOMER", "DESK_ID", "PROJECT_KEY", "Approval", "DeskComment", "Request", "RequestType", "ServiceDesk",
           "SlaGoal", "STATUSES"]

PROJECT_KEY = "HELP"
PROJECT_ID = "10900"
DESK_ID = "1"
FIRST_ISSUE_ID = 90000  # apart from the tracker's issue ids, whose numbering stays as seeded
CUSTOMER = _user(90, "frank", "Frank Moreau", "Europe/Paris", projects=frozenset(), edit=frozenset())
"""A customer-only account: no Jira licence, so it browses no project; it sees its own requests."""

# status name -> status category key
STATUSES = {"Waiting for approval": "new", "Waiting for support": "new", "Waiting for customer": "indeterminate",
            "Resolved": "done", "Declined": "done"}
# (transition id, name, target status), offered to agents by current status
TRANSITIONS = {
    "Waiting for support": [("11", "Respond to customer", "Waiting for customer"), ("21", "Resolve", "Resolved")],
    "Waiting for customer": [("31", "Respond to support", "Waiting for support"), ("21", "Resolve", "Resolved")],
    "Resolved": [("41", "Reopen", "Waiting for support")],
}


@dataclass(frozen=True, slots=True)
class ValidValue:
    value: str
    label: str


@dataclass(frozen=True, slots=True)
class RequestField:
    field_id: str
    name: str
    required: bool
    schema_type: str = "string"
    valid_values: tuple[ValidValue, ...] = ()


@dataclass(frozen=True, slots=True)
class RequestType:
    id: str
    name: str
    description: str
    issue_type_id: str
    fields: tuple[RequestField, ...]
    approvers: tuple[str, ...] = ()  # user names; a request of this type starts waiting for their approval


@dataclass(frozen=True, slots=True)
class SlaGoal:
    id: str
    name: str
    goal: dt.timedelta


@dataclass(slots=True)
class DeskComment:
    id: str
    author: SandboxUser
    body: str
    public: bool
    created: dt.datetime


@dataclass(slots=True)
class Approval:
    id: str
    name: str
    approvers: list[SandboxUser]
    created: dt.datetime
    decisions: dict[str, str] = field(default_factory=dict)  # user name -> approved/declined
    completed: dt.datetime | None = None

    @property
    def final(self) -> str:
        """``pending``, ``approved`` or ``declined`` (one approver decides)."""
        return next(iter(self.decisions.values()), "pending")


@dataclass(slots=True)
class Request:
    """A customer request (an issue of the service project)."""

    issue_id: int
    key: str
    request_type: RequestType
    reporter: SandboxUser
    created: dt.datetime
    values: dict[str, Any]
    status: str
    status_date: dt.datetime
    participants: list[SandboxUser] = field(default_factory=list)
    comments: list[DeskComment] = field(default_factory=list)
    approvals: list[Approval] = field(default_factory=list)
    first_response: dt.datetime | None = None
    resolved: dt.datetime | None = None
    paused: list[tuple[dt.datetime, dt.datetime | None]] = field(default_factory=list)  # waiting-for-customer spans

    @property
    def summary(self) -> str:
        return str(self.values.get("summary", ""))

    def involves(self, user: SandboxUser) -> bool:
        """Whether ``user`` raised the request or takes part in it (what a customer may see)."""
        return user is self.reporter or user in self.participants


SLAS = (SlaGoal("1", "Time to first response", dt.timedelta(hours=4)),
        SlaGoal("2", "Time to resolution", dt.timedelta(hours=24)))

SUMMARY = RequestField("summary", "Summary", True)
DESCRIPTION = RequestField("description", "Description", False)
REQUEST_TYPES = (
    RequestType("1", "Get IT help", "Ask for help with anything IT.", "10004", (SUMMARY, DESCRIPTION)),
    RequestType("2", "Request new hardware", "Laptops, monitors and peripherals; needs a manager's approval.",
                "10004", (SUMMARY, DESCRIPTION, RequestField(
                    "customfield_10700", "Hardware", True, "option",
                    (ValidValue("10701", "Laptop"), ValidValue("10702", "Monitor"), ValidValue("10703", "Keyboard")))),
                approvers=("carol",)),
)
# (id, name, jql, statuses shown)
QUEUES = (("1", "All open", f'project = {PROJECT_KEY} AND resolution = Unresolved ORDER BY created DESC',
           ("Waiting for approval", "Waiting for support", "Waiting for customer")),
          ("2", "Waiting for support", f'project = {PROJECT_KEY} AND status = "Waiting for support"',
           ("Waiting for support",)),
          ("3", "Resolved", f"project = {PROJECT_KEY} AND statusCategory = Done", ("Resolved", "Declined")))


class ServiceDesk:
    """The ``HELP`` service desk: request types, queues, SLA goals, agents, customers and requests."""

    id = DESK_ID
    project_key = PROJECT_KEY
    project_id = PROJECT_ID
    project_name = "Help Desk"
    request_types = REQUEST_TYPES
    slas = SLAS
    queues = QUEUES

    def __init__(self, users: list[SandboxUser]) -> None:
        by_name = {u.name: u for u in users}
        self._by_name = by_name
        self.agents = [by_name[n] for n in ("alice", "bob", "carol")]
        self.customers = [by_name[n] for n in ("dave", "frank")]
        self.requests: list[Request] = []
        self._numbers = 0
        self._comment_ids = 20000
        self._approval_ids = 0
        self._seed()

    def _seed(self) -> None:
        """Three requests of different ages, so SLAs show running, breached and paused cycles."""
        dave, frank, bob = self._by_name["dave"], self._by_name["frank"], self._by_name["bob"]
        old = self.create(REQUEST_TYPES[0], frank, {"summary": "VPN drops every hour"},
                          REFERENCE_NOW - dt.timedelta(hours=30), [])
        self.comment(old, bob, "Could you send the VPN client log?", True, REFERENCE_NOW - dt.timedelta(hours=29))
        self.move(old, "Waiting for customer", REFERENCE_NOW - dt.timedelta(hours=29))
        self.create(REQUEST_TYPES[0], dave, {"summary": "Printer on floor 2 jams"},
                    REFERENCE_NOW - dt.timedelta(hours=6), [frank])
        self.create(REQUEST_TYPES[1], frank, {"summary": "New laptop for onboarding",
                                              "customfield_10700": {"id": "10701", "value": "Laptop"}},
                    REFERENCE_NOW - dt.timedelta(hours=1), [])

    # ------------------------------------------------------------------ who sees what

    def is_agent(self, user: SandboxUser) -> bool:
        return user in self.agents

    def can_see_desk(self, user: SandboxUser) -> bool:
        return user in self.agents or user in self.customers

    def visible(self, request: Request, user: SandboxUser) -> bool:
        return self.is_agent(user) or request.involves(user)

    def request(self, id_or_key: str) -> Request | None:
        return next((r for r in self.requests if id_or_key.upper() in (r.key, str(r.issue_id))), None)

    def request_type(self, type_id: str) -> RequestType | None:
        return next((t for t in self.request_types if t.id == type_id), None)

    def user(self, name: str) -> SandboxUser | None:
        return self._by_name.get(name)

    # ------------------------------------------------------------------ writes (callers hold the store's lock)

    def create(self, request_type: RequestType, reporter: SandboxUser, values: dict[str, Any], when: dt.datetime,
               participants: list[SandboxUser]) -> Request:
        self._numbers += 1
        status = "Waiting for approval" if request_type.approvers else "Waiting for support"
        request = Request(FIRST_ISSUE_ID + self._numbers, f"{PROJECT_KEY}-{self._numbers}", request_type, reporter, when,
                          dict(values), status, when, list(participants))
        if request_type.approvers:
            self._approval_ids += 1
            request.approvals.append(Approval(str(self._approval_ids), "Waiting for approval",
                                              [self._by_name[n] for n in request_type.approvers], when))
        self.requests.append(request)
        return request

    def comment(self, request: Request, author: SandboxUser, body: str, public: bool, when: dt.datetime) -> DeskComment:
        self._comment_ids += 1
        comment = DeskComment(str(self._comment_ids), author, body, public, when)
        request.comments.append(comment)
        if public and self.is_agent(author) and request.first_response is None:
            request.first_response = when
        return comment

    def move(self, request: Request, status: str, when: dt.datetime) -> None:
        if request.status == "Waiting for customer" and request.paused:
            request.paused[-1] = (request.paused[-1][0], when)
        if status == "Waiting for customer":
            request.paused.append((when, None))
        request.status, request.status_date = status, when
        request.resolved = when if STATUSES[status] == "done" else None

    def decide(self, request: Request, approval: Approval, user: SandboxUser, decision: str, when: dt.datetime) -> None:
        approval.decisions[user.name] = "approved" if decision == "approve" else "declined"
        approval.completed = when
        self.move(request, "Waiting for support" if approval.final == "approved" else "Declined", when)

    # ------------------------------------------------------------------ SLAs

    def sla(self, request: Request, goal: SlaGoal, now: dt.datetime) -> dict[str, Any]:
        """One SLA's state at ``now``: elapsed (paused time excluded), remaining, breached, paused, stopped."""
        stop = request.first_response if goal.id == "1" else request.resolved
        end = stop or now
        paused_for = dt.timedelta()
        if goal.id == "2":
            for start, finish in request.paused:
                paused_for += max(dt.timedelta(), min(finish or end, end) - start)
        elapsed = end - request.created - paused_for
        return {"goal": goal, "start": request.created, "stop": stop, "elapsed": elapsed,
                "remaining": goal.goal - elapsed, "breached": elapsed > goal.goal,
                "paused": goal.id == "2" and stop is None and request.status == "Waiting for customer"}
