"""Jira Service Management: ``/rest/servicedeskapi/...`` (the same paths on Cloud and Data Center).

Service desks, queues and their issues (agents only: a customer gets 403), request types and
their fields, customer requests (create, get with status, SLAs, approvals and participants),
request comments (public or internal), approvals, request transitions and participants.
Lists are ``PagedDTO`` pages (``start``, ``limit``, ``size``, ``isLastPage``, ``values``).
Users are named by ``accountId`` on Cloud and by user name on Data Center.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jiraplug.sandbox.model import SandboxUser
from jiraplug.sandbox.serialize import jira_datetime
from jiraplug.sandbox.servicedesk import STATUSES, TRANSITIONS, Request, ServiceDesk
from jiraplug.sandbox.timefmt import format_duration
from jiraplug.sandbox.web import Call, JiraError, api, int_param, json_response
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]

BASE = "/rest/servicedeskapi"


def _date(moment: dt.datetime | None) -> dict[str, Any] | None:
    if moment is None:
        return None
    return {"iso8601": moment.strftime("%Y-%m-%dT%H:%M:%S+0000"), "jira": jira_datetime(moment),
            "friendly": moment.strftime("%d/%b/%y %I:%M %p"), "epochMillis": int(moment.timestamp() * 1000)}


def _duration(delta: dt.timedelta) -> dict[str, Any]:
    millis = int(delta.total_seconds() * 1000)
    text = format_duration(abs(int(delta.total_seconds())))
    return {"millis": millis, "friendly": f"-{text}" if millis < 0 else text}


def _page(call: Call, values: list[Any]) -> Response:
    start = int_param(call.request, "start", 0)
    limit = max(1, min(int_param(call.request, "limit", 50), 100))
    chunk = values[start:start + limit]
    return json_response({"size": len(chunk), "start": start, "limit": limit,
                          "isLastPage": start + len(chunk) >= len(values), "values": chunk})


def _desk(call: Call) -> ServiceDesk:
    desk = call.store.service_desk
    if call.request.path_params.get("desk", desk.id) != desk.id or not desk.can_see_desk(call.user):
        raise JiraError(404, "The service desk does not exist or you do not have permission to access it.")
    return desk


def _agent(call: Call, desk: ServiceDesk) -> None:
    if not desk.is_agent(call.user):
        raise JiraError(403, "You do not have permission to access this resource; you must be an agent.")


def _request(call: Call) -> tuple[ServiceDesk, Request]:
    desk = call.store.service_desk
    found = desk.request(call.request.path_params["key"])
    if found is None or not desk.visible(found, call.user):
        raise JiraError(404, "The request does not exist or you do not have permission to see it.")
    return desk, found


def _user_ref(call: Call, user: SandboxUser) -> dict[str, Any]:
    ref = {"accountId": user.account_id} if call.flavour == "cloud" else {"name": user.name, "key": user.key}
    return {**ref, "displayName": user.display_name, "emailAddress": user.email, "active": user.active}


def _users(call: Call, desk: ServiceDesk, idents: Any, what: str) -> list[SandboxUser]:
    if not isinstance(idents, list):
        raise JiraError(400, f"'{what}' must be a list.")
    found = []
    for ident in idents:
        user = call.store.user_by_ref(str(ident), call.flavour)
        if user is None:
            raise JiraError(400, f"The user '{ident}' does not exist.")
        found.append(user)
    return found


def _desk_json(desk: ServiceDesk) -> dict[str, Any]:
    return {"id": desk.id, "projectId": desk.project_id, "projectName": desk.project_name,
            "projectKey": desk.project_key}


def _status(request: Request) -> dict[str, Any]:
    return {"status": request.status, "statusCategory": STATUSES[request.status].upper(),
            "statusDate": _date(request.status_date)}


def _sla(call: Call, desk: ServiceDesk, request: Request) -> list[dict[str, Any]]:
    out = []
    for goal in desk.slas:
        state = desk.sla(request, goal, call.store.now())
        cycle = {"startTime": _date(state["start"]), "breachTime": _date(state["start"] + goal.goal),
                 "breached": state["breached"], "paused": state["paused"], "withinCalendarHours": True,
                 "goalDuration": _duration(goal.goal), "elapsedTime": _duration(state["elapsed"]),
                 "remainingTime": _duration(state["remaining"])}
        body: dict[str, Any] = {"id": goal.id, "name": goal.name, "completedCycles": [],
                                "_links": {"self": f"{BASE}/request/{request.issue_id}/sla/{goal.id}"}}
        if state["stop"] is None:
            body["ongoingCycle"] = cycle
        else:
            body["completedCycles"] = [{k: v for k, v in cycle.items() if k not in ("paused", "withinCalendarHours")}
                                       | {"stopTime": _date(state["stop"])}]
        out.append(body)
    return out


def _approval(call: Call, desk: ServiceDesk, request: Request, approval: Any) -> dict[str, Any]:
    return {"id": approval.id, "name": approval.name, "finalDecision": approval.final,
            "canAnswerApproval": approval.final == "pending" and call.user in approval.approvers,
            "approvers": [{"approver": _user_ref(call, u), "approverDecision": approval.decisions.get(u.name, "pending")}
                          for u in approval.approvers],
            "createdDate": _date(approval.created), "completedDate": _date(approval.completed)}


def _request_json(call: Call, desk: ServiceDesk, request: Request, expand: set[str]) -> dict[str, Any]:
    fields = {f.field_id: f.name for f in request.request_type.fields}
    body: dict[str, Any] = {
        "issueId": str(request.issue_id), "issueKey": request.key, "requestTypeId": request.request_type.id,
        "serviceDeskId": desk.id, "createdDate": _date(request.created), "reporter": _user_ref(call, request.reporter),
        "requestFieldValues": [{"fieldId": k, "label": fields.get(k, k), "value": v} for k, v in request.values.items()],
        "currentStatus": _status(request),
        "_links": {"web": f"{str(call.request.base_url).rstrip('/')}/servicedesk/customer/portal/1/{request.key}"},
    }
    if "requestType" in expand:
        body["requestType"] = {"id": request.request_type.id, "name": request.request_type.name}
    if "participant" in expand:
        body["requestParticipants"] = [_user_ref(call, u) for u in request.participants]
    if "sla" in expand:
        body["sla"] = {"values": _sla(call, desk, request)}
    if "action" in expand:
        body["actions"] = {"addComment": {"allowed": True}, "addAttachment": {"allowed": True}}
    return body


@api
async def list_desks(call: Call) -> Response:
    desk = call.store.service_desk
    return _page(call, [_desk_json(desk)] if desk.can_see_desk(call.user) else [])


@api
async def get_desk(call: Call) -> Response:
    return json_response(_desk_json(_desk(call)))


@api
async def list_queues(call: Call) -> Response:
    desk = _desk(call)
    _agent(call, desk)
    count = call.request.query_params.get("includeCount") == "true"
    values = []
    for queue_id, name, jql, statuses in desk.queues:
        item: dict[str, Any] = {"id": queue_id, "name": name, "jql": jql, "fields": ["issuetype", "issuekey",
                                                                                     "summary", "status"]}
        if count:
            item["issueCount"] = sum(1 for r in desk.requests if r.status in statuses)
        values.append(item)
    return _page(call, values)


@api
async def queue_issues(call: Call) -> Response:
    desk = _desk(call)
    _agent(call, desk)
    queue = next((q for q in desk.queues if q[0] == call.request.path_params["queue"]), None)
    if queue is None:
        raise JiraError(404, "The queue does not exist.")
    found = sorted((r for r in desk.requests if r.status in queue[3]), key=lambda r: r.created, reverse=True)
    return _page(call, [{"id": str(r.issue_id), "key": r.key,
                         "fields": {"summary": r.summary, "status": {"name": r.status},
                                    "created": jira_datetime(r.created)}} for r in found])


@api
async def request_types(call: Call) -> Response:
    desk = _desk(call)
    return _page(call, [{"id": t.id, "name": t.name, "description": t.description, "helpText": "",
                         "issueTypeId": t.issue_type_id, "serviceDeskId": desk.id, "groupIds": []}
                        for t in desk.request_types])


@api
async def request_type_fields(call: Call) -> Response:
    desk = _desk(call)
    rtype = desk.request_type(call.request.path_params["type"])
    if rtype is None:
        raise JiraError(404, "The request type does not exist.")
    return json_response({
        "requestTypeFields": [{"fieldId": f.field_id, "name": f.name, "description": "", "required": f.required,
                               "validValues": [{"value": v.value, "label": v.label, "children": []}
                                               for v in f.valid_values],
                               "jiraSchema": {"type": f.schema_type, "system": f.field_id}}
                              for f in rtype.fields],
        "canRaiseOnBehalfOf": desk.is_agent(call.user), "canAddRequestParticipants": True})


@api
async def create_request(call: Call) -> Response:
    body = await call.json_body()
    desk = call.store.service_desk
    if str(body.get("serviceDeskId")) != desk.id or not desk.can_see_desk(call.user):
        raise JiraError(404, "The service desk does not exist or you do not have permission to access it.")
    rtype = desk.request_type(str(body.get("requestTypeId")))
    if rtype is None:
        raise JiraError(400, "The request type does not exist.", {"requestTypeId": "Invalid request type."})
    values = body.get("requestFieldValues") or {}
    if not isinstance(values, dict):
        raise JiraError(400, "'requestFieldValues' must be an object.")
    known = {f.field_id: f for f in rtype.fields}
    errors = {k: f"Field '{k}' is not on this request type." for k in values if k not in known}
    errors |= {f.field_id: f"{f.name} is required." for f in rtype.fields if f.required and not values.get(f.field_id)}
    for field_id, value in values.items():
        spec = known.get(field_id)
        if spec is not None and spec.valid_values:
            wanted = value.get("id") if isinstance(value, dict) else value
            match = next((v for v in spec.valid_values if str(wanted) in (v.value, v.label)), None)
            if match is None:
                errors[field_id] = f"'{wanted}' is not a valid value for {spec.name}."
            else:
                values[field_id] = {"id": match.value, "value": match.label}
    if errors:
        raise JiraError(400, [], errors)
    reporter = call.user
    if body.get("raiseOnBehalfOf"):
        if not desk.is_agent(call.user):
            raise JiraError(400, "You do not have permission to raise requests on behalf of customers.")
        reporter = _users(call, desk, [body["raiseOnBehalfOf"]], "raiseOnBehalfOf")[0]
        if not desk.can_see_desk(reporter):
            raise JiraError(400, f"'{body['raiseOnBehalfOf']}' is not a customer of this service desk.")
    participants = _users(call, desk, body.get("requestParticipants") or [], "requestParticipants")
    with call.store.lock:
        request = desk.create(rtype, reporter, values, call.store.stamp(), participants)
    return json_response(_request_json(call, desk, request, {"participant"}), 201)


@api
async def my_requests(call: Call) -> Response:
    desk = call.store.service_desk
    return _page(call, [_request_json(call, desk, r, set()) for r in desk.requests if r.involves(call.user)])


@api
async def get_request(call: Call) -> Response:
    desk, request = _request(call)
    expand = {part.strip() for part in call.request.query_params.get("expand", "").split(",")}
    return json_response(_request_json(call, desk, request, expand))


@api
async def request_sla(call: Call) -> Response:
    desk, request = _request(call)
    return _page(call, _sla(call, desk, request))


@api
async def approvals(call: Call) -> Response:
    desk, request = _request(call)
    return _page(call, [_approval(call, desk, request, a) for a in request.approvals])


@api
async def answer_approval(call: Call) -> Response:
    desk, request = _request(call)
    approval = next((a for a in request.approvals if a.id == call.request.path_params["approval"]), None)
    if approval is None:
        raise JiraError(404, "The approval does not exist.")
    decision = (await call.json_body()).get("decision")
    if decision not in ("approve", "decline"):
        raise JiraError(400, "'decision' must be 'approve' or 'decline'.")
    if call.user not in approval.approvers:
        raise JiraError(403, "You are not an approver of this request.")
    if approval.final != "pending":
        raise JiraError(400, "This approval has already been answered.")
    with call.store.lock:
        desk.decide(request, approval, call.user, decision, call.store.stamp())
    return json_response(_approval(call, desk, request, approval))


@api
async def comments(call: Call) -> Response:
    desk, request = _request(call)
    agent = desk.is_agent(call.user)
    return _page(call, [_comment(call, c) for c in request.comments if c.public or agent])


def _comment(call: Call, comment: Any) -> dict[str, Any]:
    return {"id": comment.id, "body": comment.body, "public": comment.public,
            "author": _user_ref(call, comment.author), "created": _date(comment.created)}


@api
async def add_comment(call: Call) -> Response:
    desk, request = _request(call)
    body = await call.json_body()
    text, public = body.get("body"), body.get("public", True)
    if not isinstance(text, str) or not text.strip():
        raise JiraError(400, "The comment body is required.", {"body": "Comment body can not be empty!"})
    if not isinstance(public, bool):
        raise JiraError(400, "'public' must be true or false.")
    if not public and not desk.is_agent(call.user):
        raise JiraError(403, "Only agents can add internal comments.")
    with call.store.lock:
        comment = desk.comment(request, call.user, text, public, call.store.stamp())
    return json_response(_comment(call, comment), 201)


@api
async def transitions(call: Call) -> Response:
    desk, request = _request(call)
    offered = TRANSITIONS.get(request.status, []) if desk.is_agent(call.user) else []
    return _page(call, [{"id": tid, "name": name} for tid, name, _ in offered])


@api
async def do_transition(call: Call) -> Response:
    desk, request = _request(call)
    body = await call.json_body()
    offered = TRANSITIONS.get(request.status, []) if desk.is_agent(call.user) else []
    target = next((t for t in offered if t[0] == str(body.get("id"))), None)
    if target is None:
        raise JiraError(400, f"Transition '{body.get('id')}' is not available for this request.")
    extra = body.get("additionalComment") or {}
    with call.store.lock:
        when = call.store.stamp()
        if isinstance(extra, dict) and str(extra.get("body") or "").strip():
            desk.comment(request, call.user, str(extra["body"]), True, when)
        desk.move(request, target[2], when)
    return Response(status_code=204)


def _participant_idents(call: Call, body: dict[str, Any]) -> list[Any]:
    name = "accountIds" if call.flavour == "cloud" else "usernames"
    if name not in body:
        raise JiraError(400, f"'{name}' is required.")
    return body[name]


@api
async def participants(call: Call) -> Response:
    _, request = _request(call)
    return _page(call, [_user_ref(call, u) for u in request.participants])


@api
async def add_participants(call: Call) -> Response:
    desk, request = _request(call)
    users = _users(call, desk, _participant_idents(call, await call.json_body()), "participants")
    with call.store.lock:
        request.participants.extend(u for u in users if u not in request.participants)
    return _page(call, [_user_ref(call, u) for u in request.participants])


@api
async def remove_participants(call: Call) -> Response:
    desk, request = _request(call)
    users = _users(call, desk, _participant_idents(call, await call.json_body()), "participants")
    with call.store.lock:
        request.participants = [u for u in request.participants if u not in users]
    return _page(call, [_user_ref(call, u) for u in request.participants])


def routes() -> list[Route]:
    """The routes of this module."""
    desk, req = f"{BASE}/servicedesk/{{desk}}", f"{BASE}/request/{{key}}"
    return [
        Route(f"{BASE}/servicedesk", list_desks, methods=["GET"]),
        Route(desk, get_desk, methods=["GET"]),
        Route(f"{desk}/queue", list_queues, methods=["GET"]),
        Route(f"{desk}/queue/{{queue}}/issue", queue_issues, methods=["GET"]),
        Route(f"{desk}/requesttype", request_types, methods=["GET"]),
        Route(f"{desk}/requesttype/{{type}}/field", request_type_fields, methods=["GET"]),
        Route(f"{BASE}/request", my_requests, methods=["GET"]),
        Route(f"{BASE}/request", create_request, methods=["POST"]),
        Route(req, get_request, methods=["GET"]),
        Route(f"{req}/sla", request_sla, methods=["GET"]),
        Route(f"{req}/approval", approvals, methods=["GET"]),
        Route(f"{req}/approval/{{approval}}", answer_approval, methods=["POST"]),
        Route(f"{req}/comment", comments, methods=["GET"]),
        Route(f"{req}/comment", add_comment, methods=["POST"]),
        Route(f"{req}/transition", transitions, methods=["GET"]),
        Route(f"{req}/transition", do_transition, methods=["POST"]),
        Route(f"{req}/participant", participants, methods=["GET"]),
        Route(f"{req}/participant", add_participants, methods=["POST"]),
        Route(f"{req}/participant", remove_participants, methods=["DELETE"]),
    ]
