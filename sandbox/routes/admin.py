"""Sandbox-only admin endpoints (only mounted when the server runs with ``admin=True``).

- ``GET /__sandbox__/knobs``: the current knobs.
- ``POST /__sandbox__/knobs``: merge a JSON object of knob values into the current knobs.
- ``GET /__sandbox__/log``: the request log as a JSON list.
"""

from __future__ import annotations

import json

from jiraplug.sandbox.web import SandboxContext, error_body, json_response
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]


def _ctx(request: Request) -> SandboxContext:
    return request.app.state.sandbox


async def get_knobs(request: Request) -> Response:
    """The knobs in force."""
    return json_response(_ctx(request).faults.knobs.to_dict())


async def set_knobs(request: Request) -> Response:
    """Merge knob values from the JSON body; 400 on unknown names or bad values."""
    ctx = _ctx(request)
    try:
        values = json.loads(await request.body() or b"{}")
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        return json_response(error_body([f"Body is not JSON: {exc}"]), 400)
    if not isinstance(values, dict):
        return json_response(error_body(["Body must be a JSON object of knob values."]), 400)
    try:
        knobs = ctx.faults.knobs.replace(values)
    except (TypeError, ValueError) as exc:
        return json_response(error_body([str(exc)]), 400)
    ctx.faults.set_knobs(knobs)
    return json_response(knobs.to_dict())


async def get_log(request: Request) -> Response:
    """Every request served so far, oldest first."""
    records = _ctx(request).log.snapshot()
    return json_response([{"method": r.method, "path": r.path, "status": r.status} for r in records])


def routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/__sandbox__/knobs", get_knobs, methods=["GET"]),
        Route("/__sandbox__/knobs", set_knobs, methods=["POST"]),
        Route("/__sandbox__/log", get_log, methods=["GET"]),
    ]
