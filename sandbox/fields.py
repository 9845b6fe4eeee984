"""The field catalogue (``GET /rest/api/{v}/field``) and ``fields=`` selection parsing.

Cloud and Data Center share most system fields; they differ in a few: Cloud has
``statuscategorychangedate`` and puts epics in ``parent``; Data Center keeps the
Jira Software "Epic Link" custom field.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "FieldDef",
    "FieldSelection",
    "STORY_POINTS",
    "SPRINT",
    "RANK",
    "EPIC_LINK",
    "SEVERITY",
    "catalogue",
    "field_def",
    "parse_field_selection",
]

STORY_POINTS = "customfield_10016"
SPRINT = "customfield_10020"
RANK = "customfield_10019"
EPIC_LINK = "customfield_10014"
SEVERITY = "customfield_10030"

_BOTH = frozenset({"cloud", "dc"})


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One issue field as ``/field`` describes it."""

    id: str
    name: str
    schema: dict[str, Any] | None
    clause_names: tuple[str, ...] = ()
    custom: bool = False
    navigable: bool = True
    orderable: bool = True
    searchable: bool = True
    on_issue: bool = True
    flavours: frozenset[str] = _BOTH
    dc_name: str | None = None

    def display_name(self, flavour: str) -> str:
        """The field's name in ``flavour`` (a few differ between Cloud and Data Center)."""
        return self.dc_name if flavour == "dc" and self.dc_name else self.name

    def to_json(self, flavour: str) -> dict[str, Any]:
        """The ``FieldDetails`` (Cloud) / ``FieldBean`` (Data Center) representation."""
        body: dict[str, Any] = {"id": self.id}
        if flavour == "cloud":
            body["key"] = self.id
        body.update({
            "name": self.display_name(flavour),
            "custom": self.custom,
            "orderable": self.orderable,
            "navigable": self.navigable,
            "searchable": self.searchable,
            "clauseNames": list(self.clause_names),
        })
        if self.schema is not None:
            body["schema"] = dict(self.schema)
        return body


def _sys(fid: str, name: str, type_: str | None, *, items: str | None = None, clauses: Iterable[str] | None = None,
         **kw: Any) -> FieldDef:
    schema = None
    if type_ is not None:
        schema = {"type": type_, "system": fid}
        if items:
            schema = {"type": type_, "items": items, "system": fid}
    return FieldDef(fid, name, schema, tuple(clauses if clauses is not None else (fid,)), **kw)


def _custom(num: int, name: str, type_: str, custom: str, clauses: Iterable[str], *, items: str | None = None,
            **kw: Any) -> FieldDef:
    schema: dict[str, Any] = {"type": type_}
    if items:
        schema["items"] = items
    schema.update({"custom": custom, "customId": num})
    return FieldDef(f"customfield_{num}", name, schema, (f"cf[{num}]", *clauses), custom=True, **kw)


_FIELDS: tuple[FieldDef, ...] = (
    _sys("issuekey", "Key", None, clauses=("id", "issue", "issuekey", "key"), on_issue=False),
    _sys("summary", "Summary", "string"),
    _sys("issuetype", "Issue Type", "issuetype", clauses=("issuetype", "type")),
    _sys("parent", "Parent", None, clauses=("parent",), orderable=False, searchable=False),
    _sys("project", "Project", "project", orderable=False),
    _sys("fixVersions", "Fix versions", "array", items="version", clauses=("fixVersion",),
         dc_name="Fix Version/s"),
    _sys("statuscategorychangedate", "Status Category Changed", "datetime", clauses=("statusCategoryChangedDate",),
         orderable=False, flavours=frozenset({"cloud"})),
    _sys("resolution", "Resolution", "resolution"),
    _sys("resolutiondate", "Resolved", "datetime", clauses=("resolutiondate", "resolved"), orderable=False),
    _sys("workratio", "Work Ratio", "number", orderable=False),
    _sys("lastViewed", "Last Viewed", "datetime", clauses=("lastViewed",), orderable=False),
    _sys("watches", "Watchers", "watches", clauses=("watchers",), orderable=False),
    _sys("created", "Created", "datetime", clauses=("created", "createdDate"), orderable=False),
    _sys("priority", "Priority", "priority"),
    _sys("labels", "Labels", "array", items="string", clauses=("labels",)),
    _sys("versions", "Affects versions", "array", items="version", clauses=("affectedVersion",),
         dc_name="Affects Version/s"),
    _sys("issuelinks", "Linked Issues", "array", items="issuelinks", clauses=("issueLink",)),
    _sys("assignee", "Assignee", "user"),
    _sys("updated", "Updated", "datetime", clauses=("updated", "updatedDate"), orderable=False),
    _sys("status", "Status", "status", orderable=False),
    _sys("components", "Components", "array", items="component", clauses=("component",),
         dc_name="Component/s"),
    _sys("description", "Description", "string"),
    _sys("timetracking", "Time tracking", "timetracking", clauses=(), navigable=False),
    _sys("timeoriginalestimate", "Original estimate", "number", clauses=("originalEstimate",), orderable=False),
    _sys("timeestimate", "Remaining Estimate", "number", clauses=("remainingEstimate",), orderable=False),
    _sys("timespent", "Time Spent", "number", clauses=("timespent",), orderable=False),
    _sys("aggregatetimeoriginalestimate", "Σ Original Estimate", "number", orderable=False),
    _sys("aggregatetimeestimate", "Σ Remaining Estimate", "number", orderable=False),
    _sys("aggregatetimespent", "Σ Time Spent", "number", orderable=False),
    _sys("security", "Security Level", "securitylevel", clauses=("level",)),
    _sys("attachment", "Attachment", "array", items="attachment", clauses=("attachments",), navigable=False),
    _sys("environment", "Environment", "string"),
    _sys("duedate", "Due date", "date", clauses=("due", "duedate"), dc_name="Due Date"),
    _sys("progress", "Progress", "progress", clauses=("progress",), orderable=False),
    _sys("aggregateprogress", "Σ Progress", "progress", orderable=False),
    _sys("votes", "Votes", "votes", orderable=False),
    _sys("comment", "Comment", "comments-page", navigable=False),
    _sys("worklog", "Log Work", "array", items="worklog", clauses=("worklogComment",), navigable=False,
         orderable=False),
    _sys("subtasks", "Sub-tasks", "array", items="issuelinks", clauses=("subtasks",), orderable=False),
    _sys("reporter", "Reporter", "user"),
    _sys("creator", "Creator", "user", orderable=False),
    _custom(10016, "Story Points", "number", "com.atlassian.jira.plugin.system.customfieldtypes:float",
            ("Story Points",)),
    _custom(10019, "Rank", "any", "com.pyxis.greenhopper.jira:gh-lexo-rank", ("Rank",)),
    _custom(10020, "Sprint", "array", "com.pyxis.greenhopper.jira:gh-sprint", ("Sprint",), items="json"),
    _custom(10014, "Epic Link", "any", "com.pyxis.greenhopper.jira:gh-epic-link", ("Epic Link",),
            flavours=frozenset({"dc"})),
    _custom(10030, "Severity", "option", "com.atlassian.jira.plugin.system.customfieldtypes:select",
            ("Severity",)),
    # Fields holding references (issues, versions, projects) that real sites often have; listed so
    # clients meet them in /field, not stored on issues (the sandbox's screens do not offer them).
    _custom(10050, "Parent Link", "any", "com.atlassian.jpo:jpo-custom-field-parent", ("Parent Link",),
            on_issue=False),
    _custom(10051, "Related issue", "any", "com.atlassian.jira.plugin.system.customfieldtypes:issuepicker",
            ("Related issue",), on_issue=False),
    _custom(10052, "Related issues", "array", "com.atlassian.jira.plugin.system.customfieldtypes:multiissuepicker",
            ("Related issues",), items="string", on_issue=False),
    _custom(10053, "Target version", "version", "com.atlassian.jira.plugin.system.customfieldtypes:version",
            ("Target version",), on_issue=False),
    _custom(10054, "Backport versions", "array", "com.atlassian.jira.plugin.system.customfieldtypes:multiversion",
            ("Backport versions",), items="version", on_issue=False),
    _custom(10055, "Source project", "project", "com.atlassian.jira.plugin.system.customfieldtypes:project",
            ("Source project",), on_issue=False),
    # Real sites often have two fields of one name (an app's "Team" beside Atlassian's): by name,
    # JQL and clients must say which one they mean.
    _custom(10056, "Team", "team", "com.atlassian.jira.plugin.system.customfieldtypes:atlassian-team",
            ("Team",), on_issue=False),
    _custom(10057, "Team", "option", "com.atlassian.jira.plugin.system.customfieldtypes:select",
            ("Team",), on_issue=False),
)


@functools.cache
def _catalogue(flavour: str) -> tuple[FieldDef, ...]:
    return tuple(f for f in _FIELDS if flavour in f.flavours)


def catalogue(flavour: str) -> list[FieldDef]:
    """All fields that exist in ``flavour`` (``"cloud"`` or ``"dc"``)."""
    return list(_catalogue(flavour))


def field_def(field_id: str, flavour: str) -> FieldDef | None:
    """The field ``field_id`` of ``flavour``, if it exists."""
    return next((f for f in _catalogue(flavour) if f.id == field_id), None)


@dataclass(slots=True)
class FieldSelection:
    """The issue fields to return, in catalogue order.

    ``ids_only`` is true when nothing but ``id``/``key`` was asked for (Cloud's enhanced
    search then allows 5000 issues per page); ``bare`` when only ``id`` was asked for
    (Cloud's enhanced search then returns bare ``{"id": ...}`` objects).
    """

    ids: list[str] = field(default_factory=list)
    ids_only: bool = False
    bare: bool = False


def parse_field_selection(raw: Iterable[str] | None, flavour: str, default: str) -> FieldSelection:
    """Parse ``fields`` values (each may be a comma list) the way Jira's IncludedFields does.

    ``default`` (``"*all"``, ``"*navigable"`` or ``"id"``) applies when nothing is given;
    when only exclusions are given they apply to ``*navigable``. Unknown names are ignored.
    """
    tokens = [t.strip() for value in (raw or ()) for t in str(value).split(",") if t.strip()]
    if not tokens:
        tokens = [default]
    on_issue = [f for f in catalogue(flavour) if f.on_issue]
    known = {f.id for f in on_issue}
    include_all = include_nav = False
    included: set[str] = set()
    excluded: set[str] = set()
    positive = False
    for token in tokens:
        if token.startswith("-"):
            excluded.add(token[1:])
            continue
        positive = True
        if token == "*all":
            include_all = True
        elif token == "*navigable":
            include_nav = True
        elif token in known:
            included.add(token)
    if not positive:
        include_nav = True
    ids = [f.id for f in on_issue
           if f.id not in excluded and (include_all or (include_nav and f.navigable) or f.id in included)]
    plain = [t for t in tokens if not t.startswith("-")]
    ids_only = not ids and all(t in ("id", "key") for t in plain)
    return FieldSelection(ids=ids, ids_only=ids_only, bare=ids_only and "key" not in plain)
