"""Hypothesis strategies for tool arguments: a small JSON-schema mapper plus hostile pools.

:func:`arguments_for` turns a tool's ``inputSchema`` into a strategy of argument dicts.
Each property is drawn from what its schema allows, from a pool of hostile values chosen
by the property's name (issue keys with slashes and percent-encoding, JQL aimed at
escaping ``JIRA_PROJECTS_FILTER``, traversal in upload paths...), from hostile Unicode, or
from a value of the wrong JSON type. Required properties are sometimes left out and
unknown ones sometimes added.
"""

from __future__ import annotations

import base64
from typing import Any

from hypothesis import strategies as st

# The project the server under test is restricted to, and the others the sandbox has.
ALLOWED = "MOB"
FOREIGN = ("PLAT", "OPS")

UNICODE = [
    "\u202eevil.exe\u202dtxt",  # right-to-left override
    "שלום עולם", "مرحبا بالعالم", "😀🔥👩‍👩‍👧‍👦🏳️‍🌈", "\x00", "a\x00b", "\x07\x08\x0b\x0c\x1b[31mred\x1b[0m",
    "\r\n\r\nX-Injected: yes", "line\u2028sep\u2029para", "\ufeffbom", "\ud800", "x\udfffy", "\ud83d",
    "Z\u0351\u036b\u0343\u036a\u0302\u036b\u033d\u034f\u0334\u0319\u0324\u031e\u0349", "\uffff\ufffe", "𝕳𝖊𝖑𝖑𝖔",
    "\u200b\u200c\u200d", "' OR 1=1 --", "<script>alert(1)</script>", "${jndi:ldap://127.0.0.1/x}", "{{7*7}}",
    "%s%s%n%x", "\\", '"', "'", "`", "]]>", "&amp;&#0;", "{code}x{code}", "[~accountid:x]", "!image.png!",
    "# heading\n\n```\ncode\n```\n| a | b |\n|---|---|", "",
]

ISSUE_KEYS = [
    "MOB-1", "MOB-2", "mob-3", " MOB-4 ", "MOB-0", "MOB-99999999999999999999", "PLAT-1", "OPS-2", "plat-3",
    "MOB-1/../PLAT-1", "MOB-1/../../myself", "../PLAT-1", "..", ".", "MOB-1%2f..%2fPLAT-1", "%2e%2e%2fPLAT-1",
    "%2E%2E", "PLAT%2d1", "MOB-1?expand=changelog", "MOB-1#x", "MOB-1\\..\\PLAT-1", "MOB-1/comment",
    "10001", "10100", "\u041cOB-1", "\uff2d\uff2f\uff22-1", "MOB-1\x00", "MOB-1\n", "MOB-1 OR project = PLAT",
    "", " ", "/rest/api/3/myself", "http://127.0.0.1:1/x", "MOB-1;PLAT-1", "MOB-1,PLAT-1",
]
PROJECT_KEYS = ["MOB", "mob", " MOB ", "PLAT", "OPS", "MOB/../PLAT", "MOB%2f..%2fPLAT", '"MOB"', "MOB\" OR project = PLAT",
                "..", "%2e%2e", "\u041cOB", "10000", "10001", "", "M\x00OB"]
JQL = [
    "project = PLAT", ") OR project = PLAT", ") OR (project = PLAT", "project = MOB) OR (project = PLAT",
    '" ) OR project = PLAT OR ( "', "' ) OR project = PLAT OR ( '", 'summary ~ "\\" ) OR project = PLAT',
    "ORDER BY key) OR (project = PLAT", "ORDER BY created DESC, (project = PLAT)",
    "project = MOB ORDER BY key OR project = PLAT", "order by key desc", "ORDER BY", "-- x\n) OR project = PLAT",
    "/* */ ) OR project = PLAT /*", "project = MOB \uff09 OR \uff08 project = PLAT", "project = MOB \u2019) OR (project = PLAT",
    "project in (MOB, PLAT, OPS)", "key in (PLAT-1, OPS-1)", "issuekey = PLAT-1", "project != MOB", "NOT project = MOB",
    "(", ")", '"', "'", "\\", "", " ", "((((((((((", "))", "text ~ \"\\\"\"", "project = MOB", "ORDER BY rank ASC",
    "summary ~ \"ORDER BY\" ) OR project = PLAT", "status = Done\u0000) OR project = PLAT",
]
JQL_TOKENS = ["(", ")", '"', "'", "\\", "OR", "AND", "NOT", "ORDER BY", "key", "project", "=", "!=", "in", "~",
              "PLAT", "MOB", "OPS", "PLAT-1", ",", "ASC", "DESC", "--", "/*", "*/", "\uff08", "\uff09", "EMPTY"]
PATHS = [
    "ok.txt", "sub/ok2.txt", "./ok.txt", "../outside/secret.txt", "sub/../../outside/secret.txt",
    "{outside}/secret.txt", "/etc/passwd", "~/.bashrc", "link-out", "dirlink/secret.txt", "%2e%2e/outside/secret.txt",
    "..%2foutside%2fsecret.txt", "ok.txt\x00../../outside/secret.txt", "\x00", "fifo", "sub", "", ".", "..", "/",
    "C:\\Windows\\win.ini", "..\\outside\\secret.txt", "file:///etc/passwd", "ok.txt/", "missing.txt",
]
FILENAMES = ["report.txt", "../../evil.txt", "/etc/passwd", "a/b.txt", "a\\b.txt", "..", ".", "", " ", "x\x00.txt",
             "\u202etxt.exe", "😀.png", "CON", "x" * 300, "%2e%2e%2fx", "ok\r\nX-Injected: 1.txt"]
IDS = ["10001", "10002", "1", "0", "-1", "../1", "1/../../myself", "%2e%2e", "1?x=y", "1e3", "\u0663", "\u00b2",
       "99999999999999999999999", "", " 10001 ", "10001/", "0x10", "1 OR 1=1"]
URLS = ["https://example.com/doc", "http://127.0.0.1:1/", "file:///etc/passwd", "javascript:alert(1)", "//evil.example",
        "http://[::1]/", "", "ftp://x/", "https://" + "a" * 3000 + ".example/"]
USERS = ["alice", "712020:c84c1315-9adf-55d8-8ed8-47bc2d706f64", "../../myself", "%2e%2e", "alice/../bob", "", " ",
         "nobody", "alice\x00"]
DATES = ["2026-03-02", "2026-02-30", "2026-03-02T09:00:00Z", "not a date", "", "9999-12-31", "0000-01-01",
         "2026-03-02T25:61:00", "1e9", "\x00"]
DURATIONS = ["1h", "1h 30m", "2d", "0m", "-1h", "1y", "", "999999999w", "1h\x00"]
BASE64 = [base64.b64encode(b"hello").decode(), base64.b64encode(b"\x00\xff" * 40).decode(), "!!!not base64!!!",
          "aGVsbG8", "aGVs bG8=\n", "", "====", "\x00"]
FIELD_SETS: list[dict[str, Any]] = [
    {"project": "PLAT"}, {"project": {"key": "PLAT"}}, {"parent": "PLAT-1"}, {"parent": {"key": "PLAT-1"}},
    {"issuetype": "Sub-task", "parent": "PLAT-1"}, {"summary": "x"}, {"summary": None}, {"Story Points": "NaN"},
    {"customfield_10010": {"../x": 1}}, {"labels": ["a b", "\x00"]}, {"description": "\x00" * 10}, {},
    {"key": "PLAT-1"}, {"assignee": "../../myself"},
]
BATCH_ITEMS: list[dict[str, Any]] = [
    {"project_key": "MOB", "summary": "batch ok"}, {"project_key": "PLAT", "summary": "escape"},
    {"project_key": "MOB", "summary": "x", "parent": "PLAT-1"},
    {"project_key": "MOB", "summary": "x", "custom_fields": {"project": {"key": "PLAT"}}},
    {"project_key": "MOB", "summary": "x", "custom_fields": {"project": "PLAT"}}, {"summary": "no project"},
    {"project_key": None, "summary": 5}, {},
]

# Property name -> hostile pool drawn for it (matched on the name, then on its suffix).
POOLS: dict[str, list[Any]] = {
    "issue_key": ISSUE_KEYS, "from_key": ISSUE_KEYS, "to_key": ISSUE_KEYS, "epic_key": ISSUE_KEYS,
    "parent": ISSUE_KEYS, "issue_keys": ISSUE_KEYS, "project_key": PROJECT_KEYS, "jql": JQL, "path": PATHS,
    "filename": FILENAMES, "url": URLS, "user": USERS, "assignee": USERS, "lead": USERS, "query": UNICODE + JQL,
    "content_base64": BASE64, "time_spent": DURATIONS, "started": DATES, "start_date": DATES, "end_date": DATES,
    "release_date": DATES, "due_date": DATES, "fields": ["summary,project", "../x", "*all", "key,,", "\x00"],
    "expand": ["changelog", "renderedFields,../x", "\x00"], "transition": ["Done", "31", "../1", "\x00"],
    "link_type": ["Blocks", "10000", "../x", "\x00"], "field": ["Priority", "project", "../x", "customfield_10010"],
    "page_token": ["", "x", "-1", "99999999", "eyJ4IjoxfQ==", "\x00", "../"],
}
ID_SUFFIX = "_id"


def _pool_for(name: str) -> list[Any] | None:
    if name in POOLS:
        return POOLS[name]
    if name.endswith(ID_SUFFIX):
        return IDS
    return None


JSON_SCALARS = st.one_of(st.none(), st.booleans(), st.integers(-(2**70), 2**70),
                         st.floats(allow_nan=False, allow_infinity=False), st.text(max_size=12))
ANY_JSON = st.recursive(JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                        | st.dictionaries(st.text(max_size=6), inner, max_size=3), max_leaves=6)
HOSTILE_TEXT = st.one_of(st.sampled_from(UNICODE), st.text(max_size=40),
                         st.text(st.characters(codec=None, exclude_categories=()), max_size=20))
JQL_SOUP = st.lists(st.sampled_from(JQL_TOKENS), min_size=1, max_size=12).map(" ".join)


def from_schema(schema: dict[str, Any], name: str = "") -> st.SearchStrategy[Any]:
    """Values valid for ``schema`` (the subset pydantic emits for tool arguments)."""
    if "enum" in schema:
        return st.sampled_from(schema["enum"])
    if "anyOf" in schema:
        return st.one_of(*(from_schema(option, name) for option in schema["anyOf"]))
    kind = schema.get("type")
    if kind == "string":
        pool = _pool_for(name)
        options = [st.text(min_size=schema.get("minLength", 0), max_size=schema.get("maxLength", 30)), HOSTILE_TEXT]
        if pool is not None:
            options = [st.sampled_from(pool)] * 3 + options
        if name == "jql" or name == "query":
            options.append(JQL_SOUP)
        return st.one_of(*options)
    if kind == "integer":
        low, high = schema.get("minimum"), schema.get("maximum")
        return st.one_of(st.integers(low, high), st.integers(low, high), st.sampled_from([-1, 0, 2**31, 2**63, 10**30]))
    if kind == "number":
        return st.floats(schema.get("minimum"), schema.get("maximum"), allow_nan=False, allow_infinity=False)
    if kind == "boolean":
        return st.booleans()
    if kind == "null":
        return st.none()
    if kind == "array":
        items = schema.get("items", {})
        item = st.sampled_from(_pool_for(name)) if _pool_for(name) and items.get("type") == "string" else None
        inner = st.one_of(item, from_schema(items, name)) if item is not None else from_schema(items, name)
        if name == "issues":
            inner = st.one_of(st.sampled_from(BATCH_ITEMS), inner)
        return st.lists(inner, min_size=schema.get("minItems", 0), max_size=min(schema.get("maxItems", 5), 5))
    if kind == "object":
        if "properties" in schema:
            return arguments_for(schema)
        return st.one_of(st.sampled_from(FIELD_SETS), st.dictionaries(st.one_of(st.sampled_from(
            ["summary", "description", "labels", "priority", "Story Points", "customfield_10010", "parent",
             "project", "issuetype", "../x", ""]), st.text(max_size=8)), ANY_JSON | HOSTILE_TEXT, max_size=4))
    return ANY_JSON


def property_values(schema: dict[str, Any], name: str) -> st.SearchStrategy[Any]:
    """What a property gets: mostly schema-shaped (hostile pools included), sometimes the wrong type."""
    valid = from_schema(schema, name)
    return st.one_of(valid, valid, valid, ANY_JSON)


def arguments_for(schema: dict[str, Any]) -> st.SearchStrategy[dict[str, Any]]:
    """Argument dicts for a tool's ``inputSchema``."""
    props: dict[str, Any] = schema.get("properties", {})
    required = [name for name in schema.get("required", []) if name in props]
    values = {name: property_values(spec, name) for name, spec in props.items()}
    complete = st.fixed_dictionaries({n: values[n] for n in required},
                                     optional={n: v for n, v in values.items() if n not in required})
    loose = st.fixed_dictionaries({}, optional=values)  # required ones may be missing
    extra = st.builds(lambda args, more: {**more, **args}, complete,
                      st.dictionaries(st.text(max_size=8), ANY_JSON, max_size=2))
    return st.one_of(complete, complete, complete, loose, extra)


def huge_text(size: int = 1 << 20) -> str:
    """A string of ``size`` characters mixing ASCII, Markdown, RTL, emoji and control characters."""
    unit = "Ab1 *x* [l](http://e) \u202e\u05e9 😀\t\x01 | # `c` \\ \" ' ( ) OR ORDER BY\n"
    return (unit * (size // len(unit) + 1))[:size]
