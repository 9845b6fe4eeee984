"""Worklogs: ``/rest/api/{v}/issue/{key}/worklog[/{id}]``.

``timeSpent`` takes Jira durations (``"1h 30m"``, ``"2d"``; 1d = 8h, 1w = 5d) or
``timeSpentSeconds``; ``started`` is a Jira timestamp (default: now); ``comment`` is ADF on
Cloud v3, wiki markup elsewhere. ``adjustEstimate`` (``auto``, ``new`` + ``newEstimate``,
``manual`` + ``reduceBy``/``increaseBy``, ``leave``) updates the issue's remaining estimate;
the issue's time tracking and changelog follow every write.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jiraplug.sandbox import ops
from jiraplug.sandbox.issue_input import BadValue, FieldErrors, parse_rich_text
from jiraplug.sandbox.model import Issue, Worklog
from jiraplug.sandbox.richtext import Doc
from jiraplug.sandbox.timefmt import parse_duration, parse_timestamp
from jiraplug.sandbox.web import Call, JiraError, api, json_response, page_params
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]

_ADJUST = ("auto", "new", "leave", "manual")
_MISSING_TIME = "You must indicate the time spent working."
_BAD_TIME = "Invalid time duration entered."


def _seconds(payload: dict[str, Any], errors: dict[str, str], *, required: bool) -> int | None:
    if "timeSpentSeconds" in payload and payload["timeSpentSeconds"] is not None:
        value = payload["timeSpentSeconds"]
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            errors["timeLogged"] = _BAD_TIME
            return None
        return value
    if "timeSpent" in payload and payload["timeSpent"] is not None:
        seconds = parse_duration(str(payload["timeSpent"]))
        if not seconds:
            errors["timeLogged"] = _BAD_TIME
            return None
        return seconds
    if required:
        errors["timeLogged"] = _MISSING_TIME
    return None


def _started(payload: dict[str, Any], errors: dict[str, str]) -> dt.datetime | None:
    raw = payload.get("started")
    if raw is None:
        return None
    moment = parse_timestamp(str(raw))
    if moment is None:
        errors["started"] = (f"Could not parse the date/time '{raw}'. Use the format "
                             "yyyy-MM-dd'T'HH:mm:ss.SSSZ, e.g. 2026-11-20T10:30:00.000+0000.")
    return moment


def _comment(call: Call, payload: dict[str, Any], errors: dict[str, str]) -> Doc | None:
    try:
        return parse_rich_text(payload.get("comment"), call.flavour == "cloud" and call.render.api_version == "3")
    except BadValue as exc:
        errors["comment"] = str(exc)
        return None


def _adjustment(call: Call, errors: dict[str, str], amount_param: str) -> tuple[str, int | None, int | None]:
    params = call.request.query_params
    mode = params.get("adjustEstimate", "auto")
    if mode not in _ADJUST:
        raise JiraError(400, f"Invalid adjustEstimate '{mode}': use one of {', '.join(_ADJUST)}.")
    new_estimate = amount = None
    if mode == "new":
        new_estimate = parse_duration(params.get("newEstimate", ""))
        if new_estimate is None:
            errors["newEstimate"] = "You must supply a valid new estimate."
    if mode == "manual":
        amount = parse_duration(params.get(amount_param, ""))
        if amount is None:
            errors[amount_param] = f"You must supply a valid amount for '{amount_param}'."
    return mode, new_estimate, amount


def _worklog(call: Call, issue: Issue) -> Worklog:
    worklog_id = call.request.path_params["id"]
    found = call.store.worklog(issue, worklog_id)
    if found is None:
        raise JiraError(404, f"Cannot find worklog with id: '{worklog_id}'.")
    return found


@api
async def list_worklogs(call: Call) -> Response:
    """A page of the issue's worklogs (oldest first)."""
    issue = call.issue()
    start, size = page_params(call.request, 5000, 5000)
    return json_response(call.render.worklog_page(issue, start, size))


@api
async def add_worklog(call: Call) -> Response:
    """Log work: 201 with the worklog."""
    issue = call.issue(write="log work")
    payload = await call.json_body()
    errors: dict[str, str] = {}
    seconds = _seconds(payload, errors, required=True)
    started = _started(payload, errors)
    comment = _comment(call, payload, errors)
    mode, new_estimate, reduce_by = _adjustment(call, errors, "reduceBy")
    if errors:
        raise FieldErrors(errors)
    assert seconds is not None
    worklog = ops.add_worklog(call.store, issue, call.user, seconds, started or call.store.now(), comment,
                              adjust=mode, new_estimate=new_estimate, adjust_by=reduce_by)
    return json_response(call.render.worklog(issue, worklog), 201)


@api
async def get_worklog(call: Call) -> Response:
    """One worklog."""
    issue = call.issue()
    return json_response(call.render.worklog(issue, _worklog(call, issue)))


@api
async def update_worklog(call: Call) -> Response:
    """Change a worklog: 200 with the worklog."""
    issue = call.issue()
    worklog = _worklog(call, issue)
    call.require_author(issue.project_key, worklog.author, "worklog", "edit")
    payload = await call.json_body()
    errors: dict[str, str] = {}
    seconds = _seconds(payload, errors, required=False)
    started = _started(payload, errors)
    comment = _comment(call, payload, errors)
    mode, new_estimate, _ = _adjustment(call, errors, "reduceBy")
    if errors:
        raise FieldErrors(errors)
    ops.update_worklog(call.store, issue, worklog, call.user, seconds=seconds, started=started, comment=comment,
                       set_comment="comment" in payload, adjust=mode, new_estimate=new_estimate)
    return json_response(call.render.worklog(issue, worklog))


@api
async def delete_worklog(call: Call) -> Response:
    """Delete a worklog: 204."""
    issue = call.issue()
    worklog = _worklog(call, issue)
    call.require_author(issue.project_key, worklog.author, "worklog", "delete")
    errors: dict[str, str] = {}
    mode, new_estimate, increase_by = _adjustment(call, errors, "increaseBy")
    if errors:
        raise FieldErrors(errors)
    ops.delete_worklog(call.store, issue, worklog, call.user, adjust=mode, new_estimate=new_estimate,
                       increase_by=increase_by)
    return Response(status_code=204)


def routes() -> list[Route]:
    """The routes of this module."""
    base = "/rest/api/{version}/issue/{key}/worklog"
    return [
        Route(base, list_worklogs, methods=["GET"]),
        Route(base, add_worklog, methods=["POST"]),
        Route(f"{base}/{{id}}", get_worklog, methods=["GET"]),
        Route(f"{base}/{{id}}", update_worklog, methods=["PUT"]),
        Route(f"{base}/{{id}}", delete_worklog, methods=["DELETE"]),
    ]
