"""Every decoder of Jira answers, fed real-shaped bodies with wrong types anywhere (issue 14, point 6).

Bodies come from the specs' own examples and from the sandbox (both flavours). A mutation
replaces one or a few values deep in a body with a value of another JSON type; each decoder
must then give a result or a clear :class:`UserFacingError`, never another exception (which
reaches the client as the opaque "Error executing tool ...").
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx2
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from jiraplug.jira.changelog import decode_changelog_page, history_entries, latest_from_expand
from jiraplug.jira.compact import compact_issue
from jiraplug.jira.fields import FieldCatalog, FieldInfo
from jiraplug.jira.paging import decode_cloud_search, decode_dc_search, decode_offset_page
from jiraplug.plugins.toolsets.agile import _compact_board, _compact_sprint
from jiraplug.plugins.toolsets.attachments import _compact as compact_attachment
from jiraplug.plugins.toolsets.comments import _comment
from jiraplug.plugins.toolsets.links import _compact_type, link_types_of
from jiraplug.plugins.toolsets.projects import _compact_component, _compact_project, _values, compact_version
from jiraplug.plugins.toolsets.users import compact_user
from jiraplug.plugins.toolsets.worklogs import _worklog
from jiraplug.tool_errors import UserFacingError
from tests.spec_contract import CLOUD_AGILE, CLOUD_PLATFORM, spec_document

BASE = "https://jira.example"
WRONG = [None, "", "text", "{}", 0, -1, 7, 1.5, True, False, [], [1, "x"], [{}], {}, {"x": 1}, {"type": "doc"}]


def _issue(body: Any) -> Any:
    return compact_issue(body, BASE), latest_from_expand(body.get("changelog"), 50).summary()


def _offset(items_key: str, each: Callable[[Any], Any]) -> Callable[[Any], Any]:
    def decode(body: Any) -> Any:
        page = decode_offset_page(body, items_key, 0, 50)
        return [each(item) for item in page.items]
    return decode


def _search(decode: Callable[[Any], Any]) -> Callable[[Any], Any]:
    return lambda body: [compact_issue({**issue, "names": decode(body).names}, BASE) for issue in decode(body).issues]


def _fields(body: Any) -> Any:
    items = [item for item in body if isinstance(item, dict) and "id" in item] if isinstance(body, list) else []
    catalog = FieldCatalog([FieldInfo.from_json(item) for item in items])
    return catalog.ids_for(["summary", "customfield_10016", "-comment", *(f.name.upper() for f in catalog.fields[:3])])


def _changelog(body: Any) -> Any:
    return history_entries(decode_changelog_page(body, "PLAT-1")["values"])


def _link_types(body: Any) -> Any:
    return [_compact_type(item) for item in link_types_of(body)]


DECODERS: dict[str, Callable[[Any], Any]] = {
    "issue": _issue,
    "search.cloud": _search(decode_cloud_search),
    "search.dc": _search(lambda body: decode_dc_search(body, 0)),
    "changelog": _changelog,
    "fields": _fields,
    "link_types": _link_types,
    "projects": lambda body: [_compact_project(p) for p in _values(body, "values")],
    "versions": lambda body: [compact_version(v) for v in _values(body, "values")],
    "components": lambda body: [_compact_component(c) for c in _values(body, "values")],
    "users": lambda body: [compact_user(u) for u in _values(body, "values")],
    "attachment": compact_attachment,
    "comments": _offset("comments", _comment),
    "worklogs": _offset("worklogs", _worklog),
    "boards": _offset("values", _compact_board),
    "sprints": _offset("values", _compact_sprint),
    "sprint": _compact_sprint,
    "board_issues": _offset("issues", lambda issue: compact_issue(issue, BASE) if isinstance(issue, dict) else None),
}

# (decoder, spec file, path, method): the spec's own example answers.
SPEC_EXAMPLES = [
    ("issue", CLOUD_PLATFORM, "/rest/api/3/issue/{issueIdOrKey}", "get"),
    ("search.cloud", CLOUD_PLATFORM, "/rest/api/3/search/jql", "post"),
    ("changelog", CLOUD_PLATFORM, "/rest/api/3/issue/{issueIdOrKey}/changelog", "get"),
    ("fields", CLOUD_PLATFORM, "/rest/api/3/field", "get"),
    ("link_types", CLOUD_PLATFORM, "/rest/api/3/issueLinkType", "get"),
    ("projects", CLOUD_PLATFORM, "/rest/api/3/project/search", "get"),
    ("versions", CLOUD_PLATFORM, "/rest/api/3/project/{projectIdOrKey}/versions", "get"),
    ("components", CLOUD_PLATFORM, "/rest/api/3/project/{projectIdOrKey}/components", "get"),
    ("users", CLOUD_PLATFORM, "/rest/api/3/user/search", "get"),
    ("attachment", CLOUD_PLATFORM, "/rest/api/3/attachment/{id}", "get"),
    ("comments", CLOUD_PLATFORM, "/rest/api/3/issue/{issueIdOrKey}/comment", "get"),
    ("worklogs", CLOUD_PLATFORM, "/rest/api/3/issue/{issueIdOrKey}/worklog", "get"),
    ("boards", CLOUD_AGILE, "/rest/agile/1.0/board", "get"),
    ("sprints", CLOUD_AGILE, "/rest/agile/1.0/board/{boardId}/sprint", "get"),
    ("sprint", CLOUD_AGILE, "/rest/agile/1.0/sprint/{sprintId}", "get"),
    ("board_issues", CLOUD_AGILE, "/rest/agile/1.0/board/{boardId}/issue", "get"),
]

# (decoder, flavours, path on the sandbox): the sandbox's answers, which follow real Jira's.
SANDBOX_READS = [
    ("issue", "cloud dc", "{api}/issue/PLAT-2?expand=names,changelog&fields=*all"),
    ("search.dc", "dc", "/rest/api/2/search?jql=project%20%3D%20PLAT&fields=*all&maxResults=5"),
    ("changelog", "cloud", "{api}/issue/PLAT-2/changelog"),
    ("fields", "cloud dc", "{api}/field"),
    ("link_types", "cloud dc", "{api}/issueLinkType"),
    ("projects", "cloud", "{api}/project/search"),
    ("projects", "dc", "{api}/project"),
    ("versions", "cloud dc", "{api}/project/PLAT/versions"),
    ("components", "cloud dc", "{api}/project/PLAT/components"),
    ("comments", "cloud dc", "{api}/issue/PLAT-2/comment"),
    ("worklogs", "cloud dc", "{api}/issue/PLAT-2/worklog"),
    ("boards", "cloud dc", "/rest/agile/1.0/board"),
    ("board_issues", "cloud dc", "/rest/agile/1.0/board/1/issue?maxResults=5"),
]


def spec_bodies() -> list[tuple[str, Any]]:
    found = []
    for decoder, spec, path, method in SPEC_EXAMPLES:
        content = spec_document(spec)["paths"][path][method]["responses"]["200"]["content"]["application/json"]
        found.append((decoder, json.loads(content["example"])))
    return found


def sandbox_bodies(sandbox: Any) -> list[tuple[str, Any]]:
    user = sandbox.default_user
    cloud = sandbox.flavour == "cloud"
    headers = {} if cloud else {"Authorization": f"Bearer {user.personal_token}"}
    auth = (user.email, user.api_token) if cloud else None
    found = []
    with httpx2.Client(base_url=sandbox.url, auth=auth, headers=headers) as http:
        for decoder, flavours, path in SANDBOX_READS:
            if sandbox.flavour in flavours.split():
                response = http.get(path.format(api="/rest/api/3" if cloud else "/rest/api/2"))
                assert response.status_code == 200, (path, response.text[:200])
                found.append((decoder, response.json()))
    return found


@pytest.fixture(scope="module")
def bodies(cloud_sandbox: Any, dc_sandbox: Any) -> list[tuple[str, Any]]:
    return spec_bodies() + sandbox_bodies(cloud_sandbox) + sandbox_bodies(dc_sandbox)


def _paths(value: Any, here: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a JSON value (not the root), depth first."""
    found = []
    children = value.items() if isinstance(value, dict) else enumerate(value) if isinstance(value, list) else ()
    for key, child in children:
        found.append((*here, key))
        found.extend(_paths(child, (*here, key)))
    return found


def _replace(value: Any, path: tuple[Any, ...], new: Any) -> Any:
    if not path:
        return new
    head, rest = path[0], path[1:]
    if isinstance(value, dict):
        return {**value, head: _replace(value[head], rest, new)}
    copy = list(value)
    copy[head] = _replace(value[head], rest, new)
    return copy


def _at(value: Any, path: tuple[Any, ...]) -> Any:
    for key in path:
        value = value[key]
    return value


@st.composite
def mutated(draw: st.DrawFn, bodies: list[tuple[str, Any]]) -> tuple[str, Any]:
    decoder, body = draw(st.sampled_from(bodies))
    for _ in range(draw(st.integers(1, 4))):
        paths = _paths(body)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        old = _at(body, path)
        new = draw(st.sampled_from(WRONG).filter(lambda v, old=old: type(v) is not type(old)))
        body = _replace(body, path, new)
    return decoder, body


def test_the_real_shaped_bodies_decode(bodies: list[tuple[str, Any]]) -> None:
    """Unmutated, every body decodes without error (the property below starts from working input)."""
    assert {decoder for decoder, _ in bodies} == set(DECODERS)
    for decoder, body in bodies:
        DECODERS[decoder](body)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture,
                                                                   HealthCheck.too_slow])
@given(data=st.data())
def test_decoders_never_fail_with_an_internal_error(bodies: list[tuple[str, Any]], data: st.DataObject) -> None:
    decoder, body = data.draw(mutated(bodies))
    try:
        DECODERS[decoder](body)
    except UserFacingError:
        pass  # a clear error naming the endpoint: allowed
