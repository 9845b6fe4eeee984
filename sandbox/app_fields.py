"""Service Management and app field values of issues on ``/rest/api/{v}/issue``, as real sites send them.

- The ``HELP`` project's requests are issues too: ``GET /rest/api/{v}/issue/HELP-1`` (agents)
  answers an issue bean (:func:`request_issue`) whose Service Management fields hold the request
  type with the customer-facing status, the SLAs, approvals, participants, satisfaction and
  organizations, in the same JSON on Cloud and Data Center.
- On other issues those fields are null, but for the SLAs on Cloud, which carry the error object
  Cloud sends for an issue outside a service project.
- Cloud sites that are not Premium send, on every issue asked for with ``*all`` (or by id):
  Advanced Roadmaps' Parent Link with its licence error, the Development summary as a string,
  the encoded "Time in Status" and an empty ``issuerestriction``.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from jiraplug.sandbox.desk_json import approval_json, sla_json, status_json
from jiraplug.sandbox.devinfo import dev_summary
from jiraplug.sandbox.fields import (
    APPROVALS,
    DEVELOPMENT,
    FIRST_RESPONSE,
    ORGANIZATIONS,
    PARENT_LINK,
    PARTICIPANTS,
    REQUEST_TYPE,
    RESOLUTION_SLA,
    SATISFACTION,
    TIME_IN_STATUS,
    FieldSelection,
)
from jiraplug.sandbox.model import Issue, IssueType, Status
from jiraplug.sandbox.reference import STATUS_CATEGORIES
from jiraplug.sandbox.richtext import Doc, Paragraph, Text
from jiraplug.sandbox.servicedesk import STATUSES, Request, ServiceDesk
from jiraplug.sandbox.timefmt import jira_datetime

if TYPE_CHECKING:
    from jiraplug.sandbox.serialize import Renderer

__all__ = ["app_value", "request_issue"]

_SLA_GOALS = {FIRST_RESPONSE: "1", RESOLUTION_SLA: "2"}
_NO_SERVICE_PROJECT = {"errorMessage": "The service project you are trying to view does not exist.",
                       "i18nErrorMessage": {"i18nKey": "sd.admin.servicedesk.notfound", "parameters": []}}
_NOT_LICENSED = {"hasEpicLinkFieldDependency": False, "showField": False,
                 "nonEditableReason": {"reason": "PLUGIN_LICENSE_ERROR",
                                       "message": "The Parent Link is only available to Jira Premium users."}}
_SERVICE_REQUEST = IssueType("10100", "Service Request", "Created by Jira Service Management.", False, 0, 10320)


def app_value(renderer: Renderer, issue: Issue, field_id: str) -> Any:
    """The value of a Service Management or app field of a tracker issue (``None`` when it has none)."""
    cloud = renderer.flavour == "cloud"
    if field_id in _SLA_GOALS:
        return dict(_NO_SERVICE_PROJECT) if cloud else None
    if not cloud:
        return None
    if field_id in (PARENT_LINK, "issuerestriction"):
        return _premium_only(field_id)
    if field_id == DEVELOPMENT:
        return _development(issue.key)
    if field_id == TIME_IN_STATUS:
        return _time_in_status(renderer, issue)
    return None


def _premium_only(field_id: str) -> Any:
    """Parent Link and issue restrictions as a Cloud site without Premium sends them on every issue."""
    if field_id == PARENT_LINK:
        return dict(_NOT_LICENSED)
    return {"issuerestrictions": {}, "shouldDisplay": False}


def _development(key: str) -> str:
    """Cloud's Development value: a Java map of the pull request state, then the summary as JSON."""
    summary = dev_summary(key)
    if not any(kind["overall"]["count"] for kind in summary.values()):
        return "{}"
    pulls = summary["pullrequest"]["overall"]
    head = (f"pullrequest={{dataType=pullrequest, state={pulls['state']}, stateCount={pulls['stateCount']}}}, "
            if pulls.get("state") else "")
    cached = json.dumps({"cachedValue": {"errors": [], "configErrors": [], "summary": summary}, "isStale": False},
                        separators=(",", ":"))
    return f"{{{head}json={cached}}}"


def _time_in_status(renderer: Renderer, issue: Issue) -> str:
    """``statusId_*:*_timesEntered_*:*_millis`` per status the issue has been in, joined by ``_*|*_``."""
    moves = sorted((history.created, item.from_id, item.to_id) for history in issue.changelog
                   for item in history.items if item.field == "status")
    visits = [(moves[0][1] if moves else issue.status.id, issue.created), *((to, when) for when, _, to in moves)]
    ends = [start for _, start in visits[1:]] + [renderer.store.now()]
    per_status: dict[str, list[int]] = {}
    for (status_id, start), end in zip(visits, ends, strict=True):
        entry = per_status.setdefault(str(status_id), [0, 0])
        entry[0] += 1
        entry[1] += int((end - start).total_seconds() * 1000)
    return "_*|*_".join(f"{sid}_*:*_{times}_*:*_{millis}" for sid, (times, millis) in per_status.items())


# -------------------------------------------------------------------------- requests as issues


def _status(request: Request) -> Status:
    category = STATUS_CATEGORIES[STATUSES[request.status]]
    ids = {name: str(10200 + number) for number, name in enumerate(STATUSES)}
    return Status(ids[request.status], request.status, "", category, "/images/icons/statuses/generic.png")


def _request_value(renderer: Renderer, desk: ServiceDesk, request: Request, field_id: str) -> Any:
    """The value of one field of ``request`` seen as an issue."""
    if field_id in _SLA_GOALS:
        goal = next(g for g in desk.slas if g.id == _SLA_GOALS[field_id])
        return sla_json(desk, request, goal, renderer.store.now())
    if field_id == REQUEST_TYPE:
        web = f"{renderer.base}/servicedesk/customer/portal/{desk.id}/{request.key}"
        kind = request.request_type
        return {"_links": {"web": web}, "requestType": {"id": kind.id, "name": kind.name,
                                                          "description": kind.description, "serviceDeskId": desk.id},
                "currentStatus": status_json(request)}
    if field_id == APPROVALS:
        return [approval_json(a, renderer.viewer, renderer.user) for a in request.approvals] or None
    if field_id == PARTICIPANTS:
        return [renderer.user(u) for u in request.participants] or None
    if field_id == ORGANIZATIONS:
        return [{"id": 1 + sum(map(ord, name)) % 97, "name": name} for name in request.organizations] or None
    if field_id == SATISFACTION:
        return {"rating": request.satisfaction[0], "comment": request.satisfaction[1]} if request.satisfaction else None
    simple = {
        "summary": request.summary,
        "description": renderer.text(Doc((Paragraph((Text(str(request.values["description"])),)),)))
        if request.values.get("description") else None,
        "status": renderer.status(_status(request)),
        "issuetype": renderer.issuetype(_SERVICE_REQUEST),
        "reporter": renderer.user(request.reporter),
        "creator": renderer.user(request.reporter),
        "created": jira_datetime(request.created),
        "updated": jira_datetime(max([request.status_date, *(c.created for c in request.comments)])),
        "resolutiondate": jira_datetime(request.resolved),
        "project": {"id": desk.project_id, "key": desk.project_key, "name": desk.project_name,
                    "projectTypeKey": "service_desk"},
        "labels": [],
    }
    return simple.get(field_id)


def request_issue(renderer: Renderer, desk: ServiceDesk, request: Request, selection: FieldSelection,
                  expand: set[str]) -> dict[str, Any]:
    """A customer request as the issue bean ``GET /rest/api/{v}/issue/{key}`` answers."""
    body: dict[str, Any] = {"id": str(request.issue_id), "self": f"{renderer.api}/issue/{request.issue_id}",
                            "key": request.key}
    if "names" in expand:
        body["names"] = renderer.names(selection.ids)
    if "schema" in expand:
        body["schema"] = renderer.schema(selection.ids)
    body["fields"] = {fid: _request_value(renderer, desk, request, fid) for fid in selection.ids}
    if renderer.flavour == "cloud":  # Cloud's app fields, on requests too
        for fid in (PARENT_LINK, "issuerestriction"):
            if fid in body["fields"]:
                body["fields"][fid] = _premium_only(fid)
    return body
