"""Built-in toolset ``users``: who you are, finding users, and the site's fields and their options.

A user is shown as ``{"id", "name", "email", "active"}``, where ``id`` is what other tools
accept for a user: the account id on Cloud, the username on Data Center.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.jira.shapes import obj, scalar, text
from jiraplug.jira.fields import FieldCatalog
from jiraplug.plugins.toolsets.projects import (
    compact_option,
    fetch_create_fields,
    fetch_issue_types,
    field_type,
    resolve_issue_type,
)
from jiraplug.server.projects_filter import guard_issue, guard_project
from jiraplug.server.registry import ToolRegistry
from jiraplug.server.toolkit import Limit, StartAt, jira, slice_page
from jiraplug.tool_errors import UserFacingError

UserId = Annotated[str, Field(description="accountId (Cloud) or username (DC)")]


def user_id(raw: Any) -> str | None:
    """The identifier tools take for this user: accountId (Cloud) or username (Data Center)."""
    raw = obj(raw)
    return text(raw.get("accountId")) or text(raw.get("name"))


def compact_user(raw: Any) -> dict[str, Any]:
    """A user as ``{"id", "name", "email", "active"}`` (email only when Jira shows it)."""
    raw = obj(raw)
    out = {"id": user_id(raw), "name": scalar(raw.get("displayName")),
           "email": scalar(raw.get("emailAddress")) or None, "active": scalar(raw.get("active"))}
    return {key: value for key, value in out.items() if value is not None}


async def _user_page(path: str, operation: str, params: dict[str, Any], start_at: int, limit: int,
                     paged: bool = True) -> dict[str, Any]:
    """One page of a plain user list; one extra item is asked for to learn whether more exist."""
    client = await jira().ready()
    if paged:
        params = {**params, "startAt": start_at, "maxResults": limit + 1}
        found = await client.request("GET", path, operation=operation, params=params) or []
        chunk, more = found[:limit], len(found) > limit
    else:  # no startAt on this endpoint: ask for everything up to the end of this page
        params = {**params, "maxResults": start_at + limit + 1}
        found = await client.request("GET", path, operation=operation, params=params) or []
        chunk, more = found[start_at:start_at + limit], len(found) > start_at + limit
    return {"users": [compact_user(u) for u in chunk], "next_start_at": start_at + limit if more else None}


async def jira_get_current_user() -> dict[str, Any]:
    """The Jira user this server acts as."""
    client = await jira().ready()
    me = await client.request("GET", f"{client.api}/myself", operation="myself.get")
    out = compact_user(me)
    if me.get("timeZone"):
        out["time_zone"] = me["timeZone"]
    return out


async def jira_search_users(
    query: Annotated[str, Field(description="Part of a name, username or email")],
    start_at: StartAt = 0,
    limit: Limit = 20,
) -> dict[str, Any]:
    """Find users by name, username or email."""
    client = await jira().ready()
    if not query.strip():
        raise UserFacingError("query is empty; give part of a name, username or email")
    param = "query" if client.is_cloud else "username"
    return await _user_page(f"{client.api}/user/search", "user.search", {param: query.strip()}, start_at, limit)


async def jira_search_assignable_users(
    project_key: Annotated[str | None, Field(description="Project key (or give issue_key)")] = None,
    issue_key: Annotated[str | None, Field(description="Issue key (or give project_key)")] = None,
    query: Annotated[str | None, Field(description="Part of a name, username or email")] = None,
    start_at: StartAt = 0,
    limit: Limit = 20,
) -> dict[str, Any]:
    """Users who can be assigned issues in a project, or a given issue."""
    client = await jira().ready()
    if bool(project_key) == bool(issue_key):
        raise UserFacingError("give exactly one of project_key (e.g. PROJ) or issue_key (e.g. PROJ-123)")
    params: dict[str, Any] = (
        {"issueKey": guard_issue(issue_key)} if issue_key else {"project": guard_project(project_key or "")}
    )
    if query and query.strip():
        params["query" if client.is_cloud else "username"] = query.strip()
    elif not client.is_cloud:
        params["username"] = ""  # an empty username matches everyone; some Data Center versions require it
    return await _user_page(f"{client.api}/user/assignable/search", "user.assignable", params, start_at, limit,
                            paged=client.is_cloud)


async def jira_get_user(user: UserId) -> dict[str, Any]:
    """Get one user by accountId (Cloud) or username (DC)."""
    client = await jira().ready()
    value = user.strip()
    if not value:
        raise UserFacingError("user is empty; give an accountId (Cloud) or username (DC), see jira_search_users")
    params = {"accountId": value} if client.is_cloud else {"username": value}
    raw = await client.request("GET", f"{client.api}/user", operation="user.get", params=params, subject=value)
    return compact_user(raw)


async def jira_search_fields(
    query: Annotated[str | None, Field(description="Text in the field name or id")] = None,
    custom: Annotated[bool | None, Field(description="Only custom (true) or system (false) fields")] = None,
    start_at: StartAt = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Find fields by name: id, name, custom or not, type."""
    catalog = await FieldCatalog.of(await jira().ready())
    needle = (query or "").strip().lower()
    matching = [
        f for f in catalog.fields
        if (custom is None or f.custom is custom) and (not needle or needle in f.name.lower() or needle in f.id.lower())
    ]
    # Exact name matches first, then by name: the field asked for tops the list.
    matching.sort(key=lambda f: (f.name.lower() != needle, f.name.lower()))
    chunk, following = slice_page(matching, start_at, limit)
    fields = []
    for f in chunk:
        item: dict[str, Any] = {"id": f.id, "name": f.name, "custom": f.custom}
        kind = field_type({"type": f.type, "items": f.items} if f.type else None)
        if kind:
            item["type"] = kind
        fields.append(item)
    return {"fields": fields, "next_start_at": following}


async def jira_get_field_options(
    field: Annotated[str, Field(description="Field name or id, e.g. Priority or customfield_10010")],
    project_key: Annotated[str | None, Field(description="Project key: its create screen's values")] = None,
    issue_type: Annotated[str | None, Field(description="Issue type name or id; default: first having the field")]
    = None,
    start_at: StartAt = 0,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Allowed values of a select field, for a project (and issue type) or site-wide (custom fields)."""
    client = await jira().ready()
    info = (await FieldCatalog.of(client)).find(field)
    if project_key:
        key = guard_project(project_key)
        values, itype = await _create_screen_values(key, info, issue_type)
        chunk, following = slice_page(values, start_at, limit)
        return {"field": {"id": info.id, "name": info.name}, "project": key, "issue_type": itype,
                "options": [compact_option(v) for v in chunk], "next_start_at": following}
    if issue_type:
        raise UserFacingError("issue_type needs project_key: give the project whose create screen to read")
    if not info.custom:
        raise UserFacingError(f"{info.name!r} is a system field; give project_key to read its allowed values")
    options, following = await (_cloud_options if client.is_cloud else _dc_options)(info.id, start_at, limit)
    return {"field": {"id": info.id, "name": info.name}, "options": [compact_option(v) for v in options],
            "next_start_at": following}


async def _create_screen_values(key: str, info: Any, issue_type: str | None) -> tuple[list[Any], str | None]:
    """The allowed values of a field on the create screen of ``key`` (any user who may create can read them)."""
    types = [await resolve_issue_type(key, issue_type)] if issue_type else await fetch_issue_types(key)
    for itype in types:
        for raw in await fetch_create_fields(key, str(itype["id"])):
            if (raw.get("fieldId") or raw.get("key")) != info.id:
                continue
            if "allowedValues" not in raw:
                raise UserFacingError(
                    f"field {info.name!r} ({info.id}) takes free input of type {field_type(raw.get('schema'))}, "
                    "not a value from a list"
                )
            return raw["allowedValues"], itype.get("name")
    where = f"issue type {types[0].get('name')!r}" if issue_type else "any issue type"
    raise UserFacingError(f"field {info.name!r} ({info.id}) is not on the create screen of {where} in project {key}")


async def _cloud_options(field_id: str, start_at: int, limit: int) -> tuple[list[Any], int | None]:
    """Cloud: the options of the field's global context (or its first one)."""
    client = await jira().ready()
    body = await client.request("GET", f"{client.api}/field/{field_id}/context", operation="field.contexts",
                                params={"maxResults": 100}, subject=field_id)
    contexts = (body or {}).get("values") or []
    if not contexts:
        raise UserFacingError(f"field {field_id} has no context, so no options; give project_key instead")
    context = next((c for c in contexts if c.get("isGlobalContext")), contexts[0])
    found = await client.paginate(f"{client.api}/field/{field_id}/context/{context['id']}/option",
                                  operation="field.options", limit=limit, start_at=start_at, subject=field_id)
    return found.items, found.next_start_at


async def _dc_options(field_id: str, start_at: int, limit: int) -> tuple[list[Any], int | None]:
    """Data Center: ``/customFields/{id}/options`` (asked for everything up to this page's end)."""
    client = await jira().ready()
    number = field_id.removeprefix("customfield_")
    body = await client.request("GET", f"{client.api}/customFields/{number}/options", operation="field.options",
                                params={"maxResults": start_at + limit + 1}, subject=field_id)
    options = (body or {}).get("options") or []
    chunk, following = slice_page(options[: start_at + limit + 1], start_at, limit)
    return chunk, following


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    read = {"read_only": True, "idempotent": True}
    registry.add(jira_get_current_user, title="Current user", **read)
    registry.add(jira_search_users, title="Search users", **read)
    registry.add(jira_search_assignable_users, title="Assignable users", **read)
    registry.add(jira_get_user, title="Get user", **read)
    registry.add(jira_search_fields, title="Search fields", **read)
    registry.add(jira_get_field_options, title="Field options", **read)
