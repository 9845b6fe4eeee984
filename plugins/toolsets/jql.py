"""Built-in toolset ``jql``: help the model write JQL with Jira's own parser and autocomplete data.

Validation asks Jira itself: ``POST /rest/api/3/jql/parse`` on Cloud, a search for no issues
(``maxResults=0``) on Data Center, which has no parse endpoint but answers a bad query with the
same messages. Errors come back with their position and, where Jira's message allows, with
suggestions (close field names, a field's operators, close values). Suggestions come from
``/jql/autocompletedata`` (fields, operators, functions) and ``/jql/autocompletedata/suggestions``
(values), on both flavours. Values that name a project, version or component are drawn from the
allowed projects only when ``JIRA_PROJECTS_FILTER`` is set; reads are cached per credential by
the cache plugin like any other.
"""

from __future__ import annotations

import difflib
import re
from typing import Annotated, Any

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.jira.errors import JiraError
from jiraplug.server.registry import ToolRegistry
from jiraplug.server.projects_filter import allowed_projects
from jiraplug.server.toolkit import jira, scoped_jql
from jiraplug.tool_errors import UserFacingError

__all__ = ["field_values", "jira_suggest_jql", "jira_validate_jql", "jql_value"]

_POSITION = re.compile(r"\(line (\d+), character (\d+)\)")
_UNKNOWN_FIELD = re.compile(r"^Field '(.+?)' does not exist")
_UNKNOWN_VALUE = re.compile(r"^The value '(.+?)' does not exist for the field '(.+?)'")
_BAD_OPERATOR = re.compile(r"^The operator '(.+?)' is not supported by the '(.+?)' field")
_MARKUP = re.compile(r"</?b>")
_NEEDS_QUOTES = re.compile(r"[\s\"'=!<>()~,&|{}%^;`\\]")
_MAX_FIELDS = 40
# Fields whose values belong to a project: with a projects filter they come from the allowed projects.
_PROJECT_SCOPED = {"project": None, "component": "components", "fixversion": "versions",
                   "affectedversion": "versions"}

Jql = Annotated[str, Field(description="JQL query", min_length=1)]


def jql_value(text: str) -> str:
    """``text`` written as a JQL value (quoted when it holds a space or a JQL character)."""
    if text and not _NEEDS_QUOTES.search(text):
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _error(message: str) -> dict[str, Any]:
    found = _POSITION.search(message)
    if not found:
        return {"message": message}
    return {"message": message, "line": int(found.group(1)), "column": int(found.group(2))}


async def _reference_data() -> dict[str, Any]:
    client = await jira().ready()
    return await client.request("GET", f"{client.api}/jql/autocompletedata", operation="jql.autocompletedata") or {}


def _field_entries(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [f for f in data.get("visibleFieldNames") or [] if isinstance(f, dict)]


def _names_of(entry: dict[str, Any]) -> set[str]:
    names = {str(entry.get(k) or "").strip('"').casefold() for k in ("value", "cfid")}
    names.add(str(entry.get("displayName") or "").split(" - cf[")[0].casefold())
    return names - {""}


def _find_field(data: dict[str, Any], name: str) -> dict[str, Any] | None:
    wanted = name.strip().strip('"').casefold()
    return next((f for f in _field_entries(data) if wanted in _names_of(f)), None)


def _close_fields(data: dict[str, Any], name: str) -> list[str]:
    names = sorted({str(f.get("value") or "") for f in _field_entries(data)} - {""})
    lowered = {n.strip('"').casefold(): n for n in names}
    return [lowered[n] for n in difflib.get_close_matches(name.casefold(), list(lowered), n=3, cutoff=0.6)]


async def _project_values(field: str, typed: str) -> list[dict[str, str]]:
    """Values of a project-scoped field from the allowed projects only (a projects filter is set)."""
    client = await jira().ready()
    needle = typed.casefold()
    kind = _PROJECT_SCOPED[field]
    if kind is None:
        return [{"value": key, "label": key} for key in allowed_projects() if needle in key.casefold()]
    values: dict[str, dict[str, str]] = {}
    for key in allowed_projects():
        items = await client.request("GET", f"{client.api}/project/{key}/{kind}", operation=f"project.{kind}",
                                     subject=key) or []
        for item in items if isinstance(items, list) else []:
            name = str(item.get("name") or "")
            if name and needle in name.casefold():
                values.setdefault(name, {"value": jql_value(name), "label": f"{name} ({key})"})
    return list(values.values())


async def field_values(field: str, typed: str = "") -> list[dict[str, str]]:
    """Values of the JQL field ``field`` matching ``typed``: ``[{"value": JQL form, "label": ...}]``.

    Jira's own suggestions, except that with ``JIRA_PROJECTS_FILTER`` set, projects, versions and
    components come from the allowed projects, and sprints (which Jira does not tie to a project
    in its answer) are not suggested.
    """
    name = field.strip().strip('"').casefold()
    if allowed_projects():
        if name in _PROJECT_SCOPED:
            return await _project_values(name, typed)
        if name in ("sprint", "cf[10020]"):
            return []
    client = await jira().ready()
    body = await client.request("GET", f"{client.api}/jql/autocompletedata/suggestions",
                                operation="jql.suggestions", params={"fieldName": field, "fieldValue": typed or None}) or {}
    out = []
    for result in body.get("results") or []:
        value = str(result.get("value") or "")
        if value:
            out.append({"value": jql_value(value), "label": _MARKUP.sub("", str(result.get("displayName") or value))})
    return out


async def _suggestions(data: dict[str, Any], message: str) -> list[str]:
    """Hints for one of Jira's error messages (empty when it says all there is to say)."""
    if found := _UNKNOWN_FIELD.match(message):
        close = _close_fields(data, found.group(1))
        return [f"did you mean: {', '.join(close)}?"] if close else ["list fields with jira_suggest_jql"]
    if found := _BAD_OPERATOR.match(message):
        entry = _find_field(data, found.group(2))
        if entry and entry.get("operators"):
            return [f"{found.group(2)} supports: {', '.join(entry['operators'])}"]
    if found := _UNKNOWN_VALUE.match(message):
        value, field = found.groups()
        known = await field_values(field, "")
        labels = {v["value"].strip('"'): v["value"] for v in known}
        close = difflib.get_close_matches(value, list(labels), n=3, cutoff=0.5)
        shown = [labels[c] for c in close] or [v["value"] for v in known[:5]]
        if shown:
            return [f"values of {field}: {', '.join(shown)}"]
    return []


async def jira_validate_jql(jql: Jql) -> dict[str, Any]:
    """Check JQL with Jira's parser: errors with line/column and suggestions."""
    client = await jira().ready()
    messages: list[str] = []
    warnings: list[str] = []
    if client.is_cloud:
        body = await client.request("POST", "/rest/api/3/jql/parse", operation="jql.parse", read_only=True,
                                    params={"validation": "strict"}, json_body={"queries": [jql]}) or {}
        parsed = (body.get("queries") or [{}])[0]
        messages, warnings = list(parsed.get("errors") or []), list(parsed.get("warnings") or [])
    else:
        try:
            found = await client.request("POST", "/rest/api/2/search", operation="jql.validate", read_only=True,
                                         json_body={"jql": jql, "maxResults": 0, "validateQuery": True,
                                                    "fields": ["id"]}) or {}
            warnings = list(found.get("warningMessages") or [])
        except JiraError as exc:
            if exc.status != 400:
                raise
            messages = exc.messages or [str(exc)]
    if not messages and allowed_projects():
        try:
            scoped_jql(jql)  # what jira_search will send: the filter must be able to wrap it
        except UserFacingError as exc:
            messages.append(f"{exc} (needed to apply JIRA_PROJECTS_FILTER)")
    result: dict[str, Any] = {"valid": not messages}
    if messages:
        data = await _reference_data()
        errors = []
        for message in messages:
            error = _error(message)
            hints = await _suggestions(data, message)
            if hints:
                error["suggestions"] = hints
            errors.append(error)
        result["errors"] = errors
    if warnings:
        result["warnings"] = warnings
    return result


async def jira_suggest_jql(
    field: Annotated[str | None, Field(description="Field to suggest values for; omit to list fields")] = None,
    prefix: Annotated[str, Field(description="What is typed so far")] = "",
) -> dict[str, Any]:
    """Suggest JQL fields (with operators) or a field's values."""
    data = await _reference_data()
    if field is None or not field.strip():
        needle = prefix.strip().casefold()
        fields = [f for f in _field_entries(data) if not needle or any(needle in n for n in _names_of(f))]
        functions = [str(f.get("value")) for f in data.get("visibleFunctionNames") or []
                     if isinstance(f, dict) and needle and needle in str(f.get("value", "")).casefold()]
        result: dict[str, Any] = {"fields": [{"field": f.get("value"), "operators": f.get("operators") or []}
                                             for f in fields[:_MAX_FIELDS]]}
        if len(fields) > _MAX_FIELDS:
            result["more"] = f"{len(fields) - _MAX_FIELDS} more fields; narrow with prefix"
        if functions:
            result["functions"] = functions
        return result
    entry = _find_field(data, field)
    if entry is None:
        close = _close_fields(data, field.strip())
        hint = f"; did you mean {', '.join(close)}?" if close else "; omit field to list them"
        raise UserFacingError(f"JQL has no field {field.strip()!r} you can search{hint}")
    return {"field": entry.get("value"), "operators": entry.get("operators") or [],
            "values": await field_values(str(entry.get("value") or field).strip('"'), prefix)}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    read = {"read_only": True, "idempotent": True}
    registry.add(jira_validate_jql, title="Validate JQL", **read)
    registry.add(jira_suggest_jql, title="Suggest JQL", **read)
