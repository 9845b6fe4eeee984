"""Projects, versions, components, issue types and statuses under ``/rest/api/{v}``.

- ``GET /project``, ``GET /project/search`` (Cloud: ``query``, ``keys``, ``orderBy``, paged),
  ``GET /project/{key}``, ``/project/{key}/versions``, ``/project/{key}/components``,
  ``/project/{key}/statuses``.
- ``POST /version`` (201), ``GET``/``PUT /version/{id}``; ``POST /component`` (201),
  ``GET /component/{id}``. Changing versions and components needs write access to the project.
- ``GET /issuetype``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from jiraplug.sandbox.issue_input import FieldErrors
from jiraplug.sandbox.model import Component, Project, Version
from jiraplug.sandbox.web import Call, JiraError, api, json_response, not_found_uri, page_params, param_list
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]

_VERSION_KEYS = ("name", "description", "project", "projectId", "startDate", "releaseDate", "released",
                 "archived", "expand", "id", "self", "userStartDate", "userReleaseDate", "overdue",
                 "moveUnfixedIssuesTo")
_COMPONENT_KEYS = ("name", "description", "project", "projectId", "leadAccountId", "leadUserName",
                   "assigneeType", "lead", "id", "self")
_ORDER_KEYS = {"key": lambda p: p.key, "name": lambda p: p.name.casefold(), "id": lambda p: int(p.id)}


def _project(call: Call) -> Project:
    key = call.request.path_params["key"]
    found = call.store.get_project(key, call.user)
    if found is None:
        raise JiraError(404, f"No project could be found with key '{key}'.")
    return found


@api
async def projects(call: Call) -> Response:
    """``GET /project``: the projects the caller may browse."""
    return json_response([call.render.project_summary(p) for p in call.store.visible_projects(call.user)])


@api
async def project(call: Call) -> Response:
    """``GET /project/{projectIdOrKey}``."""
    return json_response(call.render.project_detail(_project(call)))


@api
async def project_search(call: Call) -> Response:
    """``GET /project/search`` (Cloud): a page of projects matching ``query`` / ``keys``."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    found = call.store.visible_projects(call.user)
    query = call.request.query_params.get("query", "").strip().casefold()
    if query:
        found = [p for p in found if query in p.key.casefold() or query in p.name.casefold()]
    keys = {k.upper() for k in param_list(call.request, "keys")}
    if keys:
        found = [p for p in found if p.key in keys or p.id in keys]
    order = call.request.query_params.get("orderBy", "key")
    field = order.lstrip("+-")
    if field not in _ORDER_KEYS:
        raise JiraError(400, f"Invalid orderBy '{order}': use key, name or id, optionally prefixed with '-'.")
    found = sorted(found, key=_ORDER_KEYS[field], reverse=order.startswith("-"))
    start, size = page_params(call.request, 50, 100)
    page = found[start: start + size]
    is_last = start + len(page) >= len(found)
    body: dict[str, Any] = {"self": str(call.request.url), "maxResults": size, "startAt": start,
                            "total": len(found), "isLast": is_last,
                            "values": [call.render.project_summary(p) for p in page]}
    if not is_last:
        body["nextPage"] = f"{call.render.api}/project/search?startAt={start + size}&maxResults={size}"
    return json_response(body)


@api
async def project_versions(call: Call) -> Response:
    """``GET /project/{key}/versions``."""
    return json_response([call.render.version_full(v) for v in _project(call).versions])


@api
async def project_components(call: Call) -> Response:
    """``GET /project/{key}/components``."""
    return json_response([call.render.component_full(c) for c in _project(call).components])


@api
async def project_statuses(call: Call) -> Response:
    """``GET /project/{key}/statuses``: the workflow statuses per issue type."""
    _project(call)  # 404 unless visible; every project shares the one sandbox workflow
    statuses = [call.render.status(s) for s in call.store.statuses]
    return json_response([{"self": f"{call.render.api}/issuetype/{t.id}", "id": t.id, "name": t.name,
                           "subtask": t.subtask, "statuses": statuses} for t in call.store.issue_types])


@api
async def statuses(call: Call) -> Response:
    """``GET /status``: every status of the site's workflows."""
    return json_response([call.render.status(s) for s in call.store.statuses])


@api
async def issue_types(call: Call) -> Response:
    """``GET /issuetype``."""
    return json_response([call.render.issuetype(t) for t in call.store.issue_types])


# --------------------------------------------------------------------------- versions


def _target_project(call: Call, body: dict[str, Any], errors: dict[str, str]) -> Project | None:
    ref = body.get("projectId", body.get("project"))
    found = call.store.get_project(str(ref), call.user) if ref not in (None, "") else None
    if found is None:
        errors["project"] = "A valid project (key) or projectId is required."
    return found


def _date(body: dict[str, Any], key: str, errors: dict[str, str]) -> dt.date | None:
    raw = body.get(key)
    if raw in (None, ""):
        return None
    try:
        return dt.date.fromisoformat(str(raw)[:10])
    except ValueError:
        errors[key] = f"Invalid date '{raw}': use yyyy-MM-dd."
        return None


def _flag(body: dict[str, Any], key: str, default: bool, errors: dict[str, str]) -> bool:
    value = body.get(key, default)
    if not isinstance(value, bool):
        errors[key] = f"'{key}' must be true or false."
        return default
    return value


def _reject_unknown(body: dict[str, Any], known: tuple[str, ...]) -> None:
    unknown = sorted(set(body) - set(known))
    if unknown:
        raise JiraError(400, f'Unrecognized field "{unknown[0]}" (known: {", ".join(known)})')


def _version_name(body: dict[str, Any], project_: Project | None, errors: dict[str, str],
                  current: Version | None = None) -> str | None:
    name = body.get("name", current.name if current else None)
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "You must specify a valid version name"
        return None
    if len(name) > 255:
        errors["name"] = "The version name must not be longer than 255 characters."
    elif project_ is not None and any(v.name.casefold() == name.strip().casefold() and v is not current
                                      for v in project_.versions):
        errors["name"] = "A version with this name already exists in this project."
    return name.strip()


@api
async def create_version(call: Call) -> Response:
    """``POST /version``: 201 with the version."""
    body = await call.json_body()
    _reject_unknown(body, _VERSION_KEYS)
    errors: dict[str, str] = {}
    project_ = _target_project(call, body, errors)
    name = _version_name(body, project_, errors)
    start, release = _date(body, "startDate", errors), _date(body, "releaseDate", errors)
    released, archived = _flag(body, "released", False, errors), _flag(body, "archived", False, errors)
    description = body.get("description") or ""
    if errors:
        raise FieldErrors(errors)
    assert project_ is not None and name is not None
    call.require_edit(project_.key, "administer versions")
    store = call.store
    with store.lock:
        store.stamp()
        version = Version(id=str(store.next_id("version")), name=name, description=str(description),
                          project_key=project_.key, project_id=project_.id, sequence=len(project_.versions),
                          released=released, archived=archived, start_date=start, release_date=release)
        project_.versions.append(version)
    return json_response(call.render.version_full(version), 201)


def _version(call: Call) -> Version:
    version_id = call.request.path_params["id"]
    found = call.store.version(version_id)
    if found is None or not call.user.can_browse(found.project_key):
        raise JiraError(404, f"Could not find version for id '{version_id}'")
    return found


@api
async def get_version(call: Call) -> Response:
    """``GET /version/{id}``."""
    return json_response(call.render.version_full(_version(call)))


@api
async def update_version(call: Call) -> Response:
    """``PUT /version/{id}``: change name, description, dates, released, archived (200)."""
    version = _version(call)
    call.require_edit(version.project_key, "administer versions")
    body = await call.json_body()
    _reject_unknown(body, _VERSION_KEYS)
    errors: dict[str, str] = {}
    project_ = call.store.projects[version.project_key]
    name = _version_name(body, project_, errors, version)
    start = _date(body, "startDate", errors) if "startDate" in body else version.start_date
    release = _date(body, "releaseDate", errors) if "releaseDate" in body else version.release_date
    released = _flag(body, "released", version.released, errors)
    archived = _flag(body, "archived", version.archived, errors)
    if errors:
        raise FieldErrors(errors)
    assert name is not None
    store = call.store
    with store.lock:
        store.stamp()
        if released and not version.released and release is None:
            release = store.now().date()  # releasing without a date releases today, as Jira does
        version.name, version.start_date, version.release_date = name, start, release
        version.released, version.archived = released, archived
        if "description" in body:
            version.description = str(body.get("description") or "")
    return json_response(call.render.version_full(version))


# --------------------------------------------------------------------------- components


@api
async def create_component(call: Call) -> Response:
    """``POST /component``: 201 with the component."""
    body = await call.json_body()
    _reject_unknown(body, _COMPONENT_KEYS)
    errors: dict[str, str] = {}
    project_ = _target_project(call, body, errors)
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        errors["name"] = "The component name specified is invalid - cannot be empty."
    elif project_ is not None and any(c.name.casefold() == name.strip().casefold() for c in project_.components):
        errors["name"] = "A component with the name " + name.strip() + " already exists in this project."
    lead_ref = body.get("leadAccountId") if call.flavour == "cloud" else body.get("leadUserName")
    lead = call.store.user_by_ref(str(lead_ref), call.flavour) if lead_ref else None
    if lead_ref and lead is None:
        errors["leadAccountId" if call.flavour == "cloud" else "leadUserName"] = \
            f"The user '{lead_ref}' does not exist."
    if errors:
        raise FieldErrors(errors)
    assert project_ is not None and isinstance(name, str)
    call.require_edit(project_.key, "administer components")
    store = call.store
    with store.lock:
        store.stamp()
        component = Component(id=str(store.next_id("component")), name=name.strip(),
                              description=str(body.get("description") or ""), project_key=project_.key,
                              project_id=project_.id, lead=lead)
        project_.components.append(component)
    return json_response(call.render.component_full(component), 201)


@api
async def get_component(call: Call) -> Response:
    """``GET /component/{id}``."""
    component_id = call.request.path_params["id"]
    found = call.store.component(component_id)
    if found is None or not call.user.can_browse(found.project_key):
        raise JiraError(404, f"The component with id {component_id} does not exist.")
    return json_response(call.render.component_full(found))


def routes() -> list[Route]:
    """The routes of this module."""
    base = "/rest/api/{version}"
    return [
        Route(f"{base}/project", projects, methods=["GET"]),
        Route(f"{base}/project/search", project_search, methods=["GET"]),
        Route(f"{base}/project/{{key}}", project, methods=["GET"]),
        Route(f"{base}/project/{{key}}/versions", project_versions, methods=["GET"]),
        Route(f"{base}/project/{{key}}/components", project_components, methods=["GET"]),
        Route(f"{base}/project/{{key}}/statuses", project_statuses, methods=["GET"]),
        Route(f"{base}/status", statuses, methods=["GET"]),
        Route(f"{base}/issuetype", issue_types, methods=["GET"]),
        Route(f"{base}/version", create_version, methods=["POST"]),
        Route(f"{base}/version/{{id}}", get_version, methods=["GET"]),
        Route(f"{base}/version/{{id}}", update_version, methods=["PUT"]),
        Route(f"{base}/component", create_component, methods=["POST"]),
        Route(f"{base}/component/{{id}}", get_component, methods=["GET"]),
    ]
