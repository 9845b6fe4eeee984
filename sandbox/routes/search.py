"""Search endpoints.

- Cloud: ``GET``/``POST /rest/api/{2,3}/search/jql`` (enhanced search, ``nextPageToken``
  pagination, ids only by default), ``POST .../search/approximate-count``; the legacy
  ``/rest/api/{2,3}/search`` answers 410 Gone.
- Data Center: ``GET``/``POST /rest/api/2/search`` with ``startAt``/``maxResults``/``total``;
  ``validateQuery=false`` answers a query's problems as ``warningMessages`` (``maxResults=0``
  with the default ``validateQuery=true`` is how JQL is validated on DC).
"""

from __future__ import annotations

import base64
import hashlib
from typing import Any

from jiraplug.sandbox.fields import FieldSelection, parse_field_selection
from jiraplug.sandbox.jql_eval import UNBOUNDED_MESSAGE, compile_query
from jiraplug.sandbox.model import Issue
from jiraplug.sandbox.routes.issue import expand_set
from jiraplug.sandbox.web import Call, JiraError, api, json_response, not_found_uri, param_list
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes", "LEGACY_SEARCH_GONE"]

LEGACY_SEARCH_GONE = ("The requested API has been removed. Please migrate to the /rest/api/3/search/jql API. "
                      "A full migration guideline is available at "
                      "https://developer.atlassian.com/changelog/#CHANGE-2046")

_CLOUD_BODY_KEYS = ("expand", "fields", "fieldsByKeys", "jql", "maxResults", "nextPageToken", "properties",
                    "reconcileIssues")
_DC_BODY_KEYS = ("jql", "startAt", "maxResults", "validateQuery", "fields", "expand", "properties",
                 "fieldsByKeys")
_CLOUD_DEFAULT_PAGE = 50
_CLOUD_MAX_PAGE = 100
_CLOUD_MAX_IDS_PAGE = 5000
_DC_DEFAULT_PAGE = 50
_DC_MAX_PAGE = 1000


# --------------------------------------------------------------------------- helpers


def _reject_unknown(body: dict[str, Any], known: tuple[str, ...], bean: str) -> None:
    for name in body:
        if name not in known:
            listed = ", ".join(f'"{k}"' for k in sorted(known))
            raise JiraError(400, f'Unrecognized field "{name}" (class {bean}), not marked as ignorable '
                                 f"({len(known)} known properties: {listed})")


def _int(value: Any, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    if isinstance(value, bool):
        raise JiraError(400, f"The '{name}' parameter must be an integer.")
    try:
        return int(value)
    except (TypeError, ValueError):
        raise JiraError(400, f"The '{name}' parameter must be an integer, got '{value}'.") from None


def _str_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return value
    raise JiraError(400, f"The '{name}' property must be a list of strings.")


def _issues_json(call: Call, issues: list[Issue], selection: FieldSelection, expand: set[str],
                 bare_allowed: bool) -> list[dict[str, Any]]:
    if bare_allowed and selection.bare:
        return [{"id": str(i.id)} for i in issues]
    return [call.render.issue(i, selection, expand) for i in issues]


def _matches(call: Call, jql: str, *, require_bounded: bool, warnings: list[str] | None = None) -> list[Issue]:
    """The matching issues in order; with ``warnings`` (DC's ``validateQuery=false``), the query's
    problems are appended there instead of answering 400."""
    compiled = compile_query(jql, call.store, call.user, call.flavour, strict=warnings is None)
    if require_bounded and not compiled.bounded:
        raise JiraError(400, UNBOUNDED_MESSAGE)
    if warnings is not None:
        warnings.extend(compiled.warnings)
    with call.store.lock:
        found = [i for i in call.store.visible_issues(call.user) if compiled.predicate(i)]
    compiled.sort(found)
    return found


# --------------------------------------------------------------------------- cloud


def _token_digest(call: Call, jql: str) -> str:
    raw = f"{call.ctx.seed}|{call.user.account_id}|{jql}".encode()
    return hashlib.sha256(raw).hexdigest()[:16]


def _encode_token(call: Call, jql: str, offset: int) -> str:
    raw = f"{offset}:{_token_digest(call, jql)}".encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_token(call: Call, jql: str, token: str | None) -> int:
    if not token:
        return 0
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        offset_text, digest = raw.split(":", 1)
        offset = int(offset_text)
    except (ValueError, UnicodeDecodeError):
        offset, digest = -1, ""
    if offset < 0 or digest != _token_digest(call, jql):
        raise JiraError(400, "The provided nextPageToken is invalid or has expired.")
    return offset


def _cloud_search(call: Call, jql: str, token: str | None, max_results: int | None, fields: list[str],
                  expand: set[str]) -> Response:
    selection = parse_field_selection(fields, call.flavour, "id")
    cap = _CLOUD_MAX_IDS_PAGE if selection.ids_only else _CLOUD_MAX_PAGE
    size = _CLOUD_DEFAULT_PAGE if max_results is None else max_results
    if size < 1:
        raise JiraError(400, f"The 'maxResults' parameter must be between 1 and {cap}.")
    size = min(size, cap)
    found = _matches(call, jql, require_bounded=True)
    offset = _decode_token(call, jql, token)
    page = found[offset: offset + size]
    next_offset = offset + len(page)
    body: dict[str, Any] = {"issues": _issues_json(call, page, selection, expand, bare_allowed=True)}
    if "names" in expand:
        body["names"] = call.render.names(selection.ids)
    if "schema" in expand:
        body["schema"] = call.render.schema(selection.ids)
    is_last = next_offset >= len(found)
    if not is_last:
        body["nextPageToken"] = _encode_token(call, jql, next_offset)
    body["isLast"] = is_last
    return json_response(body)


@api
async def search_jql_get(call: Call) -> Response:
    """``GET /rest/api/{v}/search/jql`` (Cloud)."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    params = call.request.query_params
    max_results = params.get("maxResults")
    return _cloud_search(call, params.get("jql", ""), params.get("nextPageToken"),
                         None if max_results is None else _int(max_results, "maxResults", _CLOUD_DEFAULT_PAGE),
                         param_list(call.request, "fields"), expand_set(params.getlist("expand")))


@api
async def search_jql_post(call: Call) -> Response:
    """``POST /rest/api/{v}/search/jql`` (Cloud); unknown body properties are rejected."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    body = await call.json_body()
    _reject_unknown(body, _CLOUD_BODY_KEYS, "com.atlassian.jira.rest.v2.search.SearchAndReconcileRequestBean")
    jql = body.get("jql") or ""
    if not isinstance(jql, str):
        raise JiraError(400, "The 'jql' property must be a string.")
    token = body.get("nextPageToken")
    if token is not None and not isinstance(token, str):
        raise JiraError(400, "The 'nextPageToken' property must be a string.")
    max_results = body.get("maxResults")
    expand = body.get("expand")
    expand_values = _str_list(expand, "expand")
    return _cloud_search(call, jql, token,
                         None if max_results is None else _int(max_results, "maxResults", _CLOUD_DEFAULT_PAGE),
                         _str_list(body.get("fields"), "fields"), expand_set(expand_values))


@api
async def approximate_count(call: Call) -> Response:
    """``POST /rest/api/{v}/search/approximate-count`` (Cloud): ``{"count": n}``."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    body = await call.json_body()
    _reject_unknown(body, ("jql",), "com.atlassian.jira.rest.v2.search.JQLCountRequestBean")
    jql = body.get("jql") or ""
    return json_response({"count": len(_matches(call, str(jql), require_bounded=True))})


# --------------------------------------------------------------------------- legacy / DC


def _dc_search(call: Call, jql: str, start_at: int, max_results: int, fields: list[str],
               expand: set[str], validate: bool = True) -> Response:
    if start_at < 0:
        raise JiraError(400, "The 'startAt' parameter must be a non-negative integer.")
    if max_results < 0:
        raise JiraError(400, "The 'maxResults' parameter must be a non-negative integer.")
    max_results = min(max_results, _DC_MAX_PAGE)
    selection = parse_field_selection(fields, call.flavour, "*navigable")
    warnings: list[str] | None = None if validate else []
    found = _matches(call, jql, require_bounded=False, warnings=warnings)
    page = found[start_at: start_at + max_results]
    body: dict[str, Any] = {"expand": "schema,names", "startAt": start_at, "maxResults": max_results,
                            "total": len(found)}
    if warnings:
        body["warningMessages"] = warnings
    if "names" in expand:
        body["names"] = call.render.names(selection.ids)
    if "schema" in expand:
        body["schema"] = call.render.schema(selection.ids)
    body["issues"] = _issues_json(call, page, selection, expand, bare_allowed=False)
    return json_response(body)


def _gone() -> Response:
    return JiraError(410, LEGACY_SEARCH_GONE).response()


@api
async def search_get(call: Call) -> Response:
    """``GET /rest/api/{v}/search``: 410 on Cloud, the classic search on Data Center."""
    if call.flavour == "cloud":
        return _gone()
    params = call.request.query_params
    return _dc_search(call, params.get("jql", ""), _int(params.get("startAt"), "startAt", 0),
                      _int(params.get("maxResults"), "maxResults", _DC_DEFAULT_PAGE),
                      param_list(call.request, "fields"), expand_set(params.getlist("expand")),
                      _flag(params.get("validateQuery"), "validateQuery"))


def _flag(value: Any, name: str) -> bool:
    """A ``validateQuery`` value (query string or body); absent means true."""
    if value is None or isinstance(value, bool):
        return value is not False
    if str(value).lower() in ("true", "false"):
        return str(value).lower() == "true"
    raise JiraError(400, f"The '{name}' parameter must be true or false, got '{value}'.")


@api
async def search_post(call: Call) -> Response:
    """``POST /rest/api/{v}/search``: 410 on Cloud, the classic search on Data Center."""
    if call.flavour == "cloud":
        return _gone()
    body = await call.json_body()
    _reject_unknown(body, _DC_BODY_KEYS, "com.atlassian.jira.rest.v2.search.SearchRequestBean")
    jql = body.get("jql") or ""
    if not isinstance(jql, str):
        raise JiraError(400, "The 'jql' property must be a string.")
    return _dc_search(call, jql, _int(body.get("startAt"), "startAt", 0),
                      _int(body.get("maxResults"), "maxResults", _DC_DEFAULT_PAGE),
                      _str_list(body.get("fields"), "fields"),
                      expand_set(_str_list(body.get("expand"), "expand")),
                      _flag(body.get("validateQuery"), "validateQuery"))


def routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/rest/api/{version}/search/jql", search_jql_get, methods=["GET"]),
        Route("/rest/api/{version}/search/jql", search_jql_post, methods=["POST"]),
        Route("/rest/api/{version}/search/approximate-count", approximate_count, methods=["POST"]),
        Route("/rest/api/{version}/search", search_get, methods=["GET"]),
        Route("/rest/api/{version}/search", search_post, methods=["POST"]),
    ]
