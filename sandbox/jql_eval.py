"""JQL meaning: resolve fields and values against the store, filter and sort issues.

:func:`compile_query` turns a parsed :class:`~jiraplug.sandbox.jql.Query` into a
:class:`CompiledQuery` (a predicate plus a sort). Semantic problems (unknown field,
unknown value, unsupported operator, bad date) are collected and raised together as one
:class:`~jiraplug.sandbox.jql.JqlError`, as Jira does.

Jira semantics worth knowing, reproduced here: ``!=`` and ``NOT IN`` never match an
empty field (``NOT field = x`` does); ``~`` is a word search with light stemming and
``*``/``?`` wildcards, all words required; relative dates (``-7d``) and date functions
count from the store's frozen clock.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import functools
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.jql import (
    And,
    Clause,
    EmptyOperand,
    Function,
    JqlError,
    ListOperand,
    Node,
    Not,
    Operand,
    Or,
    Query,
    Value,
    parse,
)
from jiraplug.sandbox.model import Issue, SandboxUser
from jiraplug.sandbox.richtext import to_plain
from jiraplug.sandbox.store import Store

__all__ = ["CompiledQuery", "compile_query", "field_registry", "function_names", "search", "UNBOUNDED_MESSAGE"]

Predicate = Callable[[Issue], bool]

UNBOUNDED_MESSAGE = "Unbounded JQL queries are not allowed here. Please add a search restriction to your query."

_EQ_OPS = frozenset({"=", "!=", "IN", "NOT IN", "IS", "IS NOT"})
_ORDER_OPS = frozenset({"<", "<=", ">", ">="})
_TEXT_OPS = frozenset({"~", "!~", "IS", "IS NOT"})
_EMPTY = object()


def _always(_: Issue) -> bool:
    return True


def _never(_: Issue) -> bool:
    return False


@dataclass(slots=True)
class _Ctx:
    """Per-query state: the store, the searching user and the collected errors."""

    store: Store
    user: SandboxUser
    flavour: str
    errors: list[str]

    def error(self, message: str) -> None:
        if message not in self.errors:
            self.errors.append(message)


# --------------------------------------------------------------------------- operands


def _flatten(operand: Operand) -> list[Value | Function | EmptyOperand]:
    if isinstance(operand, ListOperand):
        out: list[Value | Function | EmptyOperand] = []
        for item in operand.items:
            out.extend(_flatten(item))
        return out
    return [operand]


def _has_empty(items: Iterable[object]) -> bool:
    return any(isinstance(i, EmptyOperand) for i in items)


# --------------------------------------------------------------------------- dates

_PERIOD = re.compile(r"^\s*([+-]?)\s*((?:\d+\s*[wdhm]\s*)+)$", re.IGNORECASE)
_PERIOD_PART = re.compile(r"(\d+)\s*([wdhm])", re.IGNORECASE)
_ABSOLUTE = ("%Y/%m/%d %H:%M", "%Y-%m-%d %H:%M", "%Y/%m/%d", "%Y-%m-%d")
_DATE_HELP = ("Valid formats include: 'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', "
              "or a period format e.g. '-5d', '4w 2d'.")


def _period(text: str) -> dt.timedelta | None:
    match = _PERIOD.match(text)
    if not match:
        return None
    total = dt.timedelta()
    units = {"w": dt.timedelta(weeks=1), "d": dt.timedelta(days=1), "h": dt.timedelta(hours=1),
             "m": dt.timedelta(minutes=1)}
    for amount, unit in _PERIOD_PART.findall(match.group(2)):
        total += int(amount) * units[unit.lower()]
    return -total if match.group(1) == "-" else total


def _parse_date(text: str, now: dt.datetime) -> dt.datetime | None:
    delta = _period(text)
    if delta is not None:
        return now + delta
    for fmt in _ABSOLUTE:
        try:
            return dt.datetime.strptime(text.strip(), fmt).replace(tzinfo=dt.UTC)
        except ValueError:
            continue
    if text.strip().lstrip("-").isdigit():  # epoch milliseconds
        return dt.datetime.fromtimestamp(int(text) / 1000, tz=dt.UTC)
    return None


def _start_of(unit: str, moment: dt.datetime) -> dt.datetime:
    day = moment.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return day
    if unit == "week":  # Jira weeks start on Sunday by default
        return day - dt.timedelta(days=(day.weekday() + 1) % 7)
    if unit == "month":
        return day.replace(day=1)
    return day.replace(month=1, day=1)


def _shift(unit: str, moment: dt.datetime, amount: int) -> dt.datetime:
    if unit == "day":
        return moment + dt.timedelta(days=amount)
    if unit == "week":
        return moment + dt.timedelta(weeks=amount)
    if unit == "month":
        month = moment.month - 1 + amount
        return moment.replace(year=moment.year + month // 12, month=month % 12 + 1)
    return moment.replace(year=moment.year + amount)


_DATE_FUNCS = {f"{edge}Of{unit.capitalize()}".lower(): (edge, unit)
               for edge in ("start", "end") for unit in ("day", "week", "month", "year")}


def _date_function(func: Function, now: dt.datetime, ctx: _Ctx, field: str) -> dt.datetime | None:
    name = func.name.lower()
    if name in ("now", "currentdate"):
        return now
    if name not in _DATE_FUNCS:
        ctx.error(f"A date for the field '{field}' cannot be found using the function '{func.name}'.")
        return None
    edge, unit = _DATE_FUNCS[name]
    base = _start_of(unit, now)
    if edge == "end":
        base = _shift(unit, base, 1) - dt.timedelta(milliseconds=1)
    if func.args:
        arg = func.args[0].strip()
        delta = _period(arg)
        if delta is not None:
            return base + delta
        match = re.fullmatch(r"([+-]?\d+)([dwMy]?)", arg)
        if not match:
            ctx.error(f"Function '{func.name}' has an invalid increment '{arg}'.")
            return None
        amount, suffix = int(match.group(1)), match.group(2)
        target_unit = {"d": "day", "w": "week", "M": "month", "y": "year"}.get(suffix, unit)
        return _shift(target_unit, base, amount)
    return base


# --------------------------------------------------------------------------- text search

_STOP_WORDS = frozenset({"a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is",
                         "it", "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there",
                         "these", "they", "this", "to", "was", "will", "with"})
_WORD = re.compile(r"[0-9a-z]+")
_QUERY_WORD = re.compile(r"[0-9a-z*?]+")


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


def _words(text: str) -> list[str]:
    return _WORD.findall(text.casefold())


@dataclass(frozen=True, slots=True)
class _TextQuery:
    terms: tuple[str, ...]
    phrase: tuple[str, ...] | None

    def matches(self, text: str) -> bool:
        words = _words(text)
        if self.phrase is not None:
            n = len(self.phrase)
            sequence = [_stem(w) for w in words]
            target = [_stem(w) for w in self.phrase]
            return any(sequence[i: i + n] == target for i in range(len(sequence) - n + 1))
        stems = {_stem(w) for w in words}
        for term in self.terms:
            if "*" in term or "?" in term:
                if not any(fnmatch.fnmatchcase(w, term) for w in words):
                    return False
            elif _stem(term) not in stems:
                return False
        return True


def _text_query(raw: str) -> _TextQuery | None:
    stripped = raw.strip()
    if len(stripped) >= 2 and stripped[0] == stripped[-1] == '"':
        phrase = tuple(_words(stripped[1:-1]))
        return _TextQuery((), phrase) if phrase else None
    terms = tuple(t for t in _QUERY_WORD.findall(stripped.casefold()) if t not in _STOP_WORDS and t.strip("*?"))
    return _TextQuery(terms, None) if terms else None


# --------------------------------------------------------------------------- field handlers


class _Field:
    """Base class of JQL field handlers."""

    ops: frozenset[str] = _EQ_OPS
    functions: frozenset[str] = frozenset()
    sortable = True

    def __init__(self, name: str) -> None:
        self.name = name

    def compile(self, clause: Clause, ctx: _Ctx) -> Predicate:
        if clause.operator not in self.ops:
            ctx.error(f"The operator '{clause.operator}' is not supported by the '{clause.field}' field.")
            return _never
        return self.build(clause, ctx)

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:  # pragma: no cover - abstract
        raise NotImplementedError

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return None

    def check_function(self, func: Function, clause: Clause, ctx: _Ctx) -> bool:
        name = func.name.lower()
        if name not in _KNOWN_FUNCTIONS:
            ctx.error(f"Unable to find JQL function '{func.name}({', '.join(func.args)})'.")
            return False
        if name not in self.functions:
            ctx.error(f"Function '{func.name}' is not supported for the field '{clause.field}'.")
            return False
        return True


class _ValuesField(_Field):
    """A field whose value(s) are ids; operands resolve to sets of ids."""

    multi = False

    def get(self, issue: Issue, store: Store) -> list[str]:
        raise NotImplementedError

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> Any:
        """The ids ``value`` stands for, ``_EMPTY`` for "no value", or ``None`` (error recorded)."""
        raise NotImplementedError

    def resolve_function(self, func: Function, clause: Clause, ctx: _Ctx) -> set[str] | None:
        return None

    def resolve_operands(self, clause: Clause, ctx: _Ctx) -> tuple[set[str], bool]:
        items = _flatten(clause.operand)
        wanted: set[str] = set()
        has_empty = _has_empty(items)
        for item in items:
            if isinstance(item, Value):
                resolved = self.resolve(item, clause, ctx)
            elif isinstance(item, Function):
                resolved = self.resolve_function(item, clause, ctx) if self.check_function(item, clause, ctx) \
                    else None
            else:
                continue
            if resolved is _EMPTY:
                has_empty = True
            else:
                wanted |= resolved or set()
        return wanted, has_empty

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        op = clause.operator
        store = ctx.store
        if op in ("IS", "IS NOT"):
            if not isinstance(clause.operand, EmptyOperand):
                ctx.error(f"The operator '{op}' only supports the use of 'EMPTY' or 'NULL' for the field "
                          f"'{clause.field}'.")
                return _never
            if op == "IS":
                return lambda i: not self.get(i, store)
            return lambda i: bool(self.get(i, store))
        if op in ("IN", "NOT IN") and not isinstance(clause.operand, (ListOperand, Function)):
            clause = Clause(clause.field, op, ListOperand((clause.operand,), clause.pos), clause.pos)
        if op in ("=", "!=") and isinstance(clause.operand, ListOperand):
            ctx.error(f"The operator '{op}' does not support the use of a list of values for the field "
                      f"'{clause.field}'.")
            return _never
        wanted, empty = self.resolve_operands(clause, ctx)
        positive = op in ("=", "IN")

        def matches(issue: Issue) -> bool:
            values = self.get(issue, store)
            if not values:  # "!=" and "NOT IN" never match an empty field
                return empty if positive else False
            hit = any(v in wanted for v in values)
            return hit if positive else not hit

        return matches


class _ProjectField(_ValuesField):
    sortable = True

    def get(self, issue: Issue, store: Store) -> list[str]:
        return [issue.project_key]

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> set[str] | None:
        text = value.text.strip()
        for project in ctx.store.visible_projects(ctx.user):
            if text.upper() == project.key or text == project.id or text.casefold() == project.name.casefold():
                return {project.key}
        ctx.error(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
        return None

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return store.projects[issue.project_key].name.casefold()


class _KeyField(_ValuesField):
    ops = _EQ_OPS | _ORDER_OPS
    functions = frozenset({"linkedissues"})

    def get(self, issue: Issue, store: Store) -> list[str]:
        return [str(issue.id)]

    def lookup(self, text: str, clause: Clause, ctx: _Ctx) -> Issue | None:
        text = text.strip()
        issue = ctx.store.get_issue(text, ctx.user) if text else None
        if issue is None:
            if re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*-\d+", text) or text.isdigit():
                ctx.error(f"An issue with key '{text}' does not exist for field '{clause.field}'.")
            else:
                ctx.error(f"The issue key '{text}' for field '{clause.field}' is invalid.")
        return issue

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> set[str] | None:
        issue = self.lookup(value.text, clause, ctx)
        return {str(issue.id)} if issue else None

    def resolve_function(self, func: Function, clause: Clause, ctx: _Ctx) -> set[str] | None:
        if not func.args:
            ctx.error("Function 'linkedIssues' expects an issue key argument.")
            return None
        issue = self.lookup(func.args[0], clause, ctx)
        if issue is None:
            return None
        link_name = func.args[1].casefold() if len(func.args) > 1 else None
        out = set()
        for link in issue.links:
            if link_name and link_name not in (link.type.name.casefold(), link.type.inward, link.type.outward):
                continue
            out.add(str(link.inward_issue_id if link.outward_issue_id == issue.id else link.outward_issue_id))
        return out

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        if clause.operator not in _ORDER_OPS:
            return super().build(clause, ctx)
        if not isinstance(clause.operand, Value):
            ctx.error(f"The operator '{clause.operator}' only supports a single issue key.")
            return _never
        anchor = self.lookup(clause.operand.text, clause, ctx)
        if anchor is None:
            return _never
        compare = _COMPARE[clause.operator]
        return lambda i: i.project_key == anchor.project_key and compare(i.number, anchor.number)

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return (issue.project_key, issue.number)


class _NamedChoiceField(_ValuesField):
    """issuetype, status, priority, resolution, statusCategory: match by name or id."""

    def __init__(self, name: str, options: Callable[[Store], Iterable[tuple[str, str, int]]],
                 getter: Callable[[Issue], str | None], *, ordered: bool = False,
                 functions: Iterable[str] = (), extra: dict[str, Any] | None = None) -> None:
        super().__init__(name)
        self.options = options
        self.getter = getter
        self.functions = frozenset(functions)
        self.extra = extra or {}
        if ordered:
            self.ops = _EQ_OPS | _ORDER_OPS

    def get(self, issue: Issue, store: Store) -> list[str]:
        value = self.getter(issue)
        return [value] if value is not None else []

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> set[str] | None:
        text = value.text.strip().casefold()
        if text in self.extra:
            return self.extra[text]
        found = {oid for oid, name, _ in self.options(ctx.store) if text in (oid.casefold(), name.casefold())}
        if not found:
            ctx.error(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
            return None
        return found

    def resolve_function(self, func: Function, clause: Clause, ctx: _Ctx) -> set[str] | None:
        name = func.name.lower()
        types = ctx.store.issue_types
        if name == "standardissuetypes":
            return {t.id for t in types if not t.subtask}
        if name == "subtaskissuetypes":
            return {t.id for t in types if t.subtask}
        return set()

    def rank(self, store: Store, oid: str | None) -> int | None:
        for option_id, _, rank in self.options(store):
            if option_id == oid:
                return rank
        return None

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        if clause.operator not in _ORDER_OPS:
            if isinstance(clause.operand, EmptyOperand) and clause.operator in ("=", "!="):
                clause = Clause(clause.field, "IS" if clause.operator == "=" else "IS NOT", clause.operand,
                                clause.pos)
            return super().build(clause, ctx)
        if not isinstance(clause.operand, Value):
            ctx.error(f"The operator '{clause.operator}' only supports a single value for '{clause.field}'.")
            return _never
        wanted = self.resolve(clause.operand, clause, ctx)
        if not wanted:
            return _never
        anchor = self.rank(ctx.store, next(iter(wanted)))
        compare = _COMPARE[clause.operator]
        store = ctx.store
        return lambda i: (r := self.rank(store, self.getter(i))) is not None and anchor is not None and \
            compare(r, anchor)

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return self.rank(store, self.getter(issue))


class _UserField(_ValuesField):
    functions = frozenset({"currentuser"})

    def get(self, issue: Issue, store: Store) -> list[str]:
        user = getattr(issue, self.name)
        return [user.account_id] if user is not None else []

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> set[str] | None:
        users = ctx.store.find_users(value.text.strip())
        if not users:
            ctx.error(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
            return None
        return {u.account_id for u in users}

    def resolve_function(self, func: Function, clause: Clause, ctx: _Ctx) -> set[str] | None:
        return {ctx.user.account_id}

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        if isinstance(clause.operand, EmptyOperand) and clause.operator in ("=", "!="):
            clause = Clause(clause.field, "IS" if clause.operator == "=" else "IS NOT", clause.operand, clause.pos)
        return super().build(clause, ctx)

    def sort_key(self, issue: Issue, store: Store) -> Any:
        user = getattr(issue, self.name)
        return user.display_name.casefold() if user is not None else None


class _LabelsField(_ValuesField):
    multi = True

    def get(self, issue: Issue, store: Store) -> list[str]:
        return [label.casefold() for label in issue.labels]

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> set[str] | None:
        return {value.text.strip().casefold()}

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        if isinstance(clause.operand, EmptyOperand) and clause.operator in ("=", "!="):
            clause = Clause(clause.field, "IS" if clause.operator == "=" else "IS NOT", clause.operand, clause.pos)
        return super().build(clause, ctx)

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return ",".join(sorted(issue.labels)).casefold() or None


class _ComponentField(_ValuesField):
    multi = True

    def get(self, issue: Issue, store: Store) -> list[str]:
        return [c.id for c in issue.components]

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> set[str] | None:
        text = value.text.strip().casefold()
        found = {c.id for p in ctx.store.visible_projects(ctx.user) for c in p.components
                 if text in (c.id, c.name.casefold())}
        if not found:
            ctx.error(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
            return None
        return found

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        if isinstance(clause.operand, EmptyOperand) and clause.operator in ("=", "!="):
            clause = Clause(clause.field, "IS" if clause.operator == "=" else "IS NOT", clause.operand, clause.pos)
        return super().build(clause, ctx)

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return min((c.name.casefold() for c in issue.components), default=None)


class _VersionField(_ValuesField):
    multi = True
    ops = _EQ_OPS | _ORDER_OPS
    functions = frozenset({"releasedversions", "unreleasedversions", "latestreleasedversion",
                           "earliestunreleasedversion"})

    def __init__(self, name: str, attr: str) -> None:
        super().__init__(name)
        self.attr = attr

    def get(self, issue: Issue, store: Store) -> list[str]:
        return [v.id for v in getattr(issue, self.attr)]

    def _visible(self, ctx: _Ctx, project: str | None = None) -> list:
        projects = ctx.store.visible_projects(ctx.user)
        if project:
            projects = [p for p in projects if project.upper() in (p.key, p.id) or
                        project.casefold() == p.name.casefold()]
        return [v for p in projects for v in p.versions]

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> set[str] | None:
        text = value.text.strip().casefold()
        found = {v.id for v in self._visible(ctx) if text in (v.id, v.name.casefold())}
        if not found:
            ctx.error(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
            return None
        return found

    def resolve_function(self, func: Function, clause: Clause, ctx: _Ctx) -> set[str] | None:
        name = func.name.lower()
        project = func.args[0] if func.args else None
        out: set[str] = set()
        for proj in ctx.store.visible_projects(ctx.user):
            if project and project.upper() not in (proj.key, proj.id) and project.casefold() != proj.name.casefold():
                continue
            released = [v for v in proj.versions if v.released]
            unreleased = [v for v in proj.versions if not v.released]
            if name == "releasedversions":
                out |= {v.id for v in released}
            elif name == "unreleasedversions":
                out |= {v.id for v in unreleased}
            elif name == "latestreleasedversion" and released:
                out.add(released[-1].id)
            elif name == "earliestunreleasedversion" and unreleased:
                out.add(unreleased[0].id)
        return out

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        if isinstance(clause.operand, EmptyOperand) and clause.operator in ("=", "!="):
            clause = Clause(clause.field, "IS" if clause.operator == "=" else "IS NOT", clause.operand, clause.pos)
        if clause.operator not in _ORDER_OPS:
            return super().build(clause, ctx)
        if not isinstance(clause.operand, Value):
            ctx.error(f"The operator '{clause.operator}' only supports a single version for '{clause.field}'.")
            return _never
        anchors = [v for v in self._visible(ctx) if clause.operand.text.strip().casefold() in
                   (v.id, v.name.casefold())]
        if not anchors:
            ctx.error(f"The value '{clause.operand.text}' does not exist for the field '{clause.field}'.")
            return _never
        compare = _COMPARE[clause.operator]
        attr = self.attr

        def matches(issue: Issue) -> bool:
            return any(v.project_key == a.project_key and compare(v.sequence, a.sequence)
                       for v in getattr(issue, attr) for a in anchors)

        return matches

    def sort_key(self, issue: Issue, store: Store) -> Any:
        versions = getattr(issue, self.attr)
        return min((v.sequence for v in versions), default=None)


class _SprintField(_ValuesField):
    multi = True
    functions = frozenset({"opensprints", "closedsprints", "futuresprints"})

    def get(self, issue: Issue, store: Store) -> list[str]:
        return [str(s) for s in issue.sprint_ids]

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> set[str] | None:
        text = value.text.strip().casefold()
        found = {str(s.id) for p in ctx.store.visible_projects(ctx.user) for s in p.sprints
                 if text in (str(s.id), s.name.casefold())}
        if not found:
            ctx.error(f"The value '{value.text}' does not exist for the field '{clause.field}'.")
            return None
        return found

    def resolve_function(self, func: Function, clause: Clause, ctx: _Ctx) -> set[str] | None:
        # openSprints() is every sprint not yet completed: active *and* future, as in Jira.
        states = {"opensprints": {"active", "future"}, "closedsprints": {"closed"}, "futuresprints": {"future"}}
        wanted = states[func.name.lower()]
        return {str(s.id) for s in ctx.store.sprints.values() if s.state in wanted}

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        if isinstance(clause.operand, EmptyOperand) and clause.operator in ("=", "!="):
            clause = Clause(clause.field, "IS" if clause.operator == "=" else "IS NOT", clause.operand, clause.pos)
        return super().build(clause, ctx)

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return max(issue.sprint_ids, default=None)


class _ParentField(_ValuesField):
    """``parent``: the parent issue. On Data Center only sub-tasks have one."""

    sortable = False
    epics_only = False

    def get(self, issue: Issue, store: Store) -> list[str]:
        if issue.parent_id is None:
            return []
        parent = store.issue_by_id(issue.parent_id)
        if parent is None:
            return []
        if self.epics_only:
            return [str(parent.id)] if parent.issuetype.name == "Epic" and not issue.issuetype.subtask else []
        if self.dc and not issue.issuetype.subtask:
            return []
        return [str(parent.id)]

    def __init__(self, name: str, dc: bool, epics_only: bool = False) -> None:
        super().__init__(name)
        self.dc = dc
        self.epics_only = epics_only
        self.ops = frozenset({"=", "!=", "IN", "NOT IN"}) if not epics_only else _EQ_OPS

    def resolve(self, value: Value, clause: Clause, ctx: _Ctx) -> set[str] | None:
        issue = ctx.store.get_issue(value.text.strip(), ctx.user)
        if issue is None:
            ctx.error(f"An issue with key '{value.text}' does not exist for field '{clause.field}'.")
            return None
        return {str(issue.id)}

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        if isinstance(clause.operand, EmptyOperand) and clause.operator in ("=", "!="):
            clause = Clause(clause.field, "IS" if clause.operator == "=" else "IS NOT", clause.operand, clause.pos)
        return super().build(clause, ctx)


class _TextField(_Field):
    ops = _TEXT_OPS
    sortable = False

    def __init__(self, name: str, extract: Callable[[Issue], list[str]], *, sortable: bool = False,
                 allow_empty: bool = True) -> None:
        super().__init__(name)
        self.extract = extract
        self.sortable = sortable
        if not allow_empty:
            self.ops = frozenset({"~", "!~"})

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        op = clause.operator
        if op in ("IS", "IS NOT"):
            if not isinstance(clause.operand, EmptyOperand):
                ctx.error(f"The operator '{op}' only supports the use of 'EMPTY' or 'NULL' for the field "
                          f"'{clause.field}'.")
                return _never
            has = lambda i: any(t.strip() for t in self.extract(i))  # noqa: E731
            return (lambda i: not has(i)) if op == "IS" else has
        if not isinstance(clause.operand, Value):
            ctx.error(f"The operator '{op}' is not supported with a list or function for the field "
                      f"'{clause.field}'.")
            return _never
        query = _text_query(clause.operand.text)
        if query is None:
            ctx.error(f"The field '{clause.field}' does not support searching for an empty string.")
            return _never
        if op == "~":
            return lambda i: any(query.matches(t) for t in self.extract(i))
        return lambda i: not any(query.matches(t) for t in self.extract(i))

    def sort_key(self, issue: Issue, store: Store) -> Any:
        texts = self.extract(issue)
        return texts[0].casefold() if texts else None


class _DateField(_Field):
    ops = _EQ_OPS | _ORDER_OPS

    def __init__(self, name: str, getter: Callable[[Issue], dt.datetime | dt.date | None],
                 date_only: bool = False, sortable: bool = True) -> None:
        super().__init__(name)
        self.getter = getter
        self.date_only = date_only
        self.sortable = sortable
        self.functions = frozenset(["now", "currentdate", *_DATE_FUNCS])

    def value(self, issue: Issue) -> Any:
        value = self.getter(issue)
        if value is None:
            return None
        if self.date_only:
            return value if isinstance(value, dt.date) and not isinstance(value, dt.datetime) else value.date()
        return value

    def operand_value(self, item: Value | Function, clause: Clause, ctx: _Ctx) -> Any:
        now = ctx.store.now()
        if isinstance(item, Function):
            if not self.check_function(item, clause, ctx):
                return None
            moment = _date_function(item, now, ctx, clause.field)
        else:
            moment = _parse_date(item.text, now)
            if moment is None:
                ctx.error(f"Date value '{item.text}' for field '{clause.field}' is invalid. {_DATE_HELP}")
                return None
        if moment is None:
            return None
        return moment.date() if self.date_only else moment

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        op = clause.operator
        items = _flatten(clause.operand)
        if op in ("IS", "IS NOT") or (isinstance(clause.operand, EmptyOperand) and op in ("=", "!=")):
            if not isinstance(clause.operand, EmptyOperand):
                ctx.error(f"The operator '{op}' only supports the use of 'EMPTY' or 'NULL' for the field "
                          f"'{clause.field}'.")
                return _never
            empty = op in ("IS", "=")
            return lambda i: (self.value(i) is None) == empty
        values = [self.operand_value(x, clause, ctx) for x in items if not isinstance(x, EmptyOperand)]
        if any(v is None for v in values):
            return _never
        want_empty = _has_empty(items)
        if op in _ORDER_OPS:
            if len(values) != 1 or isinstance(clause.operand, ListOperand):
                ctx.error(f"The operator '{op}' does not support the use of a list of values for the field "
                          f"'{clause.field}'.")
                return _never
            anchor = values[0]
            compare = _COMPARE[op]
            return lambda i: (v := self.value(i)) is not None and compare(v, anchor)
        wanted = set(values)
        if op in ("=", "IN"):
            def equal(issue: Issue) -> bool:
                value = self.value(issue)
                return want_empty if value is None else value in wanted

            return equal
        return lambda i: (v := self.value(i)) is not None and v not in wanted and not want_empty

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return self.value(issue)


class _NumberField(_Field):
    ops = _EQ_OPS | _ORDER_OPS

    def __init__(self, name: str, getter: Callable[[Issue], float | None]) -> None:
        super().__init__(name)
        self.getter = getter

    def build(self, clause: Clause, ctx: _Ctx) -> Predicate:
        op = clause.operator
        items = _flatten(clause.operand)
        if op in ("IS", "IS NOT") or (isinstance(clause.operand, EmptyOperand) and op in ("=", "!=")):
            empty = op in ("IS", "=")
            return lambda i: (self.getter(i) is None) == empty
        numbers: list[float] = []
        for item in items:
            if isinstance(item, Value):
                try:
                    numbers.append(float(item.text))
                except ValueError:
                    ctx.error(f"The value '{item.text}' is not a valid number for the field '{clause.field}'.")
                    return _never
            elif isinstance(item, Function):
                self.check_function(item, clause, ctx)
                return _never
        if op in _ORDER_OPS:
            anchor = numbers[0]
            compare = _COMPARE[op]
            return lambda i: (v := self.getter(i)) is not None and compare(v, anchor)
        wanted = set(numbers)
        if op in ("=", "IN"):
            return lambda i: self.getter(i) in wanted
        return lambda i: (v := self.getter(i)) is not None and v not in wanted

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return self.getter(issue)


class _SortOnly(_Field):
    """A field that can be ordered by but not searched (``Rank``)."""

    ops = frozenset()

    def __init__(self, name: str, key: Callable[[Issue], Any]) -> None:
        super().__init__(name)
        self.key = key

    def compile(self, clause: Clause, ctx: _Ctx) -> Predicate:
        ctx.error(f"Field '{clause.field}' does not support searching.")
        return _never

    def sort_key(self, issue: Issue, store: Store) -> Any:
        return self.key(issue)


_COMPARE: dict[str, Callable[[Any, Any], bool]] = {
    "<": lambda a, b: a < b,
    "<=": lambda a, b: a <= b,
    ">": lambda a, b: a > b,
    ">=": lambda a, b: a >= b,
}

_KNOWN_FUNCTIONS = frozenset({"currentuser", "linkedissues", "standardissuetypes", "subtaskissuetypes",
                              "releasedversions", "unreleasedversions", "latestreleasedversion",
                              "earliestunreleasedversion", "opensprints", "closedsprints", "futuresprints",
                              "now", "currentdate", *_DATE_FUNCS})


def _comment_texts(issue: Issue) -> list[str]:
    return [to_plain(c.body) for c in issue.comments]


def _description_text(issue: Issue) -> list[str]:
    return [to_plain(issue.description)] if issue.description is not None else []


def _all_text(issue: Issue) -> list[str]:
    parts = [issue.summary, *_description_text(issue), *_comment_texts(issue)]
    if issue.environment:
        parts.append(issue.environment)
    return [" \n ".join(parts)]


def _registry(flavour: str) -> dict[str, _Field]:
    """JQL clause name (lower-case) to handler, for ``flavour``."""
    statuses = lambda s: ((x.id, x.name, i) for i, x in enumerate(s.statuses))  # noqa: E731
    types = lambda s: ((t.id, t.name, i) for i, t in enumerate(s.issue_types))  # noqa: E731
    priorities = lambda s: ((p.id, p.name, p.rank) for p in s.priorities)  # noqa: E731
    resolutions = lambda s: ((r.id, r.name, i) for i, r in enumerate(s.resolutions))  # noqa: E731

    def categories(_: Store) -> Iterable[tuple[str, str, int]]:
        for index, cat in enumerate(ref.STATUS_CATEGORIES.values()):
            yield str(cat.id), cat.name, index
            yield str(cat.id), cat.key, index

    project = _ProjectField("project")
    key = _KeyField("key")
    issuetype = _NamedChoiceField("issuetype", types, lambda i: i.issuetype.id,
                                  functions=("standardissuetypes", "subtaskissuetypes"))
    status = _NamedChoiceField("status", statuses, lambda i: i.status.id)
    category = _NamedChoiceField("statusCategory", categories, lambda i: str(i.status.category.id))
    category.sortable = False
    priority = _NamedChoiceField("priority", priorities, lambda i: i.priority.id, ordered=True)
    resolution = _NamedChoiceField("resolution", resolutions,
                                   lambda i: i.resolution.id if i.resolution else None,
                                   extra={"unresolved": _EMPTY})
    text = _TextField("text", _all_text, allow_empty=False)
    summary = _TextField("summary", lambda i: [i.summary], sortable=True)
    description = _TextField("description", _description_text)
    comment = _TextField("comment", _comment_texts, allow_empty=False)
    environment = _TextField("environment", lambda i: [i.environment] if i.environment else [])
    created = _DateField("created", lambda i: i.created)
    updated = _DateField("updated", lambda i: i.updated)
    resolved = _DateField("resolved", lambda i: i.resolutiondate)
    due = _DateField("duedate", lambda i: i.duedate, date_only=True)
    sprint = _SprintField("sprint")
    points = _NumberField("Story Points", lambda i: i.story_points)
    fix_version = _VersionField("fixVersion", "fix_versions")
    affected = _VersionField("affectedVersion", "affects_versions")
    registry: dict[str, _Field] = {
        "project": project,
        "key": key, "issuekey": key, "issue": key, "id": key,
        "issuetype": issuetype, "type": issuetype,
        "status": status,
        "statuscategory": category, "category": category,
        "priority": priority,
        "resolution": resolution,
        "assignee": _UserField("assignee"),
        "reporter": _UserField("reporter"),
        "creator": _UserField("creator"),
        "labels": _LabelsField("labels"), "label": _LabelsField("labels"),
        "component": _ComponentField("component"),
        "fixversion": fix_version,
        "affectedversion": affected,
        "parent": _ParentField("parent", dc=flavour == "dc"),
        "text": text,
        "summary": summary,
        "description": description,
        "comment": comment,
        "environment": environment,
        "created": created, "createddate": created,
        "updated": updated, "updateddate": updated,
        "resolved": resolved, "resolutiondate": resolved,
        "duedate": due, "due": due,
        "statuscategorychangeddate": _DateField("statusCategoryChangedDate",
                                                lambda i: i.status_changed or i.created),
        "sprint": sprint, "cf[10020]": sprint,
        "story points": points, "cf[10016]": points,
        "rank": _SortOnly("Rank", lambda i: i.rank), "cf[10019]": _SortOnly("Rank", lambda i: i.rank),
    }
    if flavour == "dc":
        epic_link = _ParentField("Epic Link", dc=True, epics_only=True)
        registry["epic link"] = epic_link
        registry["cf[10014]"] = epic_link
    return registry


_REGISTRIES = {flavour: _registry(flavour) for flavour in ("cloud", "dc")}


def field_registry(flavour: str) -> dict[str, _Field]:
    """The JQL fields of ``flavour``: lower-cased clause name (and alias) -> handler (``name``, ``ops``, ``sortable``)."""
    return _REGISTRIES[flavour]


def function_names() -> frozenset[str]:
    """The JQL functions the sandbox evaluates, lower-cased."""
    return _KNOWN_FUNCTIONS


# --------------------------------------------------------------------------- compile


def _field(name: str, ctx: _Ctx) -> _Field | None:
    handler = _REGISTRIES[ctx.flavour].get(name.strip().casefold())
    if handler is None:
        ctx.error(f"Field '{name}' does not exist or you do not have permission to view it.")
    return handler


def _compile_node(node: Node, ctx: _Ctx) -> Predicate:
    if isinstance(node, And):
        parts = [_compile_node(c, ctx) for c in node.children]
        return lambda i: all(p(i) for p in parts)
    if isinstance(node, Or):
        parts = [_compile_node(c, ctx) for c in node.children]
        return lambda i: any(p(i) for p in parts)
    if isinstance(node, Not):
        inner = _compile_node(node.child, ctx)
        return lambda i: not inner(i)
    handler = _field(node.field, ctx)
    if handler is None:
        return _never
    return handler.compile(node, ctx)


class _Reverse:
    """Wraps a sort key so that it sorts descending."""

    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Reverse) -> bool:
        return other.value < self.value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Reverse) and self.value == other.value


@dataclass(slots=True)
class CompiledQuery:
    """A checked query: ``predicate`` filters, ``sort`` orders a list of issues in place."""

    predicate: Predicate
    sorters: list[tuple[_Field, bool]]
    bounded: bool
    store: Store
    warnings: list[str] = field(default_factory=list)

    def sort(self, issues: list[Issue]) -> None:
        """Sort by the ORDER BY keys (empty values last when ascending), then newest first."""
        store = self.store

        def compare(a: Issue, b: Issue) -> int:
            for handler, descending in self.sorters:
                ka, kb = handler.sort_key(a, store), handler.sort_key(b, store)
                if ka == kb:
                    continue
                if ka is None:
                    return -1 if descending else 1
                if kb is None:
                    return 1 if descending else -1
                result = -1 if ka < kb else 1
                return -result if descending else result
            if a.created != b.created:
                return -1 if a.created > b.created else 1
            return -1 if a.id > b.id else (1 if a.id < b.id else 0)

        issues.sort(key=functools.cmp_to_key(compare))


def compile_query(jql: str, store: Store, user: SandboxUser, flavour: str, *, strict: bool = True) -> CompiledQuery:
    """Parse and check ``jql`` for ``user``; raises :class:`JqlError` (400) on any problem.

    ``strict=False`` (Data Center's ``validateQuery=false``): only a syntax error raises; a
    clause naming an unknown field or value matches nothing and its message is in ``warnings``.
    """
    query: Query = parse(jql)
    ctx = _Ctx(store=store, user=user, flavour=flavour, errors=[])
    predicate = _compile_node(query.where, ctx) if query.where is not None else _always
    sorters: list[tuple[_Field, bool]] = []
    for key in query.order_by:
        handler = _field(key.field, ctx)
        if handler is None:
            continue
        if not handler.sortable:
            ctx.error(f"Field '{key.field}' does not support sorting.")
            continue
        sorters.append((handler, key.direction == "DESC"))
    if ctx.errors and strict:
        raise JqlError(ctx.errors)
    return CompiledQuery(predicate=predicate, sorters=sorters, bounded=query.where is not None, store=store,
                         warnings=ctx.errors)


def search(jql: str, store: Store, user: SandboxUser, flavour: str) -> list[Issue]:
    """All issues ``user`` may see that match ``jql``, in the query's order."""
    compiled = compile_query(jql, store, user, flavour)
    with store.lock:
        matches = [i for i in store.visible_issues(user) if compiled.predicate(i)]
    compiled.sort(matches)
    return matches
