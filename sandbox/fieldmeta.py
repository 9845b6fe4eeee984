"""Field metadata for create and edit screens (``createmeta``, ``editmeta``).

Which fields a screen has comes from :func:`~jiraplug.sandbox.issue_input.screen_fields`,
the same list the create/edit endpoints enforce, so metadata and behaviour agree.
"""

from __future__ import annotations

from typing import Any

from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.fields import SEVERITY, field_def
from jiraplug.sandbox.issue_input import screen_fields
from jiraplug.sandbox.model import IssueType, Project
from jiraplug.sandbox.serialize import Renderer

__all__ = ["field_meta", "screen_meta"]

_MULTI_OPS = ["add", "set", "remove"]
_OPERATIONS: dict[str, list[str]] = {
    "labels": _MULTI_OPS, "components": _MULTI_OPS, "fixVersions": _MULTI_OPS, "versions": _MULTI_OPS,
    "timetracking": ["set", "edit"], "comment": ["add", "edit", "remove"], "issuelinks": ["add"],
}
_REQUIRED = {"summary", "issuetype", "project", "reporter"}


def _allowed_values(render: Renderer, field_id: str, project: Project, itype: IssueType) -> list[Any] | None:
    if field_id == "issuetype":
        return [render.issuetype(t) for t in render.store.issue_types if t.subtask == itype.subtask]
    if field_id == "priority":
        return [render.priority(p) for p in render.store.priorities]
    if field_id == "components":
        return [render.component(c) for c in project.components]
    if field_id in ("fixVersions", "versions"):
        return [render.version(v) for v in project.versions if not v.archived]
    if field_id == SEVERITY:
        return [render.severity(oid) for oid, _ in ref.SEVERITY_OPTIONS]
    if field_id == "project":
        return [render.project_ref(project)]
    return None


def field_meta(render: Renderer, field_id: str, project: Project, itype: IssueType, *,
               create: bool) -> dict[str, Any]:
    """One ``FieldMetadata`` (Cloud) / ``FieldMetaBean`` (Data Center) entry."""
    definition = field_def(field_id, render.flavour)
    name = definition.display_name(render.flavour) if definition else field_id
    schema = dict(definition.schema) if definition and definition.schema else {"type": "any", "system": field_id}
    if field_id == "parent":
        schema = {"type": "issuelink", "system": "parent"}
    required = field_id in _REQUIRED or (field_id == "parent" and itype.subtask)
    body: dict[str, Any] = {"required": required and (create or field_id not in ("project", "reporter")),
                            "schema": schema, "name": name, "key": field_id}
    if create:
        body["fieldId"] = field_id
    if field_id in ("assignee", "reporter"):
        body["autoCompleteUrl"] = f"{render.api}/user/assignable/search?project={project.key}&query="
    elif field_id == "labels":
        body["autoCompleteUrl"] = f"{render.api}/label/suggest?query="
    body["hasDefaultValue"] = field_id in ("priority", "reporter")
    body["operations"] = list(_OPERATIONS.get(field_id, ["set"]))
    allowed = _allowed_values(render, field_id, project, itype)
    if allowed is not None:
        body["allowedValues"] = allowed
    if field_id == "priority":
        body["defaultValue"] = render.priority(ref.PRIORITIES[2])
    return body


def screen_meta(render: Renderer, project: Project, itype: IssueType, *, create: bool) -> list[dict[str, Any]]:
    """Metadata for every field of the create (``create``) or edit screen of ``itype``."""
    ids = screen_fields(itype, render.flavour)
    if create:
        ids = ["project", *ids]
    else:
        ids = [*ids, "comment", "issuelinks"]
    return [field_meta(render, fid, project, itype, create=create) for fid in ids]
