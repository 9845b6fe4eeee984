"""Built-in toolset ``service_desk``: Jira Service Management (``/rest/servicedeskapi``, Cloud and DC).

Service desks and their queues, request types and their fields, customer requests (create,
read with status, SLAs, approvals and participants), request comments (public or internal),
approvals, request transitions and participants. Jira's own rules apply: queues are for
agents, a customer sees only the requests they raised or take part in.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.server.projects_filter import allowed_projects, guard_issue, guard_project, outside
from jiraplug.server.registry import ToolRegistry
from jiraplug.server.toolkit import IssueKey, Limit, StartAt, jira, numeric_id
from jiraplug.tool_errors import UserFacingError

SD = "/rest/servicedeskapi"
DeskId = Annotated[str, Field(description="Service desk id (jira_list_service_desks)")]
Users = Annotated[list[str], Field(description="accountIds (Cloud) or usernames (DC)")]


async def _get(path: str, operation: str, subject: str | None = None, **params: Any) -> Any:
    client = await jira().ready()
    # fresh: SLAs tick and requests change under agents and customers alike; never a cached copy
    return await client.request("GET", f"{SD}{path}", operation=operation, params=params or None, subject=subject,
                                fresh=True)


async def _write(method: str, path: str, operation: str, key: str, body: Any) -> Any:
    client = await jira().ready()
    return await client.request(method, f"{SD}{path}", operation=operation, json_body=body,
                                touches=(f"issue:{key}",), subject=key)


def _page(body: dict[str, Any], items: list[Any]) -> dict[str, Any]:
    last = body.get("isLastPage", True)
    return {"items": items, "next_start_at": None if last else body.get("start", 0) + body.get("size", len(items))}


def _desk(raw: dict[str, Any]) -> dict[str, Any]:
    return {"id": str(raw.get("id")), "project_key": raw.get("projectKey"), "project": raw.get("projectName")}


async def _guard_desk(desk_id: str) -> str:
    """The service desk's id, refused when its project is outside ``JIRA_PROJECTS_FILTER``."""
    desk_id = numeric_id(desk_id, "service desk", "jira_list_service_desks")
    projects = allowed_projects()
    if projects:
        desk = await _get(f"/servicedesk/{desk_id}", "servicedesk.get")
        if str(desk.get("projectKey", "")).upper() not in projects:
            raise outside(f"service desk {desk_id}", projects)
    return desk_id


def _who(user: dict[str, Any] | None) -> str | None:
    user = user or {}
    return user.get("displayName") or user.get("accountId") or user.get("name")


def _when(value: dict[str, Any] | None) -> str | None:
    return (value or {}).get("iso8601")


async def jira_list_service_desks(project_key: str | None = None, start_at: StartAt = 0,
                                  limit: Limit = 50) -> dict[str, Any]:
    """List service desks (Jira Service Management); project_key: only that project's desk."""
    wanted = guard_project(project_key) if project_key else None
    body = await _get("/servicedesk", "servicedesk.list", start=start_at, limit=limit)
    projects = allowed_projects()
    desks = [_desk(d) for d in body.get("values") or []
             if (not projects or str(d.get("projectKey")).upper() in projects)
             and (wanted is None or str(d.get("projectKey")).upper() == wanted)]
    return _page(body, desks)


async def jira_list_queues(service_desk_id: DeskId) -> dict[str, Any]:
    """Queues of a service desk with their issue counts (agents only)."""
    service_desk_id = await _guard_desk(service_desk_id)
    body = await _get(f"/servicedesk/{service_desk_id}/queue", "servicedesk.queues", includeCount="true")
    return _page(body, [{"id": q.get("id"), "name": q.get("name"), "jql": q.get("jql"), "count": q.get("issueCount")}
                        for q in body.get("values") or []])


async def jira_get_queue_issues(service_desk_id: DeskId, queue_id: str, start_at: StartAt = 0,
                                limit: Limit = 50) -> dict[str, Any]:
    """Issues in a service desk queue."""
    service_desk_id = await _guard_desk(service_desk_id)
    queue_id = numeric_id(queue_id, "queue", "jira_list_queues")
    body = await _get(f"/servicedesk/{service_desk_id}/queue/{queue_id}/issue", "servicedesk.queue_issues",
                      start=start_at, limit=limit)
    fields = [(i, i.get("fields") or {}) for i in body.get("values") or []]
    return _page(body, [{"key": i.get("key"), "summary": f.get("summary"), "status": (f.get("status") or {}).get("name")}
                        for i, f in fields])


async def jira_get_request_types(service_desk_id: DeskId,
                                 request_type_id: str | None = None) -> dict[str, Any]:
    """Request types of a service desk; with request_type_id, its fields (required, valid values)."""
    service_desk_id = await _guard_desk(service_desk_id)
    if request_type_id is None:
        body = await _get(f"/servicedesk/{service_desk_id}/requesttype", "servicedesk.request_types", limit=100)
        return _page(body, [{"id": t.get("id"), "name": t.get("name"), "description": t.get("description")}
                            for t in body.get("values") or []])
    request_type_id = numeric_id(request_type_id, "request type", "jira_get_request_types")
    body = await _get(f"/servicedesk/{service_desk_id}/requesttype/{request_type_id}/field",
                      "servicedesk.request_type_fields")
    return {"request_type_id": request_type_id, "can_raise_on_behalf_of": body.get("canRaiseOnBehalfOf"),
            "fields": [{"id": f.get("fieldId"), "name": f.get("name"), "required": f.get("required"),
                        "type": (f.get("jiraSchema") or {}).get("type"),
                        "valid_values": [{"id": v.get("value"), "label": v.get("label")}
                                         for v in f.get("validValues") or []]}
                       for f in body.get("requestTypeFields") or []]}


def _request(raw: dict[str, Any]) -> dict[str, Any]:
    status = raw.get("currentStatus") or {}
    out: dict[str, Any] = {
        "key": raw.get("issueKey"), "request_type_id": raw.get("requestTypeId"),
        "service_desk_id": raw.get("serviceDeskId"), "created": _when(raw.get("createdDate")),
        "reporter": _who(raw.get("reporter")), "status": status.get("status"),
        "status_category": status.get("statusCategory"),
        "fields": {v.get("fieldId"): v.get("value") for v in raw.get("requestFieldValues") or []},
    }
    if "requestParticipants" in raw:
        out["participants"] = [_who(u) for u in raw["requestParticipants"]]
    if "sla" in raw:
        out["slas"] = [_sla(s) for s in (raw["sla"] or {}).get("values") or []]
    return out


def _sla(raw: dict[str, Any]) -> dict[str, Any]:
    cycle = raw.get("ongoingCycle") or next(iter(reversed(raw.get("completedCycles") or [])), {})
    friendly = {name: (cycle.get(name) or {}).get("friendly") for name in ("goalDuration", "elapsedTime",
                                                                           "remainingTime")}
    return {"name": raw.get("name"), "goal": friendly["goalDuration"], "elapsed": friendly["elapsedTime"],
            "remaining": friendly["remainingTime"], "breached": cycle.get("breached"),
            "paused": cycle.get("paused", False), "completed": "ongoingCycle" not in raw}


async def jira_create_request(
    service_desk_id: DeskId,
    request_type_id: str,
    fields: Annotated[dict[str, Any], Field(description="fieldId -> value, e.g. summary, description")],
    on_behalf_of: Annotated[str | None, Field(description="customer accountId/username")] = None,
    participants: Users | None = None,
) -> dict[str, Any]:
    """Create a customer request."""
    service_desk_id = await _guard_desk(service_desk_id)
    body: dict[str, Any] = {"serviceDeskId": service_desk_id, "requestTypeId": request_type_id,
                            "requestFieldValues": fields}
    if on_behalf_of:
        body["raiseOnBehalfOf"] = on_behalf_of
    if participants:
        body["requestParticipants"] = participants
    client = await jira().ready()
    created = await client.request("POST", f"{SD}/request", operation="servicedesk.request_create", json_body=body)
    return _request(created)


async def jira_get_request(issue_key: IssueKey) -> dict[str, Any]:
    """A customer request: status, SLAs, approvals, participants, transitions."""
    key = guard_issue(issue_key)
    raw = await _get(f"/request/{key}", "servicedesk.request_get", key, expand="sla,participant,requestType")
    approvals = await _get(f"/request/{key}/approval", "servicedesk.approvals", key)
    moves = await _get(f"/request/{key}/transition", "servicedesk.transitions", key)
    return {**_request(raw), "request_type": (raw.get("requestType") or {}).get("name"),
            "approvals": [{"id": a.get("id"), "name": a.get("name"), "decision": a.get("finalDecision"),
                           "can_answer": a.get("canAnswerApproval"),
                           "approvers": [_who(x.get("approver")) for x in a.get("approvers") or []]}
                          for a in approvals.get("values") or []],
            "transitions": [{"id": t.get("id"), "name": t.get("name")} for t in moves.get("values") or []]}


async def jira_add_request_comment(issue_key: IssueKey, body: Annotated[str, Field(min_length=1)],
                                   public: Annotated[bool, Field(description="false: internal")] = True
                                   ) -> dict[str, Any]:
    """Comment on a customer request (public, or internal: agents only)."""
    key = guard_issue(issue_key)
    made = await _write("POST", f"/request/{key}/comment", "servicedesk.comment_add", key,
                        {"body": body, "public": public})
    return {"issue_key": key, "id": made.get("id"), "public": made.get("public")}


async def jira_answer_approval(issue_key: IssueKey, approval_id: str,
                               decision: Literal["approve", "decline"]) -> dict[str, Any]:
    """Approve or decline a request's pending approval."""
    key = guard_issue(issue_key)
    approval_id = numeric_id(approval_id, "approval", "jira_get_request")
    done = await _write("POST", f"/request/{key}/approval/{approval_id}", "servicedesk.approval_answer", key,
                        {"decision": decision})
    return {"issue_key": key, "approval_id": approval_id, "decision": done.get("finalDecision")}


async def jira_transition_request(issue_key: IssueKey, transition_id: str,
                                  comment: str | None = None) -> dict[str, Any]:
    """Move a customer request through its workflow (ids: jira_get_request)."""
    key = guard_issue(issue_key)
    body: dict[str, Any] = {"id": transition_id}
    if comment:
        body["additionalComment"] = {"body": comment}
    await _write("POST", f"/request/{key}/transition", "servicedesk.transition", key, body)
    return {"issue_key": key, "transition_id": transition_id}


async def jira_edit_request_participants(issue_key: IssueKey, add: Users | None = None,
                                         remove: Users | None = None) -> dict[str, Any]:
    """Add or remove participants of a customer request."""
    key = guard_issue(issue_key)
    if not add and not remove:
        raise UserFacingError("give add or remove (a list of users)")
    name = "accountIds" if jira().is_cloud else "usernames"
    body: dict[str, Any] = {}
    for method, users in (("POST", add), ("DELETE", remove)):
        if users:
            body = await _write(method, f"/request/{key}/participant", "servicedesk.participants", key,
                                {name: users})
    return {"issue_key": key, "participants": [_who(u) for u in body.get("values") or []]}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    for tool, title in ((jira_list_service_desks, "List service desks"), (jira_list_queues, "List queues"),
                        (jira_get_queue_issues, "Queue issues"), (jira_get_request_types, "Request types"),
                        (jira_get_request, "Get request")):
        registry.add(tool, title=title, read_only=True, idempotent=True)
    registry.add(jira_create_request, title="Create request")
    registry.add(jira_add_request_comment, title="Comment on request")
    registry.add(jira_answer_approval, title="Answer approval")
    registry.add(jira_transition_request, title="Transition request")
    registry.add(jira_edit_request_participants, title="Edit participants", idempotent=True)
