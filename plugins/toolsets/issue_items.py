"""The numbered items an issue holds under ``/issue/{key}/{part}``: comments and worklogs.

Both are listed in pages, added, changed and deleted the same way; only their bodies
differ. :class:`IssueItems` does the shared part of each: the issue key checked against the
projects filter, the item id checked, the operation named ``{part}.{verb}``, and every
write marked as touching the issue, so caches evict it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from jiraplug.server.projects_filter import guard_issue
from jiraplug.server.toolkit import jira, numeric_id


@dataclass(frozen=True)
class IssueItems:
    """One kind of item: ``part`` is the path segment (``comment``), ``plural`` the list's key
    in Jira's answer (``comments``), ``listed_by`` the tool that shows their ids."""

    part: str
    plural: str
    listed_by: str

    async def page(self, issue_key: str, start_at: int, limit: int, **params: Any) -> dict[str, Any]:
        """One page: ``{"issue", plural: [raw items], "total", "next_start_at"}``."""
        client, key = jira(), guard_issue(issue_key)
        found = await client.paginate(f"{client.api}/issue/{key}/{self.part}", operation=f"{self.part}.list",
                                      params=params, items_key=self.plural, limit=limit, start_at=start_at,
                                      subject=key)
        return {"issue": key, self.plural: found.items, "total": found.total, "next_start_at": found.next_start_at}

    async def get(self, issue_key: str, item_id: str) -> tuple[str, Any]:
        """``(issue key, Jira's answer)`` for item ``item_id``."""
        client, key = jira(), guard_issue(issue_key)
        path = f"{client.api}/issue/{key}/{self.part}/{numeric_id(item_id, self.part, self.listed_by)}"
        return key, await client.request("GET", path, operation=f"{self.part}.get", subject=key)

    async def add(self, issue_key: str, body: dict[str, Any]) -> tuple[str, Any]:
        """``(issue key, Jira's answer)`` after adding one."""
        return await self._write("POST", "add", issue_key, None, body)

    async def update(self, issue_key: str, item_id: str, body: dict[str, Any]) -> tuple[str, Any]:
        """``(issue key, Jira's answer)`` after changing item ``item_id``."""
        return await self._write("PUT", "update", issue_key, item_id, body)

    async def delete(self, issue_key: str, item_id: str) -> str:
        """The issue key, after deleting item ``item_id``."""
        key, _ = await self._write("DELETE", "delete", issue_key, item_id, None)
        return key

    async def _write(self, method: str, verb: str, issue_key: str, item_id: str | None,
                     body: dict[str, Any] | None) -> tuple[str, Any]:
        client, key = jira(), guard_issue(issue_key)
        path = f"{client.api}/issue/{key}/{self.part}"
        if item_id is not None:
            path += f"/{numeric_id(item_id, self.part, self.listed_by)}"
        answer = await client.request(method, path, operation=f"{self.part}.{verb}", json_body=body,
                                      touches=(f"issue:{key}",), subject=key)
        return key, answer


COMMENTS = IssueItems("comment", "comments", "jira_get_comments")
WORKLOGS = IssueItems("worklog", "worklogs", "jira_get_worklogs")
