"""Built-in toolset ``links``: issue links, remote (web) links, and putting issues in an epic.

Jira names the two ends of a link confusingly (in ``POST /issueLink`` the *outward* issue
is the one the outward phrase starts from). The tools speak of ``from_key`` and
``to_key`` instead: ``from_key <outward phrase> to_key``, e.g. "PROJ-1 blocks PROJ-2".
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlsplit

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.jira.shapes import expect_object, objects, scalar
from jiraplug.jira.fields import FieldCatalog
from jiraplug.server.registry import ToolRegistry
from jiraplug.tool_errors import UserFacingError
from jiraplug.server.projects_filter import guard_found_issue, guard_issue
from jiraplug.server.toolkit import IssueKey, Limit, StartAt, jira, slice_page

EPIC_LINK_FIELD = "Epic Link"  # Data Center's custom field holding an issue's epic


async def _link_types() -> list[dict[str, Any]]:
    client = await jira().ready()
    body = await client.request("GET", f"{client.api}/issueLinkType", operation="issueLinkType.list")
    return link_types_of(body)


def link_types_of(body: Any) -> list[dict[str, Any]]:
    """The link types of an ``issueLinkType`` answer; entries of another shape are skipped."""
    page = expect_object(body, "issueLinkType.list", "an object with issueLinkTypes")
    return [dict(item) for item in objects(page.get("issueLinkTypes"))]


def _compact_type(raw: dict[str, Any]) -> dict[str, Any]:
    out = {"id": scalar(raw.get("id")), "name": scalar(raw.get("name")), "outward": scalar(raw.get("outward")),
           "inward": scalar(raw.get("inward"))}
    return {key: value for key, value in out.items() if value is not None}


async def _resolve_type(link_type: str) -> dict[str, Any]:
    """A link type by id, name, or its outward/inward phrase (case-insensitive)."""
    wanted = link_type.strip().lower()
    types = await _link_types()
    for field in ("id", "name", "outward", "inward"):
        for item in types:
            if str(item.get(field, "")).lower() == wanted:
                return item
    names = ", ".join(f"{t.get('name')} ({t.get('outward')})" for t in types) or "none"
    raise UserFacingError(f"unknown link type {link_type!r}; this Jira has: {names}")


async def jira_list_link_types() -> dict[str, Any]:
    """Issue link types: name, outward phrase (e.g. blocks), inward phrase (is blocked by)."""
    return {"link_types": [_compact_type(t) for t in await _link_types()], "next_start_at": None}


async def jira_create_issue_link(
    link_type: Annotated[str, Field(description="Link type name or id, e.g. Blocks")],
    from_key: Annotated[str, Field(description="Issue the link reads from: from_key blocks to_key")],
    to_key: Annotated[str, Field(description="Issue the link points to")],
    comment: Annotated[str | None, Field(description="Markdown comment added to from_key")] = None,
) -> dict[str, Any]:
    """Link two issues, e.g. PROJ-1 blocks PROJ-2."""
    client = await jira().ready()
    source, target = guard_issue(from_key), guard_issue(to_key)
    if source == target:
        raise UserFacingError(f"from_key and to_key are both {source}; an issue cannot be linked to itself")
    kind = await _resolve_type(link_type)
    body: dict[str, Any] = {"type": {"id": kind["id"]}, "outwardIssue": {"key": source},
                            "inwardIssue": {"key": target}}
    if comment:
        body["comment"] = {"body": await client.text_to_jira(comment, argument="comment")}
    await client.request(
        "POST", f"{client.api}/issueLink", operation="issueLink.create", json_body=body,
        touches=(f"issue:{source}", f"issue:{target}"), subject=f"{source} -> {target}",
    )
    link_id = await _find_link_id(source, target, str(kind["id"]))
    return {"link_id": link_id, "link": f"{source} {kind.get('outward')} {target}", "type": kind.get("name")}


async def _find_link_id(source: str, target: str, type_id: str) -> str | None:
    """Jira answers a new link with no body: read the link's id back from the source issue."""
    client = await jira().ready()
    issue = await client.request(
        "GET", f"{client.api}/issue/{source}", operation="issue.get", params={"fields": "issuelinks"},
        subject=source, fresh=True,
    )
    for link in (issue.get("fields") or {}).get("issuelinks") or []:
        other = link.get("outwardIssue") or {}
        if other.get("key") == target and str((link.get("type") or {}).get("id")) == type_id:
            return str(link.get("id"))
    return None


async def jira_remove_issue_link(
    link_id: Annotated[str, Field(description="Link id, from jira_create_issue_link or the issue's links")],
) -> dict[str, Any]:
    """Remove a link between two issues."""
    client = await jira().ready()
    lid = link_id.strip()
    if not lid.isdigit():
        raise UserFacingError(f"link_id {link_id!r} is not a link id; expected digits, e.g. 10042")
    link = await client.request("GET", f"{client.api}/issueLink/{lid}", operation="issueLink.get", subject=lid)
    # The ends are what Jira answered, not what the caller gave: a refusal must not name them.
    keys = [guard_found_issue(str((link.get(end) or {}).get("key", "")), f"an issue of link {lid}")
            for end in ("outwardIssue", "inwardIssue")]
    await client.request(
        "DELETE", f"{client.api}/issueLink/{lid}", operation="issueLink.delete",
        touches=tuple(f"issue:{key}" for key in keys), subject=lid,
    )
    return {"removed": lid, "issues": keys}


async def jira_create_remote_link(
    issue_key: IssueKey,
    url: Annotated[str, Field(description="http(s) URL")],
    title: str,
    summary: str | None = None,
    relationship: Annotated[str | None, Field(description='e.g. "mentioned in"')] = None,
) -> dict[str, Any]:
    """Add a web link to an issue."""
    client = await jira().ready()
    key = guard_issue(issue_key)
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UserFacingError(f"url {url!r} is not an http(s) URL; expected e.g. https://example.com/page")
    if not title.strip():
        raise UserFacingError("title is empty; give the link a title")
    link: dict[str, Any] = {"url": url.strip(), "title": title.strip()}
    if summary:
        link["summary"] = summary
    body: dict[str, Any] = {"object": link}
    if relationship:
        body["relationship"] = relationship
    created = await client.request(
        "POST", f"{client.api}/issue/{key}/remotelink", operation="remotelink.create", json_body=body,
        touches=(f"issue:{key}",), subject=key,
    )
    return {"issue_key": key, "id": str((created or {}).get("id")), "url": link["url"], "title": link["title"]}


async def jira_list_remote_links(
    issue_key: IssueKey, start_at: StartAt = 0, limit: Limit = 50
) -> dict[str, Any]:
    """List an issue's web links."""
    client = await jira().ready()
    key = guard_issue(issue_key)
    body = await client.request("GET", f"{client.api}/issue/{key}/remotelink", operation="remotelink.list",
                                subject=key)
    chunk, following = slice_page(body or [], start_at, limit)
    links = []
    for raw in chunk:
        target = raw.get("object") or {}
        item = {"id": str(raw.get("id")), "url": target.get("url"), "title": target.get("title"),
                "summary": target.get("summary"), "relationship": raw.get("relationship")}
        links.append({k: v for k, v in item.items() if v is not None})
    return {"issue_key": key, "remote_links": links, "next_start_at": following}


async def jira_link_to_epic(
    issue_key: IssueKey, epic_key: Annotated[str, Field(description="Epic issue key")]
) -> dict[str, Any]:
    """Put an issue in an epic."""
    client = await jira().ready()
    key, epic = guard_issue(issue_key), guard_issue(epic_key)
    if key == epic:
        raise UserFacingError(f"issue_key and epic_key are both {key}; an epic cannot contain itself")
    found = await client.request(
        "GET", f"{client.api}/issue/{epic}", operation="issue.get", params={"fields": "issuetype"}, subject=epic
    )
    itype = (found.get("fields") or {}).get("issuetype") or {}
    if itype.get("hierarchyLevel", 1 if itype.get("name") == "Epic" else 0) != 1:
        raise UserFacingError(f"{epic} is a {itype.get('name', 'non-epic issue')}, not an epic; give an epic's key")
    if client.is_cloud:
        fields: dict[str, Any] = {"parent": {"key": epic}}
    else:
        catalog = await FieldCatalog.of(client)
        epic_field = next((f for f in catalog.fields if f.name == EPIC_LINK_FIELD), None)
        if epic_field is None:
            raise UserFacingError(f"this Jira has no {EPIC_LINK_FIELD!r} field, so issues cannot be put in epics")
        fields = {epic_field.id: epic}
    await client.request(
        "PUT", f"{client.api}/issue/{key}", operation="issue.update", json_body={"fields": fields},
        touches=(f"issue:{key}", f"issue:{epic}"), subject=key,
    )
    return {"issue_key": key, "epic_key": epic}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    registry.add(jira_list_link_types, title="Link types", read_only=True, idempotent=True)
    registry.add(jira_create_issue_link, title="Link issues")
    registry.add(jira_remove_issue_link, title="Remove issue link", destructive=True, idempotent=True)
    registry.add(jira_create_remote_link, title="Add web link")
    registry.add(jira_list_remote_links, title="List web links", read_only=True, idempotent=True)
    registry.add(jira_link_to_epic, title="Link to epic", idempotent=True)
