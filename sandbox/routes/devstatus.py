"""Development information: ``/rest/dev-status/latest/issue/summary`` and ``.../issue/detail``.

Jira (Cloud and Data Center) answers these from the connected source, build and deployment
tools. The sandbox pretends one GitHub instance is connected and derives each issue's
development data from its key (:func:`dev_info_of`): issues numbered 1, 4, 7... have a branch,
a commit, a pull request, a build and a deployment; the others have none, which is what Jira
says when no tool has touched an issue (every count 0, no instance types).
"""

from __future__ import annotations

from typing import Any

from jiraplug.sandbox.model import Issue
from jiraplug.sandbox.web import Call, JiraError, api, json_response
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["DATA_TYPES", "dev_info_of", "routes"]

BASE = "/rest/dev-status/latest/issue"
INSTANCE = "GitHub"
DATA_TYPES = ("repository", "branch", "pullrequest", "build", "deployment-environment")
_WHEN = "2026-11-20T10:00:00.000+0000"


def dev_info_of(key: str) -> dict[str, list[dict[str, Any]]] | None:
    """The detail lists of issue ``key`` by data type, or ``None`` when it has no development data."""
    number = int(key.rsplit("-", 1)[1])
    if number % 3 != 1:
        return None
    repo = {"name": "acme/app", "url": "https://github.com/acme/app"}
    branch = f"feature/{key}"
    state = "OPEN" if number % 2 == 0 else "MERGED"
    commit = {"id": f"{number:040x}", "displayId": f"{number:07x}", "message": f"{key} fix the thing",
              "author": {"name": "Ada Dev"}, "authorTimestamp": _WHEN, "fileCount": 2,
              "url": f"{repo['url']}/commit/{number:040x}"}
    return {
        "repository": [{"repositories": [{**repo, "commits": [commit]}]}],
        "branch": [{"branches": [{"name": branch, "url": f"{repo['url']}/tree/{branch}", "repository": repo,
                                  "lastCommit": commit}]}],
        "pullrequest": [{"pullRequests": [{"id": f"#{number}", "name": f"{key}: fix the thing", "status": state,
                                          "url": f"{repo['url']}/pull/{number}", "author": {"name": "Ada Dev"},
                                          "source": {"branch": branch}, "destination": {"branch": "main"},
                                          "lastUpdate": _WHEN}]}],
        "build": [{"builds": [{"name": "CI", "buildNumber": number, "state": "SUCCESSFUL",
                               "url": f"{repo['url']}/actions/runs/{number}", "lastUpdated": _WHEN}]}],
        "deployment-environment": [{"deployments": [{"displayName": f"deploy {number}", "state": "SUCCESSFUL",
                                                     "url": f"{repo['url']}/deployments/{number}",
                                                     "environment": {"displayName": "production",
                                                                     "type": "production"},
                                                     "lastUpdated": _WHEN}]}],
    }


def _issue(call: Call) -> Issue:
    issue_id = call.request.query_params.get("issueId", "")
    if not issue_id.isdigit():
        raise JiraError(400, "issueId is required and must be a number.")
    return call.issue(issue_id)


def _count(data: dict[str, list[dict[str, Any]]] | None, data_type: str) -> int:
    if data is None:
        return 0
    return sum(len(items) for entry in data[data_type] for items in entry.values())


@api
async def summary(call: Call) -> Response:
    """Counts per data type and the instance types that hold them."""
    data = dev_info_of(_issue(call).key)
    body: dict[str, Any] = {}
    for data_type in (*DATA_TYPES, "review"):
        count = _count(data, data_type) if data_type != "review" else 0
        overall: dict[str, Any] = {"count": count}
        if data_type == "pullrequest" and count:
            state = data["pullrequest"][0]["pullRequests"][0]["status"]  # type: ignore[index]
            overall.update({"state": state, "stateCount": 1, "open": state == "OPEN"})
        by_type = {INSTANCE: {"count": count, "name": INSTANCE}} if count else {}
        body[data_type] = {"overall": overall, "byInstanceType": by_type}
    return json_response({"errors": [], "configErrors": [], "summary": body})


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
