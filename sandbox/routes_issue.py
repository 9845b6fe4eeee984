"""Issue endpoints: ``GET /rest/api/{v}/issue/{issueIdOrKey}``."""

from __future__ import annotations

from jiraplug.sandbox.fields import parse_field_selection
from jiraplug.sandbox.web import Call, JiraError, api, json_response, param_list
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes", "ISSUE_NOT_FOUND"]

ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


def expand_set(values: list[str]) -> set[str]:
    """Normalise ``expand`` values (comma lists, any case) to a lower-case set."""
    return {part.strip().lower() for value in values for part in value.split(",") if part.strip()}


@api
async def get_issue(call: Call) -> Response:
    """``GET /rest/api/{v}/issue/{issueIdOrKey}`` with ``fields`` and ``expand``."""
    key = call.request.path_params["key"]
    issue = call.store.get_issue(key, call.user)
    if issue is None:
        raise JiraError(404, ISSUE_NOT_FOUND)
    selection = parse_field_selection(param_list(call.request, "fields"), call.flavour, "*all")
    expand = expand_set(call.request.query_params.getlist("expand"))
    return json_response(call.render.issue(issue, selection, expand))


def routes() -> list[Route]:
    """The routes of this module."""
    return [Route("/rest/api/{version}/issue/{key}", get_issue, methods=["GET"])]
