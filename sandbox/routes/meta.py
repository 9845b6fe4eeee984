"""Instance and metadata endpoints: serverInfo, myself, field."""

from __future__ import annotations

from jiraplug.sandbox.fields import catalogue
from jiraplug.sandbox.serialize import jira_datetime
from jiraplug.sandbox.web import Call, SandboxContext, api, json_response, not_found_uri
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

__all__ = ["routes"]

_CLOUD_VERSION = ("1001.0.0-SNAPSHOT", [1001, 0, 0], 100300)
_DC_VERSION = ("10.3.4", [10, 3, 4], 10030004)


async def server_info(request: Request) -> Response:
    """``GET /rest/api/{v}/serverInfo``: anonymous callers get it too, as from Jira (no ``@api`` user)."""
    ctx: SandboxContext = request.app.state.sandbox
    if request.path_params["version"] not in ctx.versions:
        return not_found_uri(request)
    base = str(request.base_url).rstrip("/")
    version, numbers, build = _CLOUD_VERSION if ctx.flavour == "cloud" else _DC_VERSION
    body = {
        "baseUrl": base,
        "version": version,
        "versionNumbers": numbers,
        "deploymentType": "Cloud" if ctx.flavour == "cloud" else "Server",
        "buildNumber": build,
        "buildDate": "2025-12-01T00:00:00.000+0000",
        "serverTime": jira_datetime(ctx.store.now()),
        "scmInfo": "5c8e4b1f0d9a7e3c2b6f1a0e9d8c7b6a5f4e3d2c",
        "serverTitle": "Jira (jiraplug sandbox)",
    }
    if ctx.flavour == "cloud":
        body["displayUrl"] = base
        body["serverTimeZone"] = "Etc/UTC"
    return json_response(body)


@api
async def myself(call: Call) -> Response:
    """``GET /rest/api/{v}/myself``."""
    return json_response(call.render.myself(call.user))


@api
async def fields(call: Call) -> Response:
    """``GET /rest/api/{v}/field``: system and custom fields."""
    return json_response([f.to_json(call.flavour) for f in catalogue(call.flavour)])


def routes() -> list[Route]:
    """The routes of this module."""
    return [
        Route("/rest/api/{version}/serverInfo", server_info, methods=["GET"]),
        Route("/rest/api/{version}/myself", myself, methods=["GET"]),
        Route("/rest/api/{version}/field", fields, methods=["GET"]),
    ]
