"""Compact, LLM-friendly views of Jira issues: only the requested fields, names instead of nested
objects, Markdown instead of ADF or wiki markup, custom fields under their names.

A raw issue is easily 30 KB of JSON (avatar URLs, ``self`` links, schema noise); its compact
form keeps what a reader needs: ``{"key": "PROJ-1", "url": ..., "summary": ...,
"status": "In Progress", "assignee": "Ada Lovelace", "description": "Markdown...",
"Story Points": 5}``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

from jiraplug.jira.app_values import render_app_value
from jiraplug.jira.jsm_values import render_jsm_value
from jiraplug.jira.shapes import UNRECOGNISED, obj, objects, scalar, text
from jiraplug.jira.status_names import STATUS_NAMES_KEY

# Fields shown when the caller does not ask for specific ones.
DEFAULT_FIELDS = (
    "summary", "status", "issuetype", "priority", "assignee", "reporter", "labels",
    "created", "updated", "duedate", "parent", "description",
)
SEARCH_FIELDS = ("summary", "status", "issuetype", "priority", "assignee", "updated")

RICH_TEXT_FIELDS = frozenset({"description", "environment"})
# Keys that carry no meaning for a reader (links back into the API, avatars, icons).
_NOISE = frozenset({"self", "avatarUrls", "iconUrl", "expand", "statusCategory", "avatarId", "entityId",
                    "hierarchyLevel", "subtask", "timeZone", "accountType", "active", "emailAddress"})
_EMPTY = (None, "", [], {})
# Data Center renders sprints as "com.atlassian.greenhopper.service.sprint.Sprint@1a2b[id=1,state=ACTIVE,name=S 1,...]".
_DC_SPRINT_PART = re.compile(r"[\[,](\w+)=([^,\]]*)")


def render_text(value: Any) -> str:
    """Markdown from a Jira rich-text value: an ADF document (Cloud), wiki markup (DC/v2) or ``None``."""
    from jiraplug.jira.markup import adf_to_markdown, wiki_to_markdown

    if value is None:
        return ""
    if isinstance(value, str):
        return wiki_to_markdown(value)
    if isinstance(value, Mapping) and value.get("type") == "doc":
        return adf_to_markdown(dict(value))
    if isinstance(value, Mapping) and "content" in value:  # an ADF fragment without the doc wrapper
        return adf_to_markdown({"type": "doc", "version": 1, "content": list(value.get("content") or [])})
    return str(value)


def compact_issue(
    raw: Mapping[str, Any],
    base_url: str,
    *,
    fields: Iterable[str] | None = None,
    field_names: Mapping[str, str] | None = None,
    field_types: Mapping[str, str] | None = None,
    status_names: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """One issue as a flat dict, rendered for reading.

    ``fields`` limits the output to those fields (ids or names; ``*all``/``*navigable``
    keep all, ``-name`` drops one); by default every field Jira returned is shown. Custom
    fields are shown under their names when ``field_names`` or the issue's own ``names``
    (``expand=names``, or added by the client) know them, else under their ids. Their
    values render by their schema ``custom`` type, from ``field_types`` or the issue's own
    ``schema`` (``expand=schema``, or added by the client), else by their shape. Time in
    Status names its statuses from ``status_names`` or the issue's ``statusNames`` (added by
    the client), else shows their ids.
    """
    names = {str(k): str(v) for k, v in {**obj(raw.get("names")), **(field_names or {})}.items()
             if isinstance(v, str)}
    types = {**{str(k): text(obj(v).get("custom")) for k, v in obj(raw.get("schema")).items()}, **(field_types or {})}
    statuses = status_names or obj(raw.get(STATUS_NAMES_KEY))  # the site's map: not copied per issue
    wanted, dropped = _selection(fields, names)
    key = text(raw.get("key"))
    out: dict[str, Any] = {"key": key} if key else {"id": scalar(raw.get("id"))}
    if key:
        out["url"] = f"{base_url.rstrip('/')}/browse/{key}"
    for field_id, value in obj(raw.get("fields")).items():
        if field_id in dropped or (wanted is not None and field_id not in wanted):
            continue
        rendered = render_field(field_id, value, types.get(field_id), statuses)
        if rendered in _EMPTY:
            continue
        out[_label(field_id, names, out)] = rendered
    return out


def render_field(field_id: str, value: Any, custom_type: str | None = None,
                 status_names: Mapping[str, str] | None = None) -> Any:
    """The readable form of one field's value; ``custom_type`` is its schema's ``custom`` type, if known.

    ``status_names`` (status id -> name) names the statuses of a Time in Status value.

    ``None`` (or another empty value) means the field has nothing to show: Cloud's noise
    (see :mod:`jiraplug.jira.app_values`) renders so.
    """
    if value is None:
        return None
    if field_id in RICH_TEXT_FIELDS or _is_adf(value):
        return render_text(value)
    special = _SPECIAL.get(field_id)
    if special is not None:
        return special(value)
    # Apps' values (Service Management, Advanced Roadmaps, development, Rank...) come in custom
    # fields, plus the system issuerestriction: other system fields skip their shape checks.
    if field_id.startswith("customfield_") or field_id == "issuerestriction":
        rendered = render_app_value(field_id, custom_type, value, status_names)
        if rendered is UNRECOGNISED:
            rendered = render_jsm_value(custom_type, value)
        if rendered is not UNRECOGNISED:
            return rendered
    if isinstance(value, list):
        items = [_sprint(item) if _looks_like_sprint(item) else render_value(item) for item in value]
        return [item for item in items if item not in _EMPTY]
    if _looks_like_sprint(value):
        return _sprint(value)
    return render_value(value)


def render_value(value: Any) -> Any:
    """A nested Jira object as its name: users, statuses, priorities, components, versions, options."""
    if isinstance(value, list):
        return [render_value(item) for item in value]
    if not isinstance(value, Mapping):
        return value
    if _is_adf(value):
        return render_text(value)
    if "displayName" in value:  # a user
        return value.get("displayName") or value.get("accountId") or value.get("name")
    if "value" in value and not isinstance(value.get("value"), (Mapping, list)):  # a select option
        child = value.get("child")
        return f"{value['value']} / {child.get('value')}" if isinstance(child, Mapping) else value["value"]
    for key in ("name", "key"):
        if value.get(key):
            return value[key]
    return {k: render_value(v) for k, v in value.items() if k not in _NOISE and v not in _EMPTY}


# ---------------------------------------------------------------------------- field-specific forms


def _comments(value: Any) -> list[dict[str, Any]]:
    items = value.get("comments", []) if isinstance(value, Mapping) else value
    return [
        _without_empty({"id": scalar(c.get("id")), "author": render_value(c.get("author")),
                        "created": scalar(c.get("created")), "body": render_text(c.get("body"))})
        for c in objects(items)
    ]


def _worklogs(value: Any) -> list[dict[str, Any]]:
    items = value.get("worklogs", []) if isinstance(value, Mapping) else value
    return [
        _without_empty({"id": scalar(w.get("id")), "author": render_value(w.get("author")),
                        "started": scalar(w.get("started")), "timeSpent": scalar(w.get("timeSpent")),
                        "comment": render_text(w.get("comment"))})
        for w in objects(items)
    ]


def _attachments(value: Any) -> list[dict[str, Any]]:
    return [
        _without_empty({"id": text(a.get("id")), "filename": scalar(a.get("filename")), "size": scalar(a.get("size")),
                        "mimeType": scalar(a.get("mimeType")), "created": scalar(a.get("created")),
                        "author": render_value(a.get("author"))})
        for a in objects(value)
    ]


def _issue_ref(issue: Any) -> dict[str, Any]:
    if not isinstance(issue, Mapping):
        return {}
    fields = obj(issue.get("fields"))
    return _without_empty({"key": scalar(issue.get("key")), "summary": scalar(fields.get("summary")),
                           "status": render_value(fields.get("status"))})


def _links(value: Any) -> list[dict[str, Any]]:
    out = []
    for link in objects(value):
        kind = obj(link.get("type"))  # a list here (seen in real answers) leaves the link untyped
        for side, phrase in (("outwardIssue", "outward"), ("inwardIssue", "inward")):
            if isinstance(link.get(side), Mapping):
                out.append(_without_empty({"type": text(kind.get(phrase)) or text(kind.get("name")),
                                           **_issue_ref(link[side])}))
                break
    return out


def _subtasks(value: Any) -> list[dict[str, Any]]:
    # The spec's examples show sub-tasks both as issues and as links to them.
    out = [_issue_ref(item.get("outwardIssue") or item) for item in objects(value)]
    return [item for item in out if item]


def _project(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return scalar(value)
    return _without_empty({"key": scalar(value.get("key")), "name": scalar(value.get("name"))})


def _count(key: str) -> Any:
    return lambda value: scalar(value.get(key)) if isinstance(value, Mapping) else scalar(value)


def _time_tracking(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return scalar(value)
    return _without_empty({k: scalar(value.get(k)) for k in ("originalEstimate", "remainingEstimate", "timeSpent")})


def _progress(value: Any) -> Any:
    if not isinstance(value, Mapping):
        return scalar(value)
    return _without_empty({k: scalar(value.get(k)) for k in ("progress", "total", "percent")})


def _work_ratio(value: Any) -> Any:
    """Time spent as a percentage of the original estimate; Jira sends -1 when there is no estimate."""
    return None if value == -1 else value


_SPECIAL: dict[str, Any] = {
    "comment": _comments,
    "worklog": _worklogs,
    "attachment": _attachments,
    "issuelinks": _links,
    "subtasks": _subtasks,
    "sub-tasks": _subtasks,
    "parent": _issue_ref,
    "project": _project,
    "votes": _count("votes"),
    "watches": _count("watchCount"),
    "watcher": _count("watchCount"),
    "timetracking": _time_tracking,
    "progress": _progress,
    "aggregateprogress": _progress,
    "workratio": _work_ratio,
}


def _looks_like_sprint(value: Any) -> bool:
    if isinstance(value, str):
        return "greenhopper.service.sprint.Sprint@" in value
    # The Sprint field carries boardId; the agile API's own sprint objects (an issue's
    # "sprint" and "closedSprints") carry originBoardId instead.
    return (isinstance(value, Mapping) and ("boardId" in value or "originBoardId" in value)
            and "state" in value and "name" in value)


def _sprint(value: Any) -> str:
    if isinstance(value, str):
        parts = dict(_DC_SPRINT_PART.findall(value))
        if "name" not in parts:
            return value
        name, state = parts["name"], parts.get("state")
    else:
        name, state = value.get("name"), value.get("state")
    return f"{name} ({state.lower()})" if isinstance(state, str) and state else str(name)


# ---------------------------------------------------------------------------- helpers


def _is_adf(value: Any) -> bool:
    return isinstance(value, Mapping) and value.get("type") == "doc" and "content" in value


def _without_empty(values: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in values.items() if v not in _EMPTY}


def _selection(fields: Iterable[str] | None, names: Mapping[str, str]) -> tuple[set[str] | None, set[str]]:
    """(ids to keep or None for all, ids to drop) from a ``fields`` list of ids, names and ``*``/``-`` forms."""
    if fields is None:
        return None, set()
    by_name = {name.lower(): field_id for field_id, name in names.items()}

    def resolve(name: str) -> str:
        return by_name.get(name.lower(), name) if name not in names else name

    wanted: set[str] | None = set()
    dropped: set[str] = set()
    for item in (f.strip() for f in fields):
        if not item:
            continue
        if item.startswith("*"):
            wanted = None
        elif item.startswith("-"):
            dropped.add(resolve(item[1:]))
        elif wanted is not None:
            wanted.add(resolve(item))
    return wanted, dropped


def _label(field_id: str, names: Mapping[str, str], taken: Mapping[str, Any]) -> str:
    if not field_id.startswith("customfield_"):
        return field_id
    name = names.get(field_id)
    if not name:
        return field_id
    return name if name not in taken and name not in _SYSTEM_IDS else f"{name} ({field_id})"


_SYSTEM_IDS = frozenset({*DEFAULT_FIELDS, "key", "url", "id", "comment", "worklog", "attachment", "issuelinks",
                         "subtasks", "project", "components", "fixVersions", "versions", "resolution"})
