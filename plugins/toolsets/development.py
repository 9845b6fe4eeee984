"""Built-in toolset ``development``: branches, commits, pull requests, builds and deployments of issues.

Jira (Cloud and Data Center) reports them through the dev-status endpoints its development
panel uses: ``/rest/dev-status/latest/issue/summary?issueId=`` gives the counts per data type
and the connected tools (application types) that hold them; ``.../issue/detail`` then gives
one data type from one application type. Only what the summary says exists is fetched. These
endpoints take the numeric issue id, so the key is resolved first (inside the projects filter).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.server.projects_filter import guard_issue
from jiraplug.server.registry import ToolRegistry
from jiraplug.server.toolkit import jira

__all__ = ["jira_get_development_info"]

BASE = "/rest/dev-status/latest/issue"
NO_DATA = ("no development information: no source, build or deployment tool is connected to Jira, "
           "or none mentions this issue")
# dataType -> (the list in each detail entry, what the tool calls it)
_KINDS = {"branch": ("branches", "branches"), "repository": ("repositories", "commits"),
          "pullrequest": ("pullRequests", "pull_requests"), "build": ("builds", "builds"),
          "deployment-environment": ("deployments", "deployments")}
_MAX_ITEMS = 20  # per kind and issue: the newest are what a model needs


def _name(person: Any) -> str | None:
    return person.get("name") if isinstance(person, dict) else None


def _shape(kind: str, item: dict[str, Any]) -> list[dict[str, Any]]:
    """One detail item as compact rows (a repository gives one row per commit)."""
    if kind == "commits":
        return [{"repository": item.get("name"), "id": c.get("displayId") or c.get("id"),
                 "message": str(c.get("message") or "").strip()[:200], "author": _name(c.get("author")),
                 "date": c.get("authorTimestamp"), "url": c.get("url")} for c in item.get("commits") or []]
    if kind == "branches":
        return [{"name": item.get("name"), "repository": (item.get("repository") or {}).get("name"),
                 "url": item.get("url")}]
    if kind == "pull_requests":
        return [{"id": item.get("id"), "title": item.get("name"), "status": item.get("status"),
                 "author": _name(item.get("author")), "source": (item.get("source") or {}).get("branch"),
                 "destination": (item.get("destination") or {}).get("branch"), "updated": item.get("lastUpdate"),
                 "url": item.get("url")}]
    if kind == "builds":
        return [{"name": item.get("name"), "number": item.get("buildNumber"), "state": item.get("state"),
                 "updated": item.get("lastUpdated"), "url": item.get("url")}]
    return [{"name": item.get("displayName"), "environment": (item.get("environment") or {}).get("displayName"),
             "state": item.get("state"), "updated": item.get("lastUpdated"), "url": item.get("url")}]


async def _one(key: str) -> dict[str, Any]:
    client = await jira().ready()
    raw = await client.get_issue(key, fields=["summary"])
    issue_id = str(raw.get("id"))
    summary = await client.request("GET", f"{BASE}/summary", operation="devstatus.summary",
                                   params={"issueId": issue_id}, subject=key) or {}
    out: dict[str, Any] = {"issue": raw.get("key") or key}
    counts = summary.get("summary") or {}
    for data_type, (items_key, kind) in _KINDS.items():
        part = counts.get(data_type) or {}
        if not (part.get("overall") or {}).get("count"):
            continue
        rows: list[dict[str, Any]] = []
        for app in part.get("byInstanceType") or {}:
            found = await client.request("GET", f"{BASE}/detail", operation="devstatus.detail", subject=key,
                                         params={"issueId": issue_id, "applicationType": app, "dataType": data_type})
            for entry in (found or {}).get("detail") or []:
                for item in entry.get(items_key) or []:
                    rows += [{k: v for k, v in row.items() if v is not None} for row in _shape(kind, item)]
        out[kind] = rows[:_MAX_ITEMS]
        if len(rows) > _MAX_ITEMS:
            out[f"more_{kind}"] = len(rows) - _MAX_ITEMS
    if len(out) == 1:
        out["note"] = NO_DATA
    return out


async def jira_get_development_info(
    issue_keys: Annotated[list[str], Field(min_length=1, max_length=20, description="Issue keys")],
) -> dict[str, Any]:
    """Branches, commits, pull requests, builds and deployments of issues."""
    keys = list(dict.fromkeys(guard_issue(key) for key in issue_keys))
    return {"issues": [await _one(key) for key in keys]}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    registry.add(jira_get_development_info, title="Development info", read_only=True, idempotent=True)
