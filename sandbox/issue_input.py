"""Issue input: validate and apply the ``fields`` / ``update`` of create, edit and transition.

Jira's rules reproduced here: every problem is collected and answered together as a 400
``{"errorMessages": [], "errors": {field: message}}``; rich text is ADF on Cloud REST v3
and wiki markup elsewhere; users are named by ``accountId`` on Cloud and ``name`` on Data
Center; a field may be in ``fields`` (a set) or in ``update`` (a list of ``set``/``add``/
``remove`` operations), not in both. Applying returns the changelog items Jira records.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.fields import EPIC_LINK, SEVERITY, SPRINT, STORY_POINTS
from jiraplug.sandbox.model import ChangeItem, Component, Issue, IssueType, Project, SandboxUser, Version
from jiraplug.sandbox.ops import user_id
from jiraplug.sandbox.richtext import Doc, adf_problem, from_adf, from_wiki, to_plain, to_wiki
from jiraplug.sandbox.store import Store
from jiraplug.sandbox.timefmt import parse_duration
from jiraplug.sandbox.web import JiraError

__all__ = [
    "InputContext", "FieldErrors", "Operation", "Plan", "BadValue", "parse_rich_text", "parse_user", "parse_field",
    "collect_operations", "plan_operations", "screen_fields", "UPDATE_ONLY", "NOT_SETTABLE", "MISSING_SUMMARY",
    "ADF_REQUIRED",
]

MISSING_SUMMARY = "You must specify a summary of the issue."
ADF_REQUIRED = "Operation value must be an Atlassian Document (see the Atlassian Document Format)"
NOT_SETTABLE = "Field '{0}' cannot be set. It is not on the appropriate screen, or unknown."
#: Operations only meaningful in ``update`` (side effects handled by the caller).
UPDATE_ONLY = frozenset({"comment", "issuelinks", "worklog"})


class FieldErrors(JiraError):
    """Per-field problems, answered as one 400 ``{"errorMessages": [], "errors": {...}}``."""

    def __init__(self, errors: dict[str, str]) -> None:
        super().__init__(400, [], errors)


class BadValue(Exception):
    """One field's value is invalid (message in Jira's words)."""


@dataclass(slots=True)
class InputContext:
    """What parsing a value depends on: flavour, REST version, caller, target project and type."""

    store: Store
    flavour: str
    api_version: str
    user: SandboxUser
    project: Project
    issuetype: IssueType
    issue: Issue | None = None
    errors: dict[str, str] = field(default_factory=dict)

    @property
    def adf(self) -> bool:
        """Whether rich text must be ADF (Cloud REST v3)."""
        return self.flavour == "cloud" and self.api_version == "3"


# --------------------------------------------------------------------------- value parsers


def parse_rich_text(value: Any, adf: bool) -> Doc | None:
    """A description/comment body: ADF on Cloud v3, wiki markup elsewhere; ``None`` clears."""
    if value is None or value == "":
        return None
    if adf:
        if adf_problem(value) is not None:
            raise BadValue(ADF_REQUIRED)
        doc = from_adf(value)
        return doc if doc.blocks else None  # an empty document clears the field
    if not isinstance(value, str):
        raise BadValue("Operation value must be a string")
    return from_wiki(value) if value.strip() else None


def parse_user(value: Any, store: Store, flavour: str) -> SandboxUser | None | str:
    """A user reference; returns the user, ``None`` (nobody) or ``"-1"`` (project default)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise BadValue("expected 'accountId'" if flavour == "cloud" else "expected 'name'")
    if flavour == "cloud":
        if "accountId" not in value:
            if "name" in value or "key" in value:
                raise BadValue("'accountId' must be the only user identifying query parameter in GDPR strict mode.")
            raise BadValue("expected 'accountId'")
        ident = value["accountId"]
    else:
        ident = value.get("name", value.get("key"))
        if "name" not in value and "key" not in value:
            raise BadValue("expected 'name'")
    if ident is None:
        return None
    if not isinstance(ident, str):
        raise BadValue("Operation value must be a string")
    if ident == "-1":
        return "-1"
    user = store.user_by_ref(ident, flavour)
    if user is None:
        raise BadValue(f"User '{ident}' does not exist.")
    return user


def _ref(value: Any, what: str) -> tuple[str, str]:
    """``{"id": ...}`` or ``{"name": ...}`` (also ``"key"``/``"value"``) -> (kind, text)."""
    if isinstance(value, dict):
        for kind in ("id", "name", "key", "value"):
            if kind in value and value[kind] is not None:
                return kind, str(value[kind])
    raise BadValue(f"Specify the {what} (id or name) in the object format")


def _choose(options: list[Any], value: Any, what: str, label: Callable[[Any], str]) -> Any:
    kind, text = _ref(value, what)
    for option in options:
        if (kind == "id" and option.id == text) or (kind != "id" and label(option).casefold() == text.casefold()):
            return option
    if kind == "id":
        raise BadValue(f"{what} with id '{text}' does not exist.")
    raise BadValue(f"{what} name '{text}' is not valid")


def _parse_issue(value: Any, ctx: InputContext) -> Issue:
    kind, text = _ref(value, "issue")
    issue = ctx.store.get_issue(text, ctx.user)
    if issue is None:
        raise BadValue(f"Issue '{text}' could not be found.")
    return issue


# --------------------------------------------------------------------------- field handlers


@dataclass(frozen=True, slots=True)
class _Field:
    """How one field is read, parsed, written and logged."""

    id: str
    log_name: str
    get: Callable[[Issue], Any]
    parse: Callable[[Any, InputContext], Any]
    put: Callable[[Issue, Any, InputContext], None]
    show: Callable[[Any, InputContext], tuple[str | None, str | None]]
    multi: bool = False
    custom: bool = False
    key: Callable[[Any], Any] = lambda item: item


def _show_text(value: Any, ctx: InputContext) -> tuple[str | None, str | None]:
    if value is None:
        return None, None
    return None, to_wiki(value) if isinstance(value, Doc) else str(value)


def _show_named(value: Any, ctx: InputContext) -> tuple[str | None, str | None]:
    return (value.id, value.name) if value is not None else (None, None)


def _show_user(value: Any, ctx: InputContext) -> tuple[str | None, str | None]:
    return (user_id(value, ctx.flavour), value.display_name) if value is not None else (None, None)


def _show_issue(value: Any, ctx: InputContext) -> tuple[str | None, str | None]:
    return (str(value.id), value.key) if value is not None else (None, None)


def _parse_summary(value: Any, ctx: InputContext) -> str:
    if not isinstance(value, str):
        raise BadValue("Operation value must be a string")
    if not value.strip():
        raise BadValue(MISSING_SUMMARY)
    if len(value) > 255:
        raise BadValue("Summary must be less than 255 characters.")
    return value.strip()


def _parse_env(value: Any, ctx: InputContext) -> str | None:
    doc = parse_rich_text(value, ctx.adf)
    return to_plain(doc) if doc is not None else None


def _parse_issuetype(value: Any, ctx: InputContext) -> IssueType:
    itype = _choose(list(ctx.store.issue_types), value, "issue type", lambda t: t.name)
    if ctx.issue is not None and itype.subtask != ctx.issue.issuetype.subtask:
        raise BadValue("The issue type cannot be changed between sub-task and standard types.")
    return itype


def _parse_priority(value: Any, ctx: InputContext) -> Any:
    return _choose(list(ctx.store.priorities), value, "Priority", lambda p: p.name)


def _parse_assignee(value: Any, ctx: InputContext) -> SandboxUser | None:
    user = parse_user(value, ctx.store, ctx.flavour)
    if user == "-1":
        return None  # the sandbox projects' default assignee is "Unassigned"
    if isinstance(user, SandboxUser) and not user.can_edit(ctx.project.key):
        raise BadValue(f"User '{user.display_name}' cannot be assigned issues.")
    return user if isinstance(user, SandboxUser) else None


def _parse_reporter(value: Any, ctx: InputContext) -> SandboxUser:
    user = parse_user(value, ctx.store, ctx.flavour)
    if not isinstance(user, SandboxUser):
        raise BadValue("Reporter is required.")
    if not user.can_browse(ctx.project.key):
        raise BadValue(f"The reporter specified is not a user with Create Issue permission: '{user.display_name}'.")
    return user


def _parse_labels(value: Any, ctx: InputContext) -> list[str]:
    items = value if isinstance(value, list) else [value]
    out = []
    for label in items:
        if not isinstance(label, str) or not label:
            raise BadValue("Labels must be non-empty strings.")
        if any(ch.isspace() for ch in label):
            raise BadValue(f"The label '{label}' contains spaces which is invalid.")
        if len(label) > 255:
            raise BadValue("The label must not exceed 255 characters.")
        out.append(label)
    return out


def _parse_components(value: Any, ctx: InputContext) -> list[Component]:
    items = value if isinstance(value, list) else [value]
    return [_choose(ctx.project.components, v, "Component", lambda c: c.name) for v in items]


def _parse_versions(value: Any, ctx: InputContext) -> list[Version]:
    items = value if isinstance(value, list) else [value]
    return [_choose(ctx.project.versions, v, "Version", lambda v: v.name) for v in items]


def _parse_date(value: Any, ctx: InputContext) -> dt.date | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadValue("Operation value must be a string")
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise BadValue(f"Error parsing date string: {value}") from None


def _parse_parent(value: Any, ctx: InputContext) -> Issue | None:
    if value is None:
        return None
    parent = _parse_issue(value, ctx)
    itype = ctx.issuetype
    if parent.project_key != ctx.project.key:
        raise BadValue("The parent issue must be in the same project.")
    if ctx.issue is not None and parent.id == ctx.issue.id:
        raise BadValue("An issue cannot be its own parent.")
    if itype.subtask:
        if parent.issuetype.subtask or parent.issuetype.name == "Epic":
            raise BadValue("Given parent issue does not belong to appropriate hierarchy.")
    elif ctx.flavour == "dc":
        raise BadValue("Only sub-tasks have a parent on Data Center; use the Epic Link field for epics.")
    elif itype.name == "Epic" or parent.issuetype.name != "Epic":
        raise BadValue("Given parent issue does not belong to appropriate hierarchy.")
    return parent


def _parse_epic_link(value: Any, ctx: InputContext) -> Issue | None:
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise BadValue("Operation value must be an issue key string")
    epic = ctx.store.get_issue(value, ctx.user)
    if epic is None or epic.issuetype.name != "Epic":
        raise BadValue(f"Issue '{value}' is not an epic.")
    if ctx.issuetype.subtask or ctx.issuetype.name == "Epic":
        raise BadValue("Only standard issues can be linked to an epic.")
    return epic


def _parse_number(value: Any, ctx: InputContext) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise BadValue("Operation value must be a number")
    return float(value)


def _parse_sprint(value: Any, ctx: InputContext) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadValue("Number value expected as the Sprint id.")
    sprint = ctx.store.sprints.get(value)
    if sprint is None:
        raise BadValue(f"Sprint with id {value} does not exist.")
    if sprint.state == "closed":
        raise BadValue("Issue can be assigned only active or future sprints.")
    return value


def _parse_severity(value: Any, ctx: InputContext) -> str | None:
    if value is None:
        return None
    kind, text = _ref(value, "option")
    for oid, label in ref.SEVERITY_OPTIONS:
        if (kind == "id" and oid == text) or (kind != "id" and label.casefold() == text.casefold()):
            return oid
    raise BadValue(f"Option {'id' if kind == 'id' else 'value'} '{text}' is not valid")


def _parse_timetracking(value: Any, ctx: InputContext) -> tuple[int | None, int | None]:
    if not isinstance(value, dict):
        raise BadValue("Time tracking must be an object with originalEstimate and/or remainingEstimate.")
    current = ctx.issue
    original = current.original_estimate if current else None
    remaining = current.remaining_estimate if current else None
    for key in ("originalEstimate", "remainingEstimate"):
        if key in value:
            raw = value[key]
            seconds = None if raw in (None, "") else parse_duration(str(raw))
            if raw not in (None, "") and seconds is None:
                raise BadValue(f"The {'original' if key == 'originalEstimate' else 'remaining'} estimate specified "
                           "is not valid.")
            if key == "originalEstimate":
                original = seconds
                if "remainingEstimate" not in value and (current is None or current.remaining_estimate is None):
                    remaining = seconds
            else:
                remaining = seconds
    return original, remaining


def _put_timetracking(issue: Issue, value: tuple[int | None, int | None], ctx: InputContext) -> None:
    issue.original_estimate, issue.remaining_estimate = value


def _put_sprint(issue: Issue, value: int | None, ctx: InputContext) -> None:
    open_ids = ctx.store.open_sprint_ids()
    kept = [s for s in issue.sprint_ids if s not in open_ids]
    issue.sprint_ids = kept + ([value] if value is not None and value not in kept else [])


def _put_parent(issue: Issue, value: Issue | None, ctx: InputContext) -> None:
    ctx.store.reparent(issue, value.id if value is not None else None)


def _put_epic(issue: Issue, value: Issue | None, ctx: InputContext) -> None:
    ctx.store.reparent(issue, value.id if value is not None else None)


def _get_epic(issue: Issue, store: Store) -> Issue | None:
    parent = store.parent_of(issue)
    return parent if parent is not None and parent.issuetype.name == "Epic" else None


def _handlers(store: Store, flavour: str) -> dict[str, _Field]:
    def attr(name: str) -> Callable[[Issue, Any, InputContext], None]:
        return lambda issue, value, ctx: setattr(issue, name, value)

    def getter(name: str) -> Callable[[Issue], Any]:
        return lambda issue: getattr(issue, name)

    def show_list(label: Callable[[Any], str]) -> Callable[[Any, InputContext], tuple[str | None, str | None]]:
        return lambda value, ctx: (None, label(value) if value is not None else None)

    handlers = [
        _Field("summary", "summary", getter("summary"), _parse_summary, attr("summary"), _show_text),
        _Field("description", "description", getter("description"), lambda v, c: parse_rich_text(v, c.adf),
               attr("description"), _show_text),
        _Field("environment", "environment", getter("environment"), _parse_env, attr("environment"), _show_text),
        _Field("issuetype", "issuetype", getter("issuetype"), _parse_issuetype, attr("issuetype"), _show_named),
        _Field("priority", "priority", getter("priority"), _parse_priority, attr("priority"), _show_named),
        _Field("assignee", "assignee", getter("assignee"), _parse_assignee, attr("assignee"), _show_user),
        _Field("reporter", "reporter", getter("reporter"), _parse_reporter, attr("reporter"), _show_user),
        _Field("labels", "labels", lambda i: list(i.labels), _parse_labels, attr("labels"),
               show_list(" ".join), multi=True),
        _Field("components", "Component", lambda i: list(i.components), _parse_components, attr("components"),
               _show_named, multi=True, key=lambda c: c.id),
        _Field("fixVersions", "Fix Version", lambda i: list(i.fix_versions), _parse_versions,
               attr("fix_versions"), _show_named, multi=True, key=lambda v: v.id),
        _Field("versions", "Version", lambda i: list(i.affects_versions), _parse_versions,
               attr("affects_versions"), _show_named, multi=True, key=lambda v: v.id),
        _Field("duedate", "duedate", getter("duedate"), _parse_date, attr("duedate"),
               lambda v, c: (v.isoformat(), f"{v.isoformat()} 00:00:00.0") if v else (None, None)),
        _Field("parent", "Parent", lambda i: store.parent_of(i), _parse_parent, _put_parent, _show_issue),
        _Field(STORY_POINTS, "Story Points", getter("story_points"), _parse_number, attr("story_points"),
               lambda v, c: (None, f"{v:g}" if v is not None else None), custom=True),
        _Field(SPRINT, "Sprint", lambda i: next((s for s in i.sprint_ids if s in store.open_sprint_ids()), None),
               _parse_sprint, _put_sprint,
               lambda v, c: (str(v), store.sprints[v].name) if v is not None else (None, None), custom=True),
        _Field(SEVERITY, "Severity", getter("severity"), _parse_severity, attr("severity"),
               lambda v, c: (v, dict(ref.SEVERITY_OPTIONS)[v]) if v else (None, None), custom=True),
        _Field("timetracking", "timetracking", lambda i: (i.original_estimate, i.remaining_estimate),
               _parse_timetracking, _put_timetracking, lambda v, c: (None, None)),
    ]
    if flavour == "dc":
        handlers.append(_Field(EPIC_LINK, "Epic Link", lambda i: _get_epic(i, store), _parse_epic_link, _put_epic,
                               _show_issue, custom=True))
    return {h.id: h for h in handlers}


def screen_fields(itype: IssueType, flavour: str) -> list[str]:
    """Ids of the fields on the create/edit screen of issue type ``itype`` (besides ``project``).

    Severity is a Bug field; sub-tasks have no sprint, story points or epic; on Data Center only
    sub-tasks have a ``parent`` (epics use Epic Link), on Cloud epics have none.
    """
    out = []
    for fid in ("summary", "issuetype", "parent", "description", "environment", "priority", "assignee", "reporter",
                "labels", "components", "fixVersions", "versions", "duedate", "timetracking", STORY_POINTS, SPRINT,
                SEVERITY, EPIC_LINK):
        if fid == SEVERITY and itype.name != "Bug":
            continue
        if fid in (SPRINT, STORY_POINTS, EPIC_LINK) and itype.subtask:
            continue
        if fid == EPIC_LINK and (flavour != "dc" or itype.name == "Epic"):
            continue
        if fid == "parent" and (itype.name == "Epic" or (flavour == "dc" and not itype.subtask)):
            continue
        out.append(fid)
    return out


# --------------------------------------------------------------------------- operations


@dataclass(slots=True)
class Operation:
    """One ``set``/``add``/``remove`` on a field."""

    field_id: str
    op: str
    value: Any


def collect_operations(fields: Any, update: Any, *, allowed_extra: frozenset[str] = frozenset()) -> \
        tuple[list[Operation], dict[str, list[Any]]]:
    """Split ``fields`` and ``update`` into operations; update-only side effects come back apart.

    Raises :class:`JiraError` (400) for malformed containers and fields given twice.
    """
    if fields is None:
        fields = {}
    if update is None:
        update = {}
    if not isinstance(fields, dict):
        raise JiraError(400, "Can not deserialize 'fields': expected an object of field values")
    if not isinstance(update, dict):
        raise JiraError(400, "Can not deserialize 'update': expected an object of field operations")
    errors: dict[str, str] = {}
    ops = [Operation(fid, "set", value) for fid, value in fields.items()]
    side: dict[str, list[Any]] = {}
    for fid, operations in update.items():
        if fid in fields:
            errors[fid] = f"Field '{fid}' cannot be set in both 'fields' and 'update'."
            continue
        if not isinstance(operations, list):
            errors[fid] = "Field operations must be a list of objects such as {\"add\": value}."
            continue
        for entry in operations:
            if not isinstance(entry, dict) or len(entry) != 1:
                errors[fid] = "Each field operation must be an object with one operation, e.g. {\"set\": value}."
                break
            (op, value), = entry.items()
            if fid in UPDATE_ONLY or fid in allowed_extra:
                side.setdefault(fid, []).append({op: value})
            else:
                ops.append(Operation(fid, op, value))
    if errors:
        raise FieldErrors(errors)
    return ops, side


@dataclass(slots=True)
class Plan:
    """Validated changes to one issue; :meth:`commit` writes them and returns the changelog items."""

    ctx: InputContext
    issue: Issue
    values: dict[str, Any]

    def __contains__(self, field_id: str) -> bool:
        return field_id in self.values

    def get(self, field_id: str, default: Any = None) -> Any:
        """The planned new value of ``field_id``."""
        return self.values.get(field_id, default)

    def commit(self) -> list[ChangeItem]:
        """Apply the planned values (no validation left to fail) and describe the changes."""
        ctx, issue = self.ctx, self.issue
        handlers = _handlers(ctx.store, ctx.flavour)
        items: list[ChangeItem] = []
        for fid, new in self.values.items():
            handler = handlers[fid]
            old = handler.get(issue)
            field_type = "custom" if handler.custom else "jira"
            if handler.multi:
                old_keys, new_keys = [handler.key(x) for x in old], [handler.key(x) for x in new]
                if old_keys != new_keys:
                    if fid == "labels":
                        items.append(ChangeItem("labels", "jira", None, " ".join(old) or None, None,
                                                " ".join(new) or None, "labels"))
                    else:
                        for gone in (x for x in old if handler.key(x) not in new_keys):
                            items.append(ChangeItem(handler.log_name, field_type, *handler.show(gone, ctx), None,
                                                    None, fid))
                        for added in (x for x in new if handler.key(x) not in old_keys):
                            items.append(ChangeItem(handler.log_name, field_type, None, None,
                                                    *handler.show(added, ctx), fid))
            elif fid == "timetracking":
                for name, before, after in (("timeoriginalestimate", old[0], new[0]),
                                            ("timeestimate", old[1], new[1])):
                    if before != after:
                        items.append(ChangeItem(name, "jira", _num(before), _num(before), _num(after), _num(after),
                                                name))
            elif _differs(old, new):
                items.append(ChangeItem(handler.log_name, field_type, *handler.show(old, ctx),
                                        *handler.show(new, ctx), fid))
            handler.put(issue, new, ctx)
        return items


def plan_operations(ctx: InputContext, issue: Issue, ops: list[Operation], *,
                    skip: frozenset[str] = frozenset()) -> Plan:
    """Validate every operation against ``issue`` (current values) without changing it.

    Raises :class:`FieldErrors` listing every invalid field (plus any already in ``ctx.errors``).
    """
    handlers = _handlers(ctx.store, ctx.flavour)
    on_screen = set(screen_fields(ctx.issuetype, ctx.flavour))
    planned: dict[str, Any] = {}
    for operation in ops:
        fid = operation.field_id
        if fid in skip:
            continue
        handler = handlers.get(fid)
        if handler is None or fid not in on_screen:
            ctx.errors[fid] = NOT_SETTABLE.format(fid)
            continue
        if operation.op not in ("set", "add", "remove") or (operation.op != "set" and not handler.multi):
            ctx.errors[fid] = f"Field does not support update '{operation.op}'"
            continue
        try:
            parsed = handler.parse(operation.value, ctx)
        except BadValue as exc:
            ctx.errors[fid] = str(exc)
            continue
        if not handler.multi:
            planned[fid] = parsed
            continue
        current = planned.get(fid, handler.get(issue))
        keys = [handler.key(x) for x in current]
        if operation.op == "set":
            unique: list[Any] = []
            for item in parsed:
                if handler.key(item) not in [handler.key(u) for u in unique]:
                    unique.append(item)
            planned[fid] = unique
        elif operation.op == "add":
            planned[fid] = current + [x for x in parsed if handler.key(x) not in keys]
        else:
            drop = {handler.key(x) for x in parsed}
            planned[fid] = [x for x in current if handler.key(x) not in drop]
    if ctx.errors:
        raise FieldErrors(dict(ctx.errors))
    return Plan(ctx, issue, planned)


def parse_field(ctx: InputContext, field_id: str, value: Any) -> Any:
    """Parse one value of ``field_id`` (raises :class:`FieldErrors` naming the field)."""
    try:
        return _handlers(ctx.store, ctx.flavour)[field_id].parse(value, ctx)
    except BadValue as exc:
        raise FieldErrors({field_id: str(exc)}) from None


def _num(value: int | None) -> str | None:
    return None if value is None else str(value)


def _differs(old: Any, new: Any) -> bool:
    if isinstance(old, Doc) or isinstance(new, Doc):
        return (to_wiki(old) if old else None) != (to_wiki(new) if new else None)
    return old is not new and old != new

