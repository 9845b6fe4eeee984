"""Values of Jira's bundled apps that read as noise: left out, or rendered by their meaning.

Cloud sends these on issues asked for with ``fields=*all`` or by field id:

- "Parent Link" (Advanced Roadmaps) carrying a not-licensed message outside Premium: left out
  (a real parent link shows its issue);
- Service Management fields of issues outside a service project, as an error object ("The
  service project you are trying to view does not exist."): left out;
- ``issuerestriction`` without restrictions: left out;
- Development, a string holding a Java map and JSON: its pull request, commit, branch and
  build counts;
- "Time in Status", ``statusId_*:*_timesEntered_*:*_millis`` joined by ``_*|*_``: time per status;
- Rank, a LexoRank string (``0|i0000f:``) that only orders issues: left out.

Each is known by its field's schema ``custom`` type, or by its shape when that is unknown.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from typing import Any

from jiraplug.jira.jsm_values import friendly_duration
from jiraplug.jira.shapes import UNRECOGNISED, obj, text

RANK = "com.pyxis.greenhopper.jira:gh-lexo-rank"
TIME_IN_STATUS = "com.atlassian.jira.ext.charting:timeinstatus"
PARENT_LINK = "com.atlassian.jpo:jpo-custom-field-parent"
_DEVELOPMENT = "com.atlassian.jira.plugins.jira-development-integration-plugin:devsummary"  # DC; Cloud adds "cf"

_RANK_SHAPE = re.compile(r"\d\|[0-9a-z]{6,}:[0-9a-z]*")
_STATUS_TIME = re.compile(r"(\d+)_\*:\*_(\d+)_\*:\*_(\d+)")
_TIME_IN_STATUS_SHAPE = re.compile(rf"{_STATUS_TIME.pattern}(?:_\*\|\*_{_STATUS_TIME.pattern})*")
_JAVA_MAP_ENTRY = re.compile(r"([\w-]+)=\{([^{}]*)\}")
_JSON_PART = re.compile(r"(?:^|[{,\s])(?:json|devSummaryJson)=(?=\{)", re.IGNORECASE)
# Development summary kinds -> how they are shown ("repository" counts commits).
_DEV_KINDS = {"pullrequest": "pull_requests", "repository": "commits", "branch": "branches", "build": "builds",
              "review": "reviews", "deployment-environment": "deployments"}


def render_app_value(field_id: str, custom_type: str | None, value: Any,
                     status_names: Mapping[str, str] | None = None) -> Any:
    """The readable form of a bundled app's ``value``, ``None`` to leave it out, or :data:`UNRECOGNISED`.

    ``status_names`` (status id -> name) names the statuses of a Time in Status value.
    """
    if _is_service_desk_error(value) or (field_id == "issuerestriction" and _no_restriction(value)):
        return None
    statuses = status_names or {}
    if custom_type:
        render = _BY_TYPE.get(custom_type)
        return UNRECOGNISED if render is None else render(value, statuses)
    for looks_like, render in _BY_SHAPE:
        if looks_like(value):
            return render(value, statuses)
    return UNRECOGNISED


def _is_service_desk_error(value: Any) -> bool:
    return isinstance(value, Mapping) and "errorMessage" in value and "i18nErrorMessage" in value


def _no_restriction(value: Any) -> bool:
    return isinstance(value, Mapping) and not value.get("issuerestrictions")


# ---------------------------------------------------------------------------- Parent Link


def _parent_link(value: Any) -> Any:
    """The linked parent's key (and title); nothing when the field only says it is not licensed."""
    if not isinstance(value, Mapping):
        return text(value)
    data = obj(value.get("data"))
    key = text(data.get("issueKey")) or text(data.get("key"))
    title = text(data.get("title")) or text(data.get("summary"))
    if key and title:
        return f"{key}: {title}"
    return key or text(data.get("id"))


def _looks_like_parent_link(value: Any) -> bool:
    return isinstance(value, Mapping) and ("hasEpicLinkFieldDependency" in value or "nonEditableReason" in value)


# ---------------------------------------------------------------------------- Development


def _development(value: Any) -> Any:
    """Pull request, commit, branch, build... counts from the Development field's string."""
    if not isinstance(value, str):
        return None
    summary = _dev_summary_json(value)
    counts = _dev_counts(summary) if summary is not None else _dev_counts_from_map(value)
    return counts or None


def _dev_summary_json(value: str) -> Mapping[str, Any] | None:
    found = _JSON_PART.search(value)
    if found is None:
        return None
    try:
        data, _ = json.JSONDecoder().raw_decode(value, found.end())
    except ValueError:
        return None
    return obj(obj(obj(data).get("cachedValue")).get("summary")) or None


def _dev_counts(summary: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for kind, shown in _DEV_KINDS.items():
        overall = obj(obj(summary.get(kind)).get("overall"))
        count = overall.get("count", overall.get("stateCount"))
        if isinstance(count, int) and not isinstance(count, bool) and count > 0:
            out[shown] = count
            if kind == "pullrequest" and text(overall.get("state")):
                out["pull_request_state"] = str(overall["state"]).lower()
    return out


def _dev_counts_from_map(value: str) -> dict[str, Any]:
    """Counts from the Java map alone: ``{pullrequest={dataType=pullrequest, state=OPEN, stateCount=1}}``."""
    out: dict[str, Any] = {}
    for kind, body in _JAVA_MAP_ENTRY.findall(value):
        props = dict(part.strip().partition("=")[::2] for part in body.split(","))
        count = props.get("count") or props.get("stateCount")
        if kind in _DEV_KINDS and count and count.isdigit() and int(count) > 0:
            out[_DEV_KINDS[kind]] = int(count)
            if kind == "pullrequest" and props.get("state"):
                out["pull_request_state"] = props["state"].lower()
    return out


def _looks_like_development(value: Any) -> bool:
    return isinstance(value, str) and value.startswith("{") and (
        value == "{}" or "dataType=" in value or "summaryBean=" in value)


# ---------------------------------------------------------------------------- Time in Status


def _time_in_status(value: Any, status_names: Mapping[str, str]) -> Any:
    """``{"In Progress": "40m (entered 1×)"}``: time spent in each status, and visits.

    Statuses are labelled from ``status_names`` (id -> label, see
    :func:`jiraplug.jira.status_names.status_labels`) where known, else ``"status <id>"``.
    """
    if not isinstance(value, str):
        return None
    out = {}
    for status_id, entered, millis in _STATUS_TIME.findall(value):
        label = status_names.get(status_id) or f"status {status_id}"
        if label in out:
            label = f"{label} (status {status_id})"
        out[label] = f"{friendly_duration(int(millis))} (entered {entered}×)"
    return out or None


def looks_like_time_in_status(value: Any) -> bool:
    """Whether ``value`` has the shape of Jira's encoded Time in Status."""
    return isinstance(value, str) and _TIME_IN_STATUS_SHAPE.fullmatch(value) is not None


def _rank(value: Any) -> None:
    return None  # an ordering key: meaningless to a reader; the order of results carries it


def _looks_like_rank(value: Any) -> bool:
    return isinstance(value, str) and _RANK_SHAPE.fullmatch(value) is not None


# A renderer gets the value and the site's status labels (only Time in Status needs them).
Render = Callable[[Any, Mapping[str, str]], Any]


def _value_only(render: Callable[[Any], Any]) -> Render:
    return lambda value, status_names: render(value)


_BY_TYPE: dict[str, Render] = {
    RANK: _value_only(_rank),
    TIME_IN_STATUS: _time_in_status,
    PARENT_LINK: _value_only(_parent_link),
    _DEVELOPMENT: _value_only(_development),
    _DEVELOPMENT + "cf": _value_only(_development),
}
_BY_SHAPE: tuple[tuple[Callable[[Any], bool], Render], ...] = (
    (_looks_like_parent_link, _value_only(_parent_link)),
    (_looks_like_development, _value_only(_development)),
    (looks_like_time_in_status, _time_in_status),
    (_looks_like_rank, _value_only(_rank)),
)
