"""Workflow transitions: ``GET``/``POST /rest/api/{v}/issue/{key}/transitions``.

The sandbox workflow (see :data:`~jiraplug.sandbox.reference.WORKFLOW`): To Do -> In Progress
-> In Review -> Done, review may be skipped, and each step can go back. Entering Done sets
a resolution (``fields.resolution`` or "Done"); leaving it clears the resolution. The POST
body may carry ``fields`` and ``update`` (e.g. ``{"comment": [{"add": {"body": ...}}]}``).
"""

from __future__ import annotations

from typing import Any

from jiraplug.sandbox import ops
from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.issue_input import FieldErrors, InputContext, collect_operations, plan_operations
from jiraplug.sandbox.issue_side import parse_side_effects
from jiraplug.sandbox.model import Resolution
from jiraplug.sandbox.web import Call, JiraError, api, json_response
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]

_BODY_KEYS = ("transition", "fields", "update", "historyMetadata", "properties")


def _resolution_meta(call: Call) -> dict[str, Any]:
    return {"required": False, "schema": {"type": "resolution", "system": "resolution"}, "name": "Resolution",
            "key": "resolution", "operations": ["set"], "hasDefaultValue": True,
            "allowedValues": [call.render.resolution(r) for r in call.store.resolutions]}


@api
async def get_transitions(call: Call) -> Response:
    """The transitions the caller may take from the issue's status (none when read-only)."""
    issue = call.issue()
    transitions = call.render.transitions(issue)
    wanted = call.request.query_params.get("transitionId")
    if wanted:
        transitions = [t for t in transitions if t["id"] == wanted]
    expand = call.request.query_params.get("expand", "")
    if "transitions.fields" in expand:
        done = ref.STATUSES[3].id
        for entry in transitions:
            entry["fields"] = {"resolution": _resolution_meta(call)} if entry["to"]["id"] == done else {}
    return json_response({"expand": "transitions", "transitions": transitions})


def _parse_resolution(value: Any) -> Resolution:
    if isinstance(value, dict):
        for resolution in ref.RESOLUTIONS.values():
            if str(value.get("id", "")) == resolution.id or \
                    str(value.get("name", "")).casefold() == resolution.name.casefold():
                return resolution
    raise FieldErrors({"resolution": f"Resolution '{value}' is not valid."})


@api
async def post_transition(call: Call) -> Response:
    """Perform a transition: 204, 400 for an unknown/unavailable id or bad fields."""
    issue = call.issue()
    body = await call.json_body()
    unknown = sorted(set(body) - set(_BODY_KEYS))
    if unknown:
        raise JiraError(400, f'Unrecognized field "{unknown[0]}" in the transition request.')
    wanted = body.get("transition")
    if isinstance(wanted, (str, int)):
        raise JiraError(400, "Can not deserialize instance of TransitionBean out of VALUE_STRING token: "
                             "'transition' must be an object such as {\"id\": \"31\"}")
    if not isinstance(wanted, dict) or not wanted.get("id"):
        raise JiraError(400, "Missing 'transition' identifier")
    call.require_edit(issue.project_key, "transition issues")
    transition_id = str(wanted["id"])
    targets = dict(ref.TRANSITIONS)
    if transition_id not in ref.WORKFLOW.get(issue.status.id, ()):
        raise JiraError(400, f"Transition id '{transition_id}' is not valid for this issue.")
    target = targets[transition_id]
    fields = body.get("fields") or {}
    operations, side = collect_operations(fields, body.get("update"))
    resolution = None
    if isinstance(fields, dict) and "resolution" in fields:
        if target.category.key != "done":
            raise FieldErrors({"resolution": "Field 'resolution' cannot be set. It is not on the appropriate "
                                             "screen, or unknown."})
        resolution = _parse_resolution(fields["resolution"])
    store = call.store
    ctx = InputContext(store, call.flavour, call.render.api_version, call.user, store.project_of(issue),
                       issue.issuetype, issue)
    effects = parse_side_effects(ctx, side)
    plan = plan_operations(ctx, issue, operations, skip=frozenset({"resolution"}))
    with store.lock:
        items = plan.commit()
        ops.transition(store, issue, target, call.user, resolution, items)
        effects.apply(ctx, issue)
    return Response(status_code=204)


def routes() -> list[Route]:
    """The routes of this module."""
    path = "/rest/api/{version}/issue/{key}/transitions"
    return [Route(path, get_transitions, methods=["GET"]), Route(path, post_transition, methods=["POST"])]
