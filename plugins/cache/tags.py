"""Which layer a read belongs to, and which tags tie cached reads to the writes that stale them.

A tag is ``kind:id`` (``issue:PLAT-1``, ``issue:10001``, ``project:PLAT``, ``board:7``,
``sprint:12``) or a bare ``kind`` meaning "every object of that kind" (``field``, ``sprint``).
Reads are tagged with what their URL names plus what their body shows (an issue's key *and*
id, its parent, sub-tasks and linked issues), so a write naming any of them evicts the
read. Lists of issues (JQL searches, board / sprint / epic / backlog listings, the issue
picker) carry the tag :data:`VIEWS`: any change to any issue evicts them, since it may
change which issues they list.

Writes are tagged from :attr:`RequestInfo.touches <jiraplug.jira.middleware.RequestInfo>`,
the URL path, and issue keys appearing in the request body. A write none of these explain
gets ``None``: the caller then clears the whole cache (correctness first).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Iterator
from typing import Any

import httpx2

from jiraplug.jira.middleware import RequestInfo

VIEWS = "views"
"""Tag of every cached list of issues."""
NOT_FOUND = "notfound"
"""Tag of every cached 404 answer (any write evicts them: it may have created the thing)."""
ISSUE_PART = "issuepart"
"""Tag of every cached read *under* an issue (``/issue/X/comment``, ``/transitions``...).
Such answers do not name their issue in the body, so they carry only the identifier of their
URL: a write naming the issue by its numeric id evicts them all."""
ISSUE_PART_BY_ID = "issuepart-by-id"
"""Tag of reads under an issue addressed by numeric id: every write evicts them, since a
write by key cannot tell it is the same issue."""

ISSUE_KEY = re.compile(r"^[A-Z][A-Z0-9_]+-[1-9][0-9]*$")
_ISSUE_KEY_CI = re.compile(r"^[A-Za-z][A-Za-z0-9_]+-[1-9][0-9]*$")
_DIGITS = re.compile(r"^[0-9]+$")
_PROJECT_KEY = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_REST = re.compile(r"/rest/(?P<api>api/\d+|agile/[0-9.]+)(?P<rest>/.*)?$")

# Path segment -> object kind. ``epic`` ids are issue keys or ids.
_KINDS = {
    "issue": "issue",
    "epic": "issue",
    "myself": "user",
    "project": "project",
    "board": "board",
    "sprint": "sprint",
    "version": "version",
    "component": "component",
    "filter": "filter",
    "field": "field",
    "user": "user",
    "issueLinkType": "linktype",
    "issuetype": "issuetype",
    "attachment": "attachment",
    "worklog": "worklog",
    "comment": "comment",
    "issueLink": "issuelink",
}
# Collection names under a parent (``/project/PLAT/versions``) -> kind.
_PLURALS = {"versions": "version", "components": "component", "statuses": "status", "sprints": "sprint"}
# Parts of an issue that have ids of their own (``/issue/K/comment/10005``, ``/attachment/10001``).
_ISSUE_PARTS = frozenset({"comment", "worklog", "attachment", "issuelink"})
# Kinds whose change shows only in their own views, not inside issues.
_LOCAL_KINDS = frozenset({"issue", "board", "filter", "views", "notfound", "cred"})
# Words that follow a kind segment but are not ids.
_NOT_PROJECT_IDS = frozenset({"search", "type", "recent", "category", "validate", "archive"})
# Issue-list endpoints: their answers list issues, so any issue change may stale them.
_VIEW_LAST = frozenset({"search", "jql", "approximate-count", "picker", "match", "bulkfetch", "backlog"})

_CONFIG_TOP = frozenset({
    "field", "issuetype", "priority", "status", "statuscategory", "resolution", "issueLinkType",
    "serverInfo", "myself", "project", "configuration", "label", "applicationrole", "screens",
    "issuetypescheme", "priorityscheme", "workflow", "workflowscheme",
})
_CONFIG_OPERATION_PREFIXES = (
    "field", "issuetype", "createmeta", "linktype", "issuelinktype", "priorit", "status", "resolution",
    "serverinfo", "myself", "board.get", "board.list", "boards.list", "project.get", "project.list",
    "projects.list",
)


def split_path(path: str) -> tuple[str, list[str]] | None:
    """``("api"|"agile", segments)`` for a Jira REST path (any context path before ``/rest``)."""
    match = _REST.search(path)
    if match is None:
        return None
    family = "agile" if match["api"].startswith("agile") else "api"
    return family, [seg for seg in (match["rest"] or "").split("/") if seg]


def _is_id(kind: str, segment: str) -> bool:
    if kind == "issue":
        return bool(_ISSUE_KEY_CI.match(segment) or _DIGITS.match(segment))
    if kind == "project":
        return segment not in _NOT_PROJECT_IDS and bool(_PROJECT_KEY.match(segment) or _DIGITS.match(segment))
    return bool(_DIGITS.match(segment))


def _norm(kind: str, ident: str) -> str:
    return f"{kind}:{ident.upper() if kind in {'issue', 'project'} else ident}"


def path_objects(segments: list[str]) -> Iterator[tuple[str, str | None]]:
    """``(kind, id-or-None)`` for each object kind the path names, in order."""
    i = 0
    while i < len(segments):
        seg = segments[i]
        kind = _KINDS.get(seg)
        if kind is not None:
            following = segments[i + 1] if i + 1 < len(segments) else None
            if following is not None and _is_id(kind, following):
                yield kind, following
                i += 2
                continue
            yield kind, None
        elif seg in _PLURALS:
            yield _PLURALS[seg], None
        i += 1


def is_view(family: str, segments: list[str]) -> bool:
    """Whether the answer is a list of issues (a search, a board/sprint/epic listing...)."""
    if not segments:
        return False
    last = segments[-1]
    if last in _VIEW_LAST:
        return True
    # /rest/agile/1.0/board/7/issue, /sprint/3/issue, /epic/X/issue, /board/7/epic/none/issue
    return family == "agile" and last == "issue" and len(segments) > 1


def read_layer(request: httpx2.Request, info: RequestInfo) -> str:
    """``"config"`` for slow-changing metadata, ``"api"`` for everything else."""
    parsed = split_path(request.url.path)
    if parsed is not None:
        family, segs = parsed
        if is_view(family, segs):
            return "api"
        if family == "api" and segs:
            if segs[0] in _CONFIG_TOP:
                return "config"
            if segs[0] == "issue" and len(segs) > 1 and segs[1] == "createmeta":
                return "config"
        if family == "agile" and segs and segs[0] == "board":
            # The board list, one board, its configuration and projects; not its issues or sprints.
            if len(segs) <= 2 or (len(segs) == 3 and segs[2] in {"configuration", "project", "properties"}):
                return "config"
        return "api"
    operation = info.operation.lower()
    return "config" if operation.startswith(_CONFIG_OPERATION_PREFIXES) else "api"


def read_tags(request: httpx2.Request, info: RequestInfo) -> tuple[set[str], bool]:
    """Tags of a read from its URL, and whether it is an issue list (a view)."""
    tags = {f"cred:{info.credential}"}
    parsed = split_path(request.url.path)
    if parsed is None:
        return tags, False
    family, segs = parsed
    for kind, ident in path_objects(segs):
        tags.add(kind)
        if ident is not None:
            tags.add(_norm(kind, ident))
    view = is_view(family, segs)
    if view:
        tags.add(VIEWS)
    if family == "api" and len(segs) > 2 and segs[0] == "issue" and not view:
        tags.add(ISSUE_PART)
        if _DIGITS.match(segs[1]):
            tags.add(ISSUE_PART_BY_ID)
    return tags, view


def body_tags(body: Any, path_kind: str | None) -> set[str]:
    """Tags from a decoded read body: the object's own id and key, and every issue it references.

    A body too large to walk completely is tagged :data:`VIEWS` instead, so that any issue
    change evicts it (an unseen reference must not keep it alive).
    """
    tags: set[str] = set()
    if isinstance(body, dict) and path_kind and path_kind != "issue":
        for name in ("id", "key"):
            value = body.get(name)
            if isinstance(value, (str, int)) and str(value):
                tags.add(_norm(path_kind, str(value)))
    refs, complete = issue_refs(body)
    for key, ident in refs:
        tags.add(f"issue:{key}")
        if ident:
            tags.add(f"issue:{ident}")
    if not complete:
        tags.add(VIEWS)
    return tags


def _walk(value: Any, limit: int, visit: Callable[[Any], Iterable[Any]]) -> bool:
    """Walk decoded JSON depth first: ``visit(item)`` looks at one item and returns what to walk
    next. False when the walk stopped after ``limit`` items without seeing everything."""
    stack = [value]
    seen = 0
    while stack:
        if seen >= limit:
            return False
        seen += 1
        stack.extend(visit(stack.pop()))
    return True


def issue_refs(value: Any, limit: int = 50_000) -> tuple[list[tuple[str, str | None]], bool]:
    """``(key, id)`` of each issue object in decoded JSON (dicts with an issue key), and whether
    the walk saw everything (it stops after ``limit`` containers)."""
    found: list[tuple[str, str | None]] = []

    def visit(item: Any) -> Iterable[Any]:
        if isinstance(item, dict):
            key = item.get("key")
            if isinstance(key, str) and ISSUE_KEY.match(key):
                ident = item.get("id")
                found.append((key, str(ident) if isinstance(ident, (str, int)) else None))
            item = item.values()
        elif not isinstance(item, list):
            return ()
        return [v for v in item if isinstance(v, (dict, list))]

    return found, _walk(value, limit, visit)


def primary_kind(request: httpx2.Request) -> str | None:
    """The kind of the last object with an id the path names (``/project/PLAT`` -> ``project``)."""
    parsed = split_path(request.url.path)
    if parsed is None:
        return None
    kinds = [kind for kind, ident in path_objects(parsed[1]) if ident is not None]
    return kinds[-1] if kinds else None


def write_tags(request: httpx2.Request, info: RequestInfo) -> set[str] | None:
    """Tags a write evicts, or ``None`` when nothing explains what it changes (clear all).

    Sources: ``info.touches`` (``kind:id``, or ``kind:*`` for every object of a kind), the
    URL path, and issue keys anywhere in a JSON request body. Every write evicts all issue
    lists (:data:`VIEWS`) and remembered 404s (:data:`NOT_FOUND`). A write that changes
    something issues display (a project, version, component, sprint, field, user...) also
    evicts every cached issue. A comment, worklog, attachment or link changed without
    naming its issue evicts every cached issue too.
    """
    tags: set[str] = set()
    for touch in info.touches:
        kind, _, ident = touch.partition(":")
        if kind:
            tags.add(kind if ident in {"", "*"} else _norm(kind, ident))
    body_keys, complete = issue_keys_in(request_json(request))
    tags.update(f"issue:{key}" for key in body_keys)
    if not complete:
        tags.add("issue")  # a body too large to read through: any issue may be named in it
    moving_issues = False
    parsed = split_path(request.url.path)
    if parsed is not None:
        family, segs = parsed
        # POST /rest/agile/1.0/sprint/12/issue (or backlog/issue, epic/X/issue) moves the issues
        # named in the body: the sprint itself does not change.
        moving_issues = family == "agile" and bool(segs) and segs[-1] == "issue"
        for kind, ident in path_objects(segs):
            if kind in _ISSUE_PARTS:
                if not any(t.startswith("issue:") for t in tags):
                    tags.add("issue")  # part of an unnamed issue: any issue may have changed
                continue
            if ident is not None:
                tags.add(_norm(kind, ident))
            elif kind != "issue":
                tags.add(kind)  # a new sprint, version, field...: lists of that kind change
    if not tags:
        return None
    kinds = tag_kinds(tags)
    if any(t.startswith("issue:") for t in tags):
        kinds -= _ISSUE_PARTS  # a comment or worklog of a named issue changes only that issue
    if not moving_issues and any(kind not in _LOCAL_KINDS for kind in kinds):
        tags.add("issue")
    if any(t.startswith("issue:") and _DIGITS.match(t[6:]) for t in tags):
        tags.add(ISSUE_PART)  # by id: reads under the same issue by key cannot be told apart
    tags.add(VIEWS)
    tags.add(NOT_FOUND)
    tags.add(ISSUE_PART_BY_ID)
    return tags


def request_json(request: httpx2.Request) -> Any:
    """The request's JSON body, or ``None``."""
    try:
        content = request.content
    except httpx2.RequestNotRead:
        return None
    if not content or "json" not in request.headers.get("content-type", "json"):
        return None
    try:
        return json.loads(content)
    except ValueError:
        return None


def issue_keys_in(value: Any, limit: int = 50_000) -> tuple[set[str], bool]:
    """Every string in decoded JSON that is an issue key (``PROJ-123``), keys of dicts included,
    and whether the walk saw everything (it stops after ``limit`` values)."""
    found: set[str] = set()

    def visit(item: Any) -> Iterable[Any]:
        if isinstance(item, str):
            if ISSUE_KEY.match(item):
                found.add(item)
        elif isinstance(item, dict):
            return [*item.keys(), *item.values()]
        elif isinstance(item, list):
            return item
        return ()

    return found, _walk(value, limit, visit)


def response_issue_tags(content: bytes) -> set[str]:
    """Issue tags named in a write's JSON answer (a created issue's key and id)."""
    try:
        body = json.loads(content) if content else None
    except ValueError:
        return set()
    refs, _ = issue_refs(body)
    return {tag for key, ident in refs for tag in (f"issue:{key}", f"issue:{ident}" if ident else "") if tag}


def tag_kinds(tags: Iterable[str]) -> set[str]:
    """The kinds among ``tags`` (for span attributes and logs)."""
    return {tag.partition(":")[0] for tag in tags}
