"""What a request toward Jira may look like, and a test plugin that records every one.

:class:`RequestRecorder` is a ``jira_request_middleware`` plugin registered innermost
(``trylast``), so it sees exactly what goes to the transport (after caches, with retries).
:func:`violations` says, for one recorded request, everything that breaks the rules a
hostile caller must not be able to break: another host, a path outside the REST API and
the attachment paths, ``..`` segments, a reference to another project's issue while
``JIRA_PROJECTS_FILTER`` is set, a search whose JQL is not wrapped by the filter.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import httpx2

from jiraplug import hookimpl

ALLOWED_PREFIXES = ("/rest/api/", "/rest/agile/1.0/", "/rest/servicedeskapi/", "/secure/attachment/",
                    "/rest/dev-status/latest/issue/", "/jira/forms/cloud/", "/_edge/tenant_info")
SEARCH_PATHS = re.compile(r"^/rest/api/[23]/search(/jql)?$|^/rest/agile/1\.0/(board|sprint)/\d+/(issue|backlog)$")
# Query parameters that name a project or an issue (what the projects filter guards).
REFERENCE_PARAMS = {"projectkeyorid", "project", "projectkeys", "issuekey", "projectidorkey", "projectkeysorids"}
# JSON body entries that refer to an issue or a project by key.
REFERENCE_FIELDS = {"key", "issues", "issuekeys", "issueidorkeys", "project", "parent"}


@dataclass(frozen=True)
class SentRequest:
    """One outgoing request as the transport got it."""

    method: str
    scheme: str
    host: str
    port: int | None
    raw_path: str
    query: list[tuple[str, str]]
    body: bytes
    content_type: str
    headers: dict[str, str] = field(repr=False)

    @property
    def path(self) -> str:
        return unquote(self.raw_path)

    def json_body(self) -> Any:
        if not self.body or "json" not in self.content_type:
            return None
        try:
            return json.loads(self.body)
        except ValueError:
            return None


class RequestRecorder:
    """Test plugin: remembers every request sent toward Jira (innermost middleware)."""

    def __init__(self) -> None:
        self.requests: list[SentRequest] = []

    @hookimpl(trylast=True)
    def jira_request_middleware(self, runtime: Any) -> Any:
        def wrap(send: Any) -> Any:
            async def record(request: httpx2.Request) -> httpx2.Response:
                body = await request.aread()
                raw = request.url.raw_path.decode("ascii")
                path, _, query = raw.partition("?")
                self.requests.append(SentRequest(
                    method=request.method, scheme=request.url.scheme, host=request.url.host,
                    port=request.url.port, raw_path=path, query=parse_qsl(query, keep_blank_values=True),
                    body=body, content_type=request.headers.get("content-type", ""),
                    headers=dict(request.headers),
                ))
                return await send(request)

            return record

        return wrap


def is_scoped_jql(jql: str, projects: list[str]) -> bool:
    """Whether ``jql`` is ``project in (...)`` alone or ``AND``ed with one parenthesised group.

    Independent of the server's own JQL splitting: it scans with JQL's quoting rules
    (double or single quotes, backslash escapes) and requires the group opened right after
    the scope to close only at the end, before an optional ``ORDER BY`` field list.
    """
    scope = "project in (" + ", ".join(f'"{p}"' for p in projects) + ")"
    if not jql.startswith(scope):
        return False
    rest = jql[len(scope):]
    if not rest.strip() or _order_by_only(rest):
        return True
    if not rest.startswith(" AND ("):
        return False
    depth, quote, index = 0, None, len(" AND ")
    while index < len(rest):
        char = rest[index]
        if quote:
            if char == "\\":
                index += 2
                continue
            if char == quote:
                quote = None
        elif char in "\"'":
            quote = char
        elif char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
            if depth == 0:
                tail = rest[index + 1:]
                return not tail.strip() or _order_by_only(tail)
        index += 1
    return False


_ORDER_BY = re.compile(
    r'^\s+ORDER\s+BY\s+(?:[\w.\[\]]+|"[^"]+")(?:\s+(?:ASC|DESC))?(?:\s*,\s*(?:[\w.\[\]]+|"[^"]+")(?:\s+(?:ASC|DESC))?)*$',
    re.IGNORECASE,
)


def _order_by_only(text: str) -> bool:
    return bool(_ORDER_BY.match(text))


def _foreign_issue(value: str, projects: list[str]) -> bool:
    match = re.fullmatch(r"\s*([A-Za-z][A-Za-z0-9_]*)-(\d+)\s*", value)
    return bool(match) and match.group(1).upper() not in projects


def _foreign_ref(value: Any, projects: list[str], known_projects: set[str]) -> bool:
    if not isinstance(value, str):
        return False
    text = value.strip().upper()
    return _foreign_issue(text, projects) or (text in known_projects and text not in projects)


def _body_refs(node: Any, projects: list[str], known: set[str], under_ref: bool = False) -> list[str]:
    """Foreign issue/project keys in reference positions of a JSON body."""
    found: list[str] = []
    if isinstance(node, dict):
        for key, value in node.items():
            ref = under_ref or key.lower() in REFERENCE_FIELDS
            if ref and _foreign_ref(value, projects, known):
                found.append(f"{key}={value!r}")
            found += _body_refs(value, projects, known, ref and isinstance(value, dict | list))
    elif isinstance(node, list):
        for item in node:
            if under_ref and _foreign_ref(item, projects, known):
                found.append(repr(item))
            found += _body_refs(item, projects, known, under_ref)
    return found


def violations(sent: SentRequest, *, host: str, port: int, projects: list[str], known_projects: set[str]) -> list[str]:
    """Every rule ``sent`` breaks (empty when it is fine)."""
    out: list[str] = []
    where = f"{sent.method} {sent.raw_path}"
    if (sent.scheme, sent.host, sent.port) != ("http", host, port):
        out.append(f"{where}: went to {sent.scheme}://{sent.host}:{sent.port}, not the sandbox")
    if not sent.raw_path.startswith(ALLOWED_PREFIXES):
        out.append(f"{where}: path outside the REST API and attachment paths")
    for text in (sent.raw_path, sent.path, unquote(sent.path)):
        segments = text.split("/")
        if ".." in segments or "." in segments or "" in segments[1:]:
            out.append(f"{where}: dot or empty segment in {text!r}")
            break
    if "\\" in sent.path or "\x00" in sent.path:
        out.append(f"{where}: backslash or NUL in the path")
    if projects:
        for segment in sent.path.split("/"):
            if _foreign_issue(segment, projects):
                out.append(f"{where}: path names another project's issue {segment!r}")
        if "/project/" in sent.path and sent.path.split("/project/", 1)[1].split("/")[0].upper() in known_projects - set(projects):
            out.append(f"{where}: path names another project")
        for name, value in sent.query:
            if name.lower() in REFERENCE_PARAMS and any(_foreign_ref(v, projects, known_projects) for v in value.split(",")):
                out.append(f"{where}: query {name}={value!r} names another project or its issue")
        body = sent.json_body()
        if sent.method != "GET":
            out += [f"{where}: body refers to {ref}" for ref in _body_refs(body, projects, known_projects)]
        jqls = [value for name, value in sent.query if name == "jql"]
        if isinstance(body, dict) and "jql" in body:
            jqls.append(str(body["jql"]))
        if SEARCH_PATHS.match(sent.raw_path) and not jqls:
            out.append(f"{where}: a search without JQL (so without the projects filter)")
        out += [f"{where}: JQL not wrapped by the projects filter: {jql!r}" for jql in jqls
                if not is_scoped_jql(jql, projects)]
    return out
