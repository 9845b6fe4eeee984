"""Compact, LLM-friendly views of Jira objects: names instead of nested objects, text instead of ADF."""

from __future__ import annotations

from typing import Any

from jiraplug.jira.adf import adf_to_text

# Fields shown when the caller does not ask for specific ones.
DEFAULT_FIELDS = (
    "summary", "status", "issuetype", "priority", "assignee", "reporter", "labels",
    "created", "updated", "duedate", "parent", "description",
)
SEARCH_FIELDS = ("summary", "status", "issuetype", "priority", "assignee", "updated")


def compact_issue(raw: dict[str, Any], base_url: str) -> dict[str, Any]:
    """One issue as a flat dict with only the fields Jira returned, rendered for reading."""
    fields = raw.get("fields") or {}
    out: dict[str, Any] = {"key": raw.get("key"), "url": f"{base_url.rstrip('/')}/browse/{raw.get('key')}"}
    for name, value in fields.items():
        rendered = _render_field(name, value)
        if rendered not in (None, [], ""):
            out[name] = rendered
    return out


def _render_field(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name == "description" or name == "environment":
        return adf_to_text(value)
    if name == "parent" and isinstance(value, dict):
        return {"key": value.get("key"), "summary": (value.get("fields") or {}).get("summary")}
    if name == "comment" and isinstance(value, dict):
        return [
            {"author": _name(c.get("author")), "created": c.get("created"), "body": adf_to_text(c.get("body"))}
            for c in value.get("comments", [])
        ]
    if isinstance(value, dict):
        return _name(value)
    if isinstance(value, list):
        return [_name(item) if isinstance(item, dict) else item for item in value]
    return value


def _name(value: Any) -> Any:
    """The human name of a Jira object (user, status, priority, component...)."""
    if not isinstance(value, dict):
        return value
    for key in ("displayName", "name", "value", "key"):
        if value.get(key):
            return value[key]
    return value
