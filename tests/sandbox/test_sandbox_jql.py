"""JQL: parser errors, a table of queries checked against a Python oracle, ORDER BY."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable

import httpx2
import pytest
from jiraplug.sandbox import REFERENCE_NOW, SandboxServer
from jiraplug.sandbox.jql import And, Clause, JqlSyntaxError, ListOperand, Not, Or, parse
from jiraplug.sandbox.model import Issue
from sandbox_helpers import client_for

NOW = REFERENCE_NOW
ALICE = "alice"


def who(user) -> str | None:
    return user.name if user is not None else None


# --------------------------------------------------------------------------- parser


def test_parser_builds_the_expected_tree() -> None:
    query = parse('project = PLAT AND (status = "In Progress" OR NOT assignee IS EMPTY) ORDER BY created DESC, key')
    assert isinstance(query.where, And)
    first, second = query.where.children
    assert isinstance(first, Clause) and first.field == "project" and first.operator == "="
    assert isinstance(second, Or) and isinstance(second.children[1], Not)
    assert [(k.field, k.direction) for k in query.order_by] == [("created", "DESC"), ("key", None)]
    listed = parse("labels not in (a, 'b c', d)").where
    assert isinstance(listed, Clause) and listed.operator == "NOT IN"
    assert isinstance(listed.operand, ListOperand) and len(listed.operand.items) == 3
    assert parse("a = b && c = d || e = f").where == parse("(a = b AND c = d) OR e = f").where
    assert parse("").where is None and parse("order by key").where is None


@pytest.mark.parametrize(("jql", "message"), [
    ("project foo", "Error in the JQL Query: Expecting operator but got 'foo'. The valid operators are '=', '!=', "
                    "'<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and 'IS NOT'. (line 1, character 9)"),
    ("project = ", "Error in the JQL Query: Expecting either a value, list or function before the end of the "
                   "query."),
    ("project = OR", "Error in the JQL Query: Expecting either a value, list or function but got 'OR'. You must "
                     "surround 'OR' in quotation marks to use it as a value. (line 1, character 11)"),
    ("project = A B", "Error in the JQL Query: Expecting either 'OR' or 'AND' but got 'B'. (line 1, character 13)"),
    ("(project = A", "Error in the JQL Query: Expecting ')' before the end of the query."),
    ('summary ~ "abc', "Error in the JQL Query: The quoted string 'abc' has not been completed. "
                       "(line 1, character 11)"),
    ("labels = a%b", "Error in the JQL Query: The character '%' is a reserved JQL character. You must enclose it "
                     "in a string or use the escape '\\u0025' instead. (line 1, character 11)"),
    ("key = A-1 ORDER key", "Error in the JQL Query: Expecting 'by' but got 'key'. (line 1, character 17)"),
    ("project = A\nAND status foo", "Error in the JQL Query: Expecting operator but got 'foo'. The valid operators "
                                    "are '=', '!=', '<', '>', '<=', '>=', '~', '!~', 'IN', 'NOT IN', 'IS' and "
                                    "'IS NOT'. (line 2, character 12)"),
])
def test_syntax_errors(jql: str, message: str) -> None:
    with pytest.raises(JqlSyntaxError) as info:
        parse(jql)
    assert info.value.messages == [message]


# --------------------------------------------------------------------------- query table

Pred = Callable[[Issue], bool]


def _days(n: float) -> dt.timedelta:
    return dt.timedelta(days=n)


def _in_sprint_state(state: str) -> Pred:
    def pred(issue: Issue) -> bool:
        return any(s_id in _SPRINTS[state] for s_id in issue.sprint_ids)
    return pred


_SPRINTS: dict[str, set[int]] = {}

QUERIES: list[tuple[str, Pred]] = [
    ("project = PLAT", lambda i: i.project_key == "PLAT"),
    ("project = platform", lambda i: i.project_key == "PLAT"),
    ("key = PLAT-1", lambda i: i.key == "PLAT-1"),
    ("key in (PLAT-1, MOB-2, OPS-3)", lambda i: i.key in {"PLAT-1", "MOB-2", "OPS-3"}),
    ("project = MOB AND key > MOB-80", lambda i: i.project_key == "MOB" and i.number > 80),
    ("issuetype = Bug", lambda i: i.issuetype.name == "Bug"),
    ("type in (Epic, 'Sub-task')", lambda i: i.issuetype.name in ("Epic", "Sub-task")),
    ("issuetype in subTaskIssueTypes()", lambda i: i.issuetype.subtask),
    ('status = "In Progress"', lambda i: i.status.name == "In Progress"),
    ("status != Done", lambda i: i.status.name != "Done"),
    ("statusCategory = Done", lambda i: i.status.category.key == "done"),
    ("statusCategory in (new, indeterminate)", lambda i: i.status.category.key in ("new", "indeterminate")),
    ("priority in (Highest, High)", lambda i: i.priority.name in ("Highest", "High")),
    ("priority > Medium", lambda i: i.priority.rank > 3),
    ("priority <= Low", lambda i: i.priority.rank <= 2),
    ("assignee = currentUser()", lambda i: who(i.assignee) == ALICE),
    ("assignee = bob", lambda i: who(i.assignee) == "bob"),
    ("assignee = 'carol@example.com'", lambda i: who(i.assignee) == "carol"),
    ("assignee is EMPTY", lambda i: i.assignee is None),
    ("assignee = null", lambda i: i.assignee is None),
    ("assignee is not EMPTY", lambda i: i.assignee is not None),
    ("assignee != bob", lambda i: i.assignee is not None and who(i.assignee) != "bob"),
    ("NOT assignee = bob", lambda i: who(i.assignee) != "bob"),
    ("assignee in (bob, EMPTY)", lambda i: who(i.assignee) in ("bob", None)),
    ("assignee not in (bob, dave)", lambda i: i.assignee is not None and who(i.assignee) not in ("bob", "dave")),
    ("reporter = currentUser() AND assignee != currentUser()",
     lambda i: who(i.reporter) == ALICE and i.assignee is not None and who(i.assignee) != ALICE),
    ("labels = security", lambda i: "security" in i.labels),
    ("labels in (security, performance)", lambda i: bool({"security", "performance"} & set(i.labels))),
    ("labels is EMPTY", lambda i: not i.labels),
    ("labels != security", lambda i: bool(i.labels) and "security" not in i.labels),
    ("component = iOS", lambda i: "iOS" in {c.name for c in i.components}),
    ("component is EMPTY AND project = OPS", lambda i: not i.components and i.project_key == "OPS"),
    ('fixVersion = "2026.3"', lambda i: "2026.3" in {v.name for v in i.fix_versions}),
    ("fixVersion in unreleasedVersions()", lambda i: any(not v.released for v in i.fix_versions)),
    ("fixVersion is EMPTY", lambda i: not i.fix_versions),
    ("resolution = Unresolved", lambda i: i.resolution is None),
    ("resolution = Done", lambda i: i.resolution is not None and i.resolution.name == "Done"),
    ("parent = PLAT-1", lambda i: i.parent_id == _KEYS["PLAT-1"]),
    ("summary ~ crash", lambda i: "crash" in i.summary.lower()),
    ('summary ~ "runbook"', lambda i: "runbook" in i.summary.lower()),
    ("summary ~ 'dash*'", lambda i: any(w.startswith("dash") for w in i.summary.lower().split())),
    ("summary !~ crash AND project = MOB", lambda i: "crash" not in i.summary.lower() and i.project_key == "MOB"),
    ('description ~ "\\"steps to reproduce\\""',
     lambda i: i.description is not None and "steps to reproduce" in _plain(i).lower()),
    ("description is EMPTY", lambda i: i.description is None),
    ("text ~ schema", lambda i: "schema" in (i.summary + " " + _plain(i) + " " + _comments(i)).lower()),
    ("comment ~ \"regression test\"", lambda i: "regression test" in _comments(i).lower()),
    ("created >= -30d", lambda i: i.created >= NOW - _days(30)),
    ("created < -60d AND created > -90d", lambda i: NOW - _days(90) < i.created < NOW - _days(60)),
    ("updated >= '-2w'", lambda i: i.updated >= NOW - _days(14)),
    ("updated > startOfDay(-7d)",
     lambda i: i.updated > NOW.replace(hour=0, minute=0, second=0) - _days(7)),
    ('created >= "2026-10-01" AND created < "2026/11/01"',
     lambda i: dt.datetime(2026, 10, 1, tzinfo=dt.UTC) <= i.created
     < dt.datetime(2026, 11, 1, tzinfo=dt.UTC)),
    ("created > startOfMonth()", lambda i: i.created > NOW.replace(day=1, hour=0, minute=0, second=0)),
    ("duedate < now() AND statusCategory != Done",
     lambda i: i.duedate is not None and i.duedate < NOW.date() and i.status.category.key != "done"),
    ("duedate is EMPTY", lambda i: i.duedate is None),
    ("duedate >= 2026-11-20", lambda i: i.duedate is not None and i.duedate >= dt.date(2026, 11, 20)),
    ("resolved >= -30d", lambda i: i.resolutiondate is not None and i.resolutiondate >= NOW - _days(30)),
    ('"Story Points" >= 8', lambda i: i.story_points is not None and i.story_points >= 8),
    ("cf[10016] = 3", lambda i: i.story_points == 3),
    # As in Jira, "open" means not completed: active and future sprints.
    ("sprint in openSprints()", lambda i: _in_sprint_state("active")(i) or _in_sprint_state("future")(i)),
    ("sprint in openSprints() AND sprint not in futureSprints()",
     lambda i: _in_sprint_state("active")(i) and not _in_sprint_state("future")(i)),
    ("sprint in closedSprints() AND project = PLAT",
     lambda i: _in_sprint_state("closed")(i) and i.project_key == "PLAT"),
    ("sprint is EMPTY AND issuetype = Story", lambda i: not i.sprint_ids and i.issuetype.name == "Story"),
    ('sprint = "MOB Sprint 4"', lambda i: _SPRINT_NAMES["MOB Sprint 4"] in i.sprint_ids),
    # boolean structure
    ("project = PLAT OR project = MOB", lambda i: i.project_key in ("PLAT", "MOB")),
    ("project = PLAT AND issuetype = Bug OR project = OPS AND issuetype = Task",
     lambda i: (i.project_key, i.issuetype.name) in {("PLAT", "Bug"), ("OPS", "Task")}),
    ("project = PLAT AND (issuetype = Bug OR priority = Highest)",
     lambda i: i.project_key == "PLAT" and (i.issuetype.name == "Bug" or i.priority.name == "Highest")),
    ("NOT (project = PLAT OR project = MOB)", lambda i: i.project_key == "OPS"),
    ("NOT project = PLAT AND NOT status = Done", lambda i: i.project_key != "PLAT" and i.status.name != "Done"),
    ("project in (PLAT, MOB) AND status not in (Done, 'To Do') AND assignee is not EMPTY",
     lambda i: i.project_key in ("PLAT", "MOB") and i.status.name not in ("Done", "To Do")
     and i.assignee is not None),
    ("issue in linkedIssues(PLAT-1) OR key = PLAT-1", lambda i: i.key == "PLAT-1" or i.id in _LINKED["PLAT-1"]),
]

_KEYS: dict[str, int] = {}
_SPRINT_NAMES: dict[str, int] = {}
_LINKED: dict[str, set[int]] = {}
_STORE: dict[int, Issue] = {}


def _plain(issue: Issue) -> str:
    from jiraplug.sandbox.richtext import to_plain
    return to_plain(issue.description) if issue.description else ""


def _comments(issue: Issue) -> str:
    from jiraplug.sandbox.richtext import to_plain
    return " ".join(to_plain(c.body) for c in issue.comments)


@pytest.fixture(scope="module", autouse=True)
def _oracle_tables(cloud: SandboxServer) -> None:
    store = cloud.state
    _KEYS.update({i.key: i.id for i in store.issues})
    for sprint in store.sprints.values():
        _SPRINTS.setdefault(sprint.state, set()).add(sprint.id)
        _SPRINT_NAMES[sprint.name] = sprint.id
    plat1 = store.issue_by_key("PLAT-1")
    _LINKED["PLAT-1"] = {link.inward_issue_id if link.outward_issue_id == plat1.id else link.outward_issue_id
                         for link in plat1.links}


def search_keys(client: httpx2.Client, jql: str) -> list[str]:
    response = client.post("/rest/api/3/search/jql", json={"jql": jql, "maxResults": 5000, "fields": ["key"]})
    assert response.status_code == 200, (jql, response.text)
    body = response.json()
    assert body["isLast"] is True
    return [i["key"] for i in body["issues"]]


@pytest.mark.parametrize(("jql", "pred"), QUERIES, ids=[q for q, _ in QUERIES])
def test_query_matches_oracle(cloud_client: httpx2.Client, cloud: SandboxServer, jql: str, pred: Pred) -> None:
    expected = sorted(i.key for i in cloud.state.issues if pred(i))
    assert sorted(search_keys(cloud_client, jql)) == expected


def test_queries_are_not_trivial(cloud: SandboxServer) -> None:
    """Guard against a table that passes because everything is empty (or everything)."""
    total = len(cloud.state.issues)
    nontrivial = [jql for jql, pred in QUERIES if 0 < sum(1 for i in cloud.state.issues if pred(i)) < total]
    assert len(nontrivial) >= len(QUERIES) - 2


def test_current_user_depends_on_caller(cloud: SandboxServer) -> None:
    bob = cloud.users[1]
    with client_for(cloud, bob) as c:
        keys = search_keys(c, "assignee = currentUser()")
    assert keys and sorted(keys) == sorted(i.key for i in cloud.state.issues if who(i.assignee) == "bob")


def test_dc_specific_clauses(dc_client: httpx2.Client, dc: SandboxServer) -> None:
    def keys(jql: str) -> list[str]:
        body = dc_client.get("/rest/api/2/search", params={"jql": jql, "maxResults": 1000, "fields": "key"}).json()
        return sorted(i["key"] for i in body["issues"])

    store = dc.state
    epic = store.issue_by_key("PLAT-1")
    stories = sorted(i.key for i in store.issues if i.parent_id == epic.id and not i.issuetype.subtask)
    assert stories and keys('"Epic Link" = PLAT-1') == stories
    # On Data Center "parent" only finds sub-tasks.
    assert keys("parent = PLAT-1") == []
    sub = next(i for i in store.issues if i.issuetype.subtask)
    parent = store.parent_of(sub)
    assert keys(f"parent = {parent.key}") == sorted(i.key for i in store.subtasks_of(parent))
    assert keys("assignee = currentUser()") == sorted(i.key for i in store.issues if who(i.assignee) == ALICE)


# --------------------------------------------------------------------------- ORDER BY


def ordered(client: httpx2.Client, jql: str) -> list[str]:
    return search_keys(client, jql)


def test_order_by_priority_then_key(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    keys = ordered(cloud_client, "project = PLAT ORDER BY priority DESC, key ASC")
    issues = [cloud.state.issue_by_key(k) for k in keys]
    expected = sorted(issues, key=lambda i: (-i.priority.rank, i.number))
    assert issues == expected and issues[0].priority.name == "Highest"


def test_order_by_created(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    keys = ordered(cloud_client, "project in (PLAT, MOB, OPS) ORDER BY created ASC")
    created = [cloud.state.issue_by_key(k).created for k in keys]
    assert created == sorted(created) and len(keys) == len(cloud.state.issues)
    desc = ordered(cloud_client, "project in (PLAT, MOB, OPS) ORDER BY created DESC")
    assert desc == keys[::-1]


def test_order_by_duedate_puts_empty_last(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    keys = ordered(cloud_client, "project = MOB ORDER BY duedate ASC, key ASC")
    dues = [cloud.state.issue_by_key(k).duedate for k in keys]
    dated = [d for d in dues if d is not None]
    assert dues[: len(dated)] == sorted(dated) and all(d is None for d in dues[len(dated):])
    desc = ordered(cloud_client, "project = MOB ORDER BY duedate DESC")
    assert cloud.state.issue_by_key(desc[0]).duedate is None


def test_order_by_key_desc_and_assignee(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    keys = ordered(cloud_client, "project = OPS ORDER BY key DESC")
    assert [int(k.split("-")[1]) for k in keys] == sorted((i.number for i in cloud.state.issues
                                                          if i.project_key == "OPS"), reverse=True)
    keys = ordered(cloud_client, "project = OPS AND assignee is not EMPTY ORDER BY assignee ASC, key ASC")
    names = [cloud.state.issue_by_key(k).assignee.display_name for k in keys]
    assert names == sorted(names, key=str.casefold)


# --------------------------------------------------------------------------- errors over HTTP


@pytest.mark.parametrize(("jql", "message"), [
    ("foo = bar", "Field 'foo' does not exist or you do not have permission to view it."),
    ("project = NOPE", "The value 'NOPE' does not exist for the field 'project'."),
    ("status = Nope", "The value 'Nope' does not exist for the field 'status'."),
    ("summary = crash", "The operator '=' is not supported by the 'summary' field."),
    ("project ~ PLAT", "The operator '~' is not supported by the 'project' field."),
    ("key = PLAT-99999", "An issue with key 'PLAT-99999' does not exist for field 'key'."),
    ("assignee = nobody", "The value 'nobody' does not exist for the field 'assignee'."),
    ("created > '2026/13/45'", "Date value '2026/13/45' for field 'created' is invalid. Valid formats include: "
                               "'yyyy/MM/dd HH:mm', 'yyyy-MM-dd HH:mm', 'yyyy/MM/dd', 'yyyy-MM-dd', or a period "
                               "format e.g. '-5d', '4w 2d'."),
    ("project = PLAT ORDER BY text", "Field 'text' does not support sorting."),
    ("project = PLAT ORDER BY nope", "Field 'nope' does not exist or you do not have permission to view it."),
    ("assignee = nosuchFunction()", "Unable to find JQL function 'nosuchFunction()'."),
    ("project = PLAT AND", "Error in the JQL Query: Expecting a field name before the end of the query."),
])
def test_invalid_jql_is_400(client: httpx2.Client, server: SandboxServer, jql: str, message: str) -> None:
    if server.flavour == "cloud":
        response = client.post("/rest/api/3/search/jql", json={"jql": jql})
    else:
        response = client.get("/rest/api/2/search", params={"jql": jql})
    assert response.status_code == 400
    assert response.json() == {"errorMessages": [message], "errors": {}}


def test_all_semantic_errors_are_reported_together(cloud_client: httpx2.Client) -> None:
    response = cloud_client.post("/rest/api/3/search/jql", json={"jql": "foo = 1 AND status = Nope"})
    assert response.json()["errorMessages"] == [
        "Field 'foo' does not exist or you do not have permission to view it.",
        "The value 'Nope' does not exist for the field 'status'.",
    ]


def test_date_equality_and_lists(cloud_client: httpx2.Client, cloud: SandboxServer) -> None:
    dues = sorted({i.duedate for i in cloud.state.issues if i.duedate is not None})
    first, second = dues[0], dues[len(dues) // 2]
    assert sorted(search_keys(cloud_client, f'duedate = "{first.isoformat()}"')) == \
        sorted(i.key for i in cloud.state.issues if i.duedate == first)
    assert sorted(search_keys(cloud_client, f"duedate in ({first.isoformat()}, {second.isoformat()}, EMPTY)")) == \
        sorted(i.key for i in cloud.state.issues if i.duedate in (first, second, None))
    assert sorted(search_keys(cloud_client, f"duedate != {first.isoformat()}")) == \
        sorted(i.key for i in cloud.state.issues if i.duedate is not None and i.duedate != first)
    issue = cloud.state.issue_by_key("MOB-3")
    stamp = issue.created.strftime("%Y-%m-%d %H:%M")
    expected = sorted(i.key for i in cloud.state.issues if i.created.replace(second=0) == issue.created.replace(
        second=0) and i.created.second == 0)
    assert sorted(search_keys(cloud_client, f'created = "{stamp}"')) == expected
