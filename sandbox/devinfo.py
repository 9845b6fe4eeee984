"""The development data of sandbox issues, as a connected GitHub would give it to Jira.

Issues numbered 1, 4, 7... have a branch, a commit, a pull request, a build and a deployment;
the others have none. ``/rest/dev-status/...`` serves it, and Cloud's Development field
carries its summary (:func:`dev_summary`).
"""

from __future__ import annotations

from typing import Any

__all__ = ["DATA_TYPES", "INSTANCE", "dev_info_of", "dev_summary"]

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


def _count(data: dict[str, list[dict[str, Any]]] | None, data_type: str) -> int:
    if data is None:
        return 0
    return sum(len(items) for entry in data[data_type] for items in entry.values())


def dev_summary(key: str) -> dict[str, Any]:
    """Issue ``key``'s counts per data type and the instance types that hold them (``summary`` of dev-status)."""
    data = dev_info_of(key)
    body: dict[str, Any] = {}
    for data_type in (*DATA_TYPES, "review"):
        count = _count(data, data_type) if data_type != "review" else 0
        overall: dict[str, Any] = {"count": count}
        if data_type == "pullrequest" and count:
            state = data["pullrequest"][0]["pullRequests"][0]["status"]  # type: ignore[index]
            overall.update({"state": state, "stateCount": 1, "open": state == "OPEN"})
        by_type = {INSTANCE: {"count": count, "name": INSTANCE}} if count else {}
        body[data_type] = {"overall": overall, "byInstanceType": by_type}
    return body
