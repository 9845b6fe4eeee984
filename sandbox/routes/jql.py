"""JQL help: Jira's own parser and the data behind its JQL autocomplete.

- Cloud: ``POST /rest/api/3/jql/parse?validation=strict|warn|none`` (``{"queries": [...]}`` ->
  each query's ``errors``/``warnings`` or its ``structure``), ``GET``/``POST
  /rest/api/3/jql/autocompletedata`` (fields with their operators, functions, reserved words).
- Both flavours: ``GET /rest/api/{v}/jql/autocompletedata`` and
  ``GET /rest/api/{v}/jql/autocompletedata/suggestions?fieldName=&fieldValue=`` (values of a field,
  the matching part in ``<b>``). Data Center validates JQL through a search with
  ``maxResults=0`` (``routes/search.py``).

The answers come from the same parser and field registry as search (``jql.py``,
``jql_eval.py``), so what the parser accepts here a search accepts too.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

from starlette.responses import Response
from starlette.routing import Route

from jiraplug.sandbox.jql import (
    And, Clause, EmptyOperand, Function, JqlError, JqlSyntaxError, ListOperand, Node, Not, Operand, Or, Query, parse,
)
from jiraplug.sandbox.jql_eval import compile_query, field_registry, function_names
from jiraplug.sandbox.web import Call, JiraError, api, json_response, not_found_uri

__all__ = ["routes"]

_VALIDATION = ("strict", "warn", "none")
_MAX_SUGGESTIONS = 15
# What Jira answers in ``jqlReservedWords`` (words that must be quoted as values).
RESERVED_WORDS = tuple(
    "a an abort access add after alias all alter and any are as asc at audit avg be before begin between boolean "
    "break but by byte catch cf char character check checkpoint collate collation column commit connect continue "
    "count create current date decimal declare decrement default defaults define delete delimiter desc difference "
    "distinct divide do double drop else empty encoding end equals escape exclusive exec execute exists explain "
    "false fetch file field first float for from function go goto grant greater group having identified if "
    "immediate in increment index initial inner inout input insert int integer intersect intersection into is "
    "isempty isnull join last left less like limit lock long max min minus mode modify modulo more multiply next "
    "noaudit not notin nowait null number object of on option or order outer output power previous prior "
    "privileges public raise raw remainder rename resource return returns revoke right row rowid rownum rows "
    "select session set share size sqrt start strict string subtract such sum synonym table then to trans "
    "transaction trigger true uid union unique update user validate values view was when whenever where while "
    "with".split()
)
_QUOTE_NEEDED = re.compile(r"[\s\"'=!<>()~,&|{}%^;`\\]")


# --------------------------------------------------------------------------- parse (Cloud)


def _encoded(text: str) -> str:
    """``text`` as it must be written in JQL: quoted when it holds a JQL character, space or reserved word."""
    if text and not _QUOTE_NEEDED.search(text) and text.casefold() not in RESERVED_WORDS:
        return text
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _operand(operand: Operand) -> dict[str, Any]:
    if isinstance(operand, EmptyOperand):
        return {"keyword": "empty"}
    if isinstance(operand, Function):
        encoded = f"{operand.name}({', '.join(operand.args)})"
        return {"function": operand.name, "arguments": list(operand.args), "encodedOperand": encoded}
    if isinstance(operand, ListOperand):
        values = [_operand(item) for item in operand.items]
        encoded = ", ".join(v.get("encodedValue") or v.get("encodedOperand") or "EMPTY" for v in values)
        return {"values": values, "encodedOperand": f"({encoded})"}
    return {"value": operand.text, "encodedValue": _encoded(operand.text)}


def _clause(node: Node) -> dict[str, Any]:
    if isinstance(node, (And, Or)):
        return {"operator": "and" if isinstance(node, And) else "or", "clauses": [_clause(c) for c in node.children]}
    if isinstance(node, Not):
        return {"operator": "not", "clauses": [_clause(node.child)]}
    assert isinstance(node, Clause)
    return {"field": {"name": node.field, "encodedName": _encoded(node.field)}, "operator": node.operator.lower(),
            "operand": _operand(node.operand)}


def _structure(query: Query) -> dict[str, Any]:
    structure: dict[str, Any] = {}
    if query.where is not None:
        structure["where"] = _clause(query.where)
    if query.order_by:
        fields = []
        for key in query.order_by:
            item: dict[str, Any] = {"field": {"name": key.field, "encodedName": _encoded(key.field)}}
            if key.direction:
                item["direction"] = key.direction.lower()
            fields.append(item)
        structure["orderBy"] = {"fields": fields}
    return structure


def _parsed(call: Call, source: str, validation: str) -> dict[str, Any]:
    """One entry of ``ParsedJqlQueries``: errors (and warnings), or the structure of a valid query."""
    try:
        query = parse(source)
    except JqlError as exc:  # syntax errors are errors in every validation mode
        return {"query": source, "errors": exc.messages}
    problems: list[str] = []
    if validation != "none":
        try:
            compile_query(source, call.store, call.user, call.flavour)
        except JqlSyntaxError as exc:
            return {"query": source, "errors": exc.messages}
        except JqlError as exc:
            problems = exc.messages
    if problems and validation == "strict":
        return {"query": source, "errors": problems}
    entry: dict[str, Any] = {"query": source, "structure": _structure(query)}
    if problems:
        entry["warnings"] = problems
    return entry


@api
async def jql_parse(call: Call) -> Response:
    """``POST /rest/api/3/jql/parse`` (Cloud): parse and validate up to 1000 queries."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    validation = call.request.query_params.get("validation", "strict")
    if validation not in _VALIDATION:
        raise JiraError(400, f"Invalid 'validation' value '{validation}'. Allowed: strict, warn, none.")
    body = await call.json_body()
    unknown = sorted(set(body) - {"queries"})
    if unknown:
        raise JiraError(400, f'Unrecognized field "{unknown[0]}" (class JqlQueriesToParse), not marked as ignorable')
    queries = body.get("queries")
    if not isinstance(queries, list) or not queries or not all(isinstance(q, str) and q for q in queries):
        raise JiraError(400, "queries: must be a non-empty list of non-empty JQL strings.")
    return json_response({"queries": [_parsed(call, q, validation) for q in queries]})


# --------------------------------------------------------------------------- autocomplete data


_JAVA_TYPES = {
    "project": "com.atlassian.jira.project.Project", "key": "com.atlassian.jira.issue.Issue",
    "issuetype": "com.atlassian.jira.issue.issuetype.IssueType", "status": "com.atlassian.jira.issue.status.Status",
    "statusCategory": "com.atlassian.jira.issue.status.category.StatusCategory",
    "priority": "com.atlassian.jira.issue.priority.Priority",
    "resolution": "com.atlassian.jira.issue.resolution.Resolution",
    "assignee": "com.atlassian.jira.user.ApplicationUser", "reporter": "com.atlassian.jira.user.ApplicationUser",
    "creator": "com.atlassian.jira.user.ApplicationUser", "labels": "com.atlassian.jira.issue.label.Label",
    "component": "com.atlassian.jira.bc.project.component.ProjectComponent",
    "fixVersion": "com.atlassian.jira.project.version.Version",
    "affectedVersion": "com.atlassian.jira.project.version.Version",
    "sprint": "com.atlassian.greenhopper.service.sprint.Sprint", "parent": "com.atlassian.jira.issue.Issue",
    "Epic Link": "com.atlassian.jira.issue.Issue", "Story Points": "java.lang.Number",
}
_DATE_FIELDS = {"created", "updated", "resolved", "duedate", "statusCategoryChangedDate"}
# Display forms of the functions the sandbox knows (jql_eval keeps them lower-cased).
_FUNCTION_TYPES = {
    "currentUser": ("com.atlassian.jira.user.ApplicationUser", False),
    "linkedIssues": ("com.atlassian.jira.issue.Issue", True),
    "standardIssueTypes": ("com.atlassian.jira.issue.issuetype.IssueType", True),
    "subtaskIssueTypes": ("com.atlassian.jira.issue.issuetype.IssueType", True),
    "releasedVersions": ("com.atlassian.jira.project.version.Version", True),
    "unreleasedVersions": ("com.atlassian.jira.project.version.Version", True),
    "latestReleasedVersion": ("com.atlassian.jira.project.version.Version", False),
    "earliestUnreleasedVersion": ("com.atlassian.jira.project.version.Version", False),
    "openSprints": ("com.atlassian.greenhopper.service.sprint.Sprint", True),
    "closedSprints": ("com.atlassian.greenhopper.service.sprint.Sprint", True),
    "futureSprints": ("com.atlassian.greenhopper.service.sprint.Sprint", True),
}
_DATE_DISPLAY = ("now", "currentDate", *(f"{edge}Of{unit}" for edge in ("start", "end")
                                         for unit in ("Day", "Week", "Month", "Year")))
_OPERATOR_ORDER = ("=", "!=", "~", "!~", ">", ">=", "<", "<=", "is", "is not", "in", "not in")


def _fields(flavour: str) -> Iterator[dict[str, Any]]:
    """``visibleFieldNames``: one entry per field handler (custom fields with their ``cf[id]``)."""
    aliases: dict[str, list[str]] = {}
    handlers = {}
    for alias, handler in field_registry(flavour).items():
        handlers.setdefault(handler.name, handler)
        aliases.setdefault(handler.name, []).append(alias)
    for name, handler in handlers.items():
        ops = sorted((op.lower() for op in handler.ops), key=_OPERATOR_ORDER.index)
        cfid = next((a for a in aliases[name] if a.startswith("cf[")), None)
        java = _JAVA_TYPES.get(name) or ("java.util.Date" if name in _DATE_FIELDS else "java.lang.String")
        entry: dict[str, Any] = {"value": _encoded(name), "displayName": f"{name} - {cfid}" if cfid else name}
        if cfid:
            entry.update(auto="true", cfid=cfid)
        entry.update(orderable=str(handler.sortable).lower(), searchable=str(bool(ops)).lower(), operators=ops,
                     types=[java])
        yield entry


def _functions() -> Iterator[dict[str, Any]]:
    for name in sorted(function_names()):
        display = next((f for f in _FUNCTION_TYPES if f.lower() == name), None)
        java, is_list = _FUNCTION_TYPES.get(display or "", ("java.util.Date", False))
        shown = display or next((f for f in _DATE_DISPLAY if f.lower() == name), name)
        entry: dict[str, Any] = {"value": f"{shown}()", "displayName": f"{shown}()"}
        if is_list:
            entry["isList"] = "true"
        entry["types"] = [java]
        yield entry



def _reference_data(flavour: str) -> dict[str, Any]:
    return {"visibleFieldNames": list(_fields(flavour)), "visibleFunctionNames": list(_functions()),
            "jqlReservedWords": list(RESERVED_WORDS)}


@api
async def autocomplete_data(call: Call) -> Response:
    """``GET /rest/api/{v}/jql/autocompletedata``: fields, operators, functions and reserved words."""
    return json_response(_reference_data(call.flavour))


@api
async def autocomplete_data_post(call: Call) -> Response:
    """``POST /rest/api/3/jql/autocompletedata`` (Cloud): the same, for some projects (``projectIds``)."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    body = await call.json_any(allow_empty=True) or {}
    if not isinstance(body, dict) or set(body) - {"projectIds", "includeCollapsedFields"}:
        raise JiraError(400, "The request body must be a SearchAutoCompleteFilter (projectIds, "
                             "includeCollapsedFields).")
    ids = body.get("projectIds") or []
    if not isinstance(ids, list) or not all(isinstance(i, int) and not isinstance(i, bool) for i in ids):
        raise JiraError(400, "projectIds: must be a list of project ids (numbers).")
    return json_response(_reference_data(call.flavour))


# --------------------------------------------------------------------------- suggestions


def _bold(text: str, typed: str) -> str | None:
    """``text`` with the first word-start match of ``typed`` in ``<b>``, or None when it does not match."""
    if not typed:
        return text
    for match in re.finditer(r"(?:^|(?<=[\s(\-_.]))", text):
        start = match.start()
        if text[start:start + len(typed)].casefold() == typed.casefold():
            return f"{text[:start]}<b>{text[start:start + len(typed)]}</b>{text[start + len(typed):]}"
    return None


def _candidates(call: Call, field: str) -> Iterable[tuple[str, str]]:
    """``(value, display)`` pairs the caller may see for the JQL field ``field`` (canonical name)."""
    store, user = call.store, call.user
    projects = store.visible_projects(user)
    if field == "project":
        return ((p.name, f"{p.name} ({p.key})") for p in projects)
    if field == "issuetype":
        return ((t.name, t.name) for t in store.issue_types)
    if field == "status":
        return ((s.name, s.name) for s in store.statuses)
    if field == "priority":
        return ((p.name, p.name) for p in store.priorities)
    if field == "resolution":
        return ((r.name, r.name) for r in store.resolutions)
    if field == "labels":
        labels = sorted({label for issue in store.visible_issues(user) for label in issue.labels})
        return ((label, label) for label in labels)
    if field == "component":
        return ((c.name, c.name) for p in projects for c in p.components)
    if field in ("fixVersion", "affectedVersion"):
        return ((v.name, v.name) for p in projects for v in p.versions)
    if field == "sprint":
        return ((str(s.id), f"{s.name} ({s.project_key} board)") for p in projects for s in p.sprints)
    if field in ("assignee", "reporter", "creator"):
        cloud = call.flavour == "cloud"
        return ((u.account_id if cloud else u.name, u.display_name) for u in store.users)
    return ()


@api
async def autocomplete_suggestions(call: Call) -> Response:
    """``GET /rest/api/{v}/jql/autocompletedata/suggestions``: values of ``fieldName`` matching ``fieldValue``."""
    params = call.request.query_params
    name = (params.get("fieldName") or "").strip().strip('"')
    typed = (params.get("fieldValue") or "").strip().strip('"')
    handler = field_registry(call.flavour).get(name.casefold())
    results: list[dict[str, str]] = []
    seen: set[str] = set()
    for value, display in _candidates(call, handler.name if handler else ""):
        shown = _bold(display, typed)
        if shown is None or value in seen:
            continue
        seen.add(value)
        results.append({"value": value, "displayName": shown})
        if len(results) == _MAX_SUGGESTIONS:
            break
    return json_response({"results": results})


def routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/rest/api/{version}/jql/parse", jql_parse, methods=["POST"]),
        Route("/rest/api/{version}/jql/autocompletedata", autocomplete_data, methods=["GET"]),
        Route("/rest/api/{version}/jql/autocompletedata", autocomplete_data_post, methods=["POST"]),
        Route("/rest/api/{version}/jql/autocompletedata/suggestions", autocomplete_suggestions, methods=["GET"]),
    ]
