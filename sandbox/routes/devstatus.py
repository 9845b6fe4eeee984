"""Development information: ``/rest/dev-status/latest/issue/summary`` and ``.../issue/detail``.

Jira (Cloud and Data Center) answers these from the connected source, build and deployment
tools. The sandbox pretends one GitHub instance is connected and derives each issue's
development data from its key (:func:`dev_info_of`): issues numbered 1, 4, 7... have a branch,
a commit, a pull request, a build and a deployment; the others have none, which is what Jira
says when no tool has touched an issue (every count 0, no instance types).
"""

from __future__ import annotations

from typing import Any

from jiraplug.sandbox.devinfo import DATA_TYPES, INSTANCE, dev_info_of, dev_summary
from jiraplug.sandbox.model import Issue
from jiraplug.sandbox.web import Call, JiraError, api, json_response
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["DATA_TYPES", "dev_info_of", "routes"]  # dev_info_of and DATA_TYPES re-exported

BASE = "/rest/dev-status/latest/issue"


def _issue(call: Call) -> Issue:
    issue_id = call.request.query_params.get("issueId", "")
    if not issue_id.isdigit():
        raise JiraError(400, "issueId is required and must be a number.")
    return call.issue(issue_id)


@api
async def summary(call: Call) -> Response:
    """Counts per data type and the instance types that hold them."""
    return json_response({"errors": [], "configErrors": [], "summary": dev_summary(_issue(call).key)})


@api
async def detail(call: Call) -> Response:
    """One data type's details from one application type."""
    issue = _issue(call)
    params = call.request.query_params
    data_type = params.get("dataType", "")
    if data_type not in DATA_TYPES:
        raise JiraError(400, f"Unknown dataType '{data_type}'.")
    data = dev_info_of(issue.key)
    found = data[data_type] if data is not None and params.get("applicationType") == INSTANCE else []
    instance = {"name": INSTANCE, "type": INSTANCE, "baseUrl": "https://github.com"}
    return json_response({"errors": [], "detail": [{**entry, "_instance": instance} for entry in found]})


def routes() -> list[Route]:
    """The routes of this module."""
    return [Route(f"{BASE}/summary", summary, methods=["GET"]), Route(f"{BASE}/detail", detail, methods=["GET"])]
