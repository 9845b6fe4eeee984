"""Built-in toolset ``projects``: projects, their issue types, create-metadata, versions, components.

Every tool respects ``JIRA_PROJECTS_FILTER``: other projects are hidden from lists and
refused by key. The issue-type and create-metadata helpers here are shared with the
``users`` toolset (field options).
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import BaseModel, Field

from jiraplug import hookimpl
from jiraplug.jira.shapes import obj, objects, scalar
from jiraplug.server.registry import ToolRegistry
from jiraplug.jira.errors import JiraError
from jiraplug.tool_errors import UserFacingError
from jiraplug.server.projects_filter import allowed_projects, guard_project, guard_version
from jiraplug.server.toolkit import Limit, StartAt, jira, parse_day, slice_page

ProjectKey = Annotated[str, Field(description="Project key, e.g. PROJ")]
IssueType = Annotated[str, Field(description="Issue type name or id, e.g. Bug")]
Day = Annotated[str | None, Field(description="YYYY-MM-DD")]

MAX_ALLOWED_VALUES = 25  # allowed values listed per field in create-metadata; the rest are counted
MAX_CREATE_FIELDS = 5000  # bounded: 50 pages of 100 is far beyond any real create screen


# ---------------------------------------------------------------- shared helpers


def _values(body: Any, *keys: str) -> list[dict[str, Any]]:
    """The item objects of a page (Cloud and Data Center name it differently), or of the body if a list."""
    if isinstance(body, list):
        return [dict(item) for item in objects(body)]
    for key in keys:
        if isinstance(body, dict) and isinstance(body.get(key), list):
            return [dict(item) for item in objects(body[key])]
    return []


async def fetch_issue_types(project_key: str) -> list[dict[str, Any]]:
    """Issue types the caller may create in ``project_key`` (the create-metadata list)."""
    client = await jira().ready()
    body = await client.request(
        "GET", f"{client.api}/issue/createmeta/{project_key}/issuetypes", operation="createmeta.issuetypes",
        params={"maxResults": 200}, subject=project_key,
    )
    return _values(body, "issueTypes", "values")


async def resolve_issue_type(project_key: str, issue_type: str) -> dict[str, Any]:
    """The issue type of ``project_key`` named (case-insensitively) or numbered ``issue_type``."""
    types = await fetch_issue_types(project_key)
    wanted = issue_type.strip().lower()
    for item in types:
        if wanted in (str(item.get("id")), str(item.get("name", "")).lower()):
            return item
    names = ", ".join(str(item.get("name")) for item in types) or "none"
    raise UserFacingError(f"project {project_key} has no issue type {issue_type!r}; it has: {names}")


async def fetch_create_fields(project_key: str, issue_type_id: str) -> list[dict[str, Any]]:
    """Every field of the create screen of ``issue_type_id`` in ``project_key``, all pages."""
    client = await jira().ready()
    found = await client.paginate(
        f"{client.api}/issue/createmeta/{project_key}/issuetypes/{issue_type_id}", operation="createmeta.fields",
        items_key="fields" if client.is_cloud else "values", subject=project_key,
        limit=MAX_CREATE_FIELDS, page_size=100,
    )
    return found.items


def compact_option(value: Any) -> Any:
    """An allowed value as its id and label (option value, name or key); scalars unchanged."""
    if not isinstance(value, dict):
        return value
    label = value.get("value") or value.get("name") or value.get("displayName") or value.get("key")
    ident = value.get("id") or value.get("accountId") or value.get("key")
    out: dict[str, Any] = {"id": None if ident is None else str(ident), "value": label}
    if value.get("children"):
        out["children"] = [compact_option(child) for child in value["children"]]
    if value.get("disabled"):
        out["disabled"] = True
    return out


def field_type(schema: dict[str, Any] | None) -> str | None:
    """``"string"``, ``"array<option>"``...: a field's type in one short word."""
    if not schema:
        return None
    kind = schema.get("type")
    return f"{kind}<{schema['items']}>" if kind == "array" and schema.get("items") else kind


def compact_version(raw: Any) -> dict[str, Any]:
    """A version: id, name and its release state and dates."""
    raw = obj(raw)
    out = {
        "id": scalar(raw.get("id")),
        "name": scalar(raw.get("name")),
        "description": scalar(raw.get("description")) or None,
        "released": raw.get("released") is True,
        "archived": raw.get("archived") is True,
        "start_date": scalar(raw.get("startDate")),
        "release_date": scalar(raw.get("releaseDate")),
        "overdue": scalar(raw.get("overdue")),
    }
    return {key: value for key, value in out.items() if value is not None}


def _compact_project(raw: Any) -> dict[str, Any]:
    """A project: key, id, name and type; what Jira did not send is left out (no nulls)."""
    raw = obj(raw)
    out = {"key": scalar(raw.get("key")), "id": scalar(raw.get("id")), "name": scalar(raw.get("name")),
           "type": scalar(raw.get("projectTypeKey"))}
    return {key: value for key, value in out.items() if value is not None}


def _compact_component(raw: Any) -> dict[str, Any]:
    raw = obj(raw)
    out = {"id": scalar(raw.get("id")), "name": scalar(raw.get("name")),
           "description": scalar(raw.get("description")) or None,
           "lead": scalar(obj(raw.get("lead")).get("displayName"))}
    return {key: value for key, value in out.items() if value is not None}


# ---------------------------------------------------------------- tools


async def jira_list_projects(
    query: Annotated[str | None, Field(description="Text in the key or name")] = None,
    start_at: StartAt = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    """List projects you can see, optionally matching `query`."""
    client = await jira().ready()
    allowed = set(allowed_projects())
    if client.is_cloud:
        params: dict[str, Any] = {"query": query or None}
        if allowed:
            params["keys"] = sorted(allowed)
        found = await client.paginate(f"{client.api}/project/search", operation="project.search", params=params,
                                      limit=limit, start_at=start_at)
        # The filter is applied again here: a server ignoring ``keys`` must not leak projects.
        projects = [p for p in found.items if not allowed or str(p.get("key", "")).upper() in allowed]
        return {"projects": [_compact_project(p) for p in projects], "next_start_at": found.next_start_at}
    body = await client.request("GET", f"{client.api}/project", operation="project.list")
    needle = (query or "").strip().lower()
    projects = [
        p for p in _values(body)
        if (not allowed or str(p.get("key", "")).upper() in allowed)
        and (not needle or needle in str(p.get("key", "")).lower() or needle in str(p.get("name", "")).lower())
    ]
    chunk, following = slice_page(projects, start_at, limit)
    return {"projects": [_compact_project(p) for p in chunk], "next_start_at": following}


async def jira_get_project(project_key: ProjectKey) -> dict[str, Any]:
    """Get a project: lead, description, issue types, components and unreleased versions."""
    client = await jira().ready()
    key = guard_project(project_key)
    raw = await client.request("GET", f"{client.api}/project/{key}", operation="project.get", subject=key)
    out = _compact_project(raw)
    out.update({
        "url": f"{client.base_url}/browse/{raw.get('key')}",
        "description": raw.get("description") or None,
        "lead": (raw.get("lead") or {}).get("displayName"),
        "issue_types": [t.get("name") for t in raw.get("issueTypes") or []],
        "components": [c.get("name") for c in raw.get("components") or []],
        "unreleased_versions": [v.get("name") for v in raw.get("versions") or []
                                if not v.get("released") and not v.get("archived")],
    })
    return {key: value for key, value in out.items() if value not in (None, [])}


async def jira_get_project_issue_types(
    project_key: ProjectKey, start_at: StartAt = 0, limit: Limit = 50
) -> dict[str, Any]:
    """Issue types you can create in a project."""
    key = guard_project(project_key)
    chunk, following = slice_page(await fetch_issue_types(key), start_at, limit)
    return {
        "issue_types": [
            {"id": t.get("id"), "name": t.get("name"), "subtask": bool(t.get("subtask")),
             **({"description": t["description"]} if t.get("description") else {})}
            for t in chunk
        ],
        "next_start_at": following,
    }


async def jira_get_create_metadata(
    project_key: ProjectKey,
    issue_type: IssueType,
    required_only: bool = False,
    start_at: StartAt = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    """Fields for creating an issue of a type: id, name, required, type, allowed values."""
    key = guard_project(project_key)
    itype = await resolve_issue_type(key, issue_type)
    fields = await fetch_create_fields(key, str(itype["id"]))
    if required_only:
        fields = [f for f in fields if f.get("required")]
    chunk, following = slice_page(fields, start_at, limit)
    out: list[dict[str, Any]] = []
    for raw in chunk:
        item: dict[str, Any] = {"id": raw.get("fieldId") or raw.get("key"), "name": raw.get("name"),
                                "required": bool(raw.get("required"))}
        kind = field_type(raw.get("schema"))
        if kind:
            item["type"] = kind
        if raw.get("hasDefaultValue"):
            item["has_default"] = True
        allowed = raw.get("allowedValues")
        if allowed:
            item["allowed_values"] = [compact_option(v) for v in allowed[:MAX_ALLOWED_VALUES]]
            if len(allowed) > MAX_ALLOWED_VALUES:
                item["more_allowed_values"] = len(allowed) - MAX_ALLOWED_VALUES
        out.append(item)
    return {"project": key, "issue_type": {"id": itype.get("id"), "name": itype.get("name")}, "fields": out,
            "next_start_at": following}


async def jira_list_project_versions(
    project_key: ProjectKey,
    released: Annotated[bool | None, Field(description="Only released (true) or unreleased (false)")] = None,
    start_at: StartAt = 0,
    limit: Limit = 50,
) -> dict[str, Any]:
    """List a project's versions (releases)."""
    client = await jira().ready()
    key = guard_project(project_key)
    # ``/versions`` (the whole list) exists on Cloud and Data Center alike; it is paged here.
    body = await client.request("GET", f"{client.api}/project/{key}/versions", operation="version.list", subject=key)
    matching = [v for v in _values(body) if released is None or bool(v.get("released")) is released]
    chunk, following = slice_page(matching, start_at, limit)
    return {"versions": [compact_version(v) for v in chunk], "next_start_at": following}


async def jira_create_version(
    project_key: ProjectKey,
    name: str,
    description: str | None = None,
    start_date: Day = None,
    release_date: Day = None,
    released: bool = False,
) -> dict[str, Any]:
    """Create a version (release) in a project."""
    client = await jira().ready()
    key = guard_project(project_key)
    if not name.strip():
        raise UserFacingError("name is empty; give the version a name, e.g. 2.4.0")
    body: dict[str, Any] = {"name": name.strip(), "released": released}
    if client.is_cloud:
        project = await client.request("GET", f"{client.api}/project/{key}", operation="project.get", subject=key)
        body["projectId"] = int(project["id"])
    else:
        body["project"] = key
    optional = {"description": description, "startDate": parse_day(start_date, "start_date"),
                "releaseDate": parse_day(release_date, "release_date")}
    body.update({k: v for k, v in optional.items() if v is not None})
    created = await client.request(
        "POST", f"{client.api}/version", operation="version.create", json_body=body,
        touches=(f"project:{key}",), subject=key,
    )
    return compact_version(created)


class NewVersion(BaseModel):
    """One version of :func:`jira_create_versions`."""

    name: str
    description: str | None = None
    start_date: Day = None
    release_date: Day = None
    released: bool = False


async def jira_create_versions(
    project_key: ProjectKey, versions: Annotated[list[NewVersion], Field(min_length=1, max_length=50)],
) -> dict[str, Any]:
    """Create several versions in a project; reports each one's outcome."""
    guard_project(project_key)  # a refusal stops them all, rather than failing each
    created, failed = [], []
    for spec in versions:
        try:
            created.append(await jira_create_version(project_key, **spec.model_dump()))
        except (JiraError, UserFacingError) as exc:
            failed.append({"name": spec.name, "error": str(exc)})
    return {"created": created, "failed": failed}


async def jira_update_version(
    version_id: Annotated[str, Field(description="Version id, from jira_list_project_versions")],
    name: str | None = None,
    description: str | None = None,
    start_date: Day = None,
    release_date: Day = None,
    released: bool | None = None,
    archived: bool | None = None,
) -> dict[str, Any]:
    """Change a version: rename, describe, date, release or archive it."""
    client = await jira().ready()
    vid = version_id.strip()
    if not vid.isdigit():
        raise UserFacingError(f"version_id {version_id!r} is not a version id; expected digits, e.g. 10001")
    changes = {"name": name, "description": description, "startDate": parse_day(start_date, "start_date"),
               "releaseDate": parse_day(release_date, "release_date"), "released": released, "archived": archived}
    changes = {k: v for k, v in changes.items() if v is not None}
    if not changes:
        raise UserFacingError("nothing to change: give at least one of name, description, start_date, "
                              "release_date, released, archived")
    current = await client.request("GET", f"{client.api}/version/{vid}", operation="version.get", subject=vid)
    project = await guard_version(vid, current)
    updated = await client.request(
        "PUT", f"{client.api}/version/{vid}", operation="version.update", json_body=changes,
        touches=(f"version:{vid}", f"project:{project}"), subject=vid,
    )
    return compact_version(updated)


async def jira_list_project_components(
    project_key: ProjectKey, start_at: StartAt = 0, limit: Limit = 50
) -> dict[str, Any]:
    """List a project's components."""
    client = await jira().ready()
    key = guard_project(project_key)
    body = await client.request(
        "GET", f"{client.api}/project/{key}/components", operation="component.list", subject=key
    )
    chunk, following = slice_page(_values(body, "values"), start_at, limit)
    return {"components": [_compact_component(c) for c in chunk], "next_start_at": following}


async def jira_create_component(
    project_key: ProjectKey,
    name: str,
    description: str | None = None,
    lead: Annotated[str | None, Field(description="accountId (Cloud) or username (DC)")] = None,
) -> dict[str, Any]:
    """Create a component in a project."""
    client = await jira().ready()
    key = guard_project(project_key)
    if not name.strip():
        raise UserFacingError("name is empty; give the component a name, e.g. Backend")
    body: dict[str, Any] = {"project": key, "name": name.strip()}
    if description:
        body["description"] = description
    if lead:
        body["leadAccountId" if client.is_cloud else "leadUserName"] = lead.strip()
    created = await client.request(
        "POST", f"{client.api}/component", operation="component.create", json_body=body,
        touches=(f"project:{key}",), subject=key,
    )
    return _compact_component(created)


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    read = {"read_only": True, "idempotent": True}
    registry.add(jira_list_projects, title="List projects", **read)
    registry.add(jira_get_project, title="Get project", **read)
    registry.add(jira_get_project_issue_types, title="Project issue types", **read)
    registry.add(jira_get_create_metadata, title="Fields to create an issue", **read)
    registry.add(jira_list_project_versions, title="List versions", **read)
    registry.add(jira_create_version, title="Create version")
    registry.add(jira_create_versions, title="Create versions")
    registry.add(jira_update_version, title="Update version", idempotent=True)
    registry.add(jira_list_project_components, title="List components", **read)
    registry.add(jira_create_component, title="Create component")
