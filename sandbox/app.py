"""Assemble the sandbox ASGI application (routes, middleware, error pages)."""

from __future__ import annotations

from jiraplug.sandbox import routes as api
from jiraplug.sandbox.knobs import FaultInjector, Knobs
from jiraplug.sandbox.middleware import AuthMiddleware, FaultMiddleware, RequestLogMiddleware
from jiraplug.sandbox.requestlog import RequestLog
from jiraplug.sandbox.store import Store
from jiraplug.sandbox.web import SandboxContext, error_body, json_response, not_found_uri
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response

__all__ = ["create_app", "FLAVOURS"]

FLAVOURS = ("cloud", "dc")

async def _http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return not_found_uri(request)
    if exc.status_code == 405:
        return Response(status_code=405, headers=dict(exc.headers or {}))
    return json_response(error_body([exc.detail]), exc.status_code)


def create_app(flavour: str = "cloud", seed: int = 1, knobs: Knobs | None = None, *, admin: bool = False,
               log: RequestLog | None = None) -> Starlette:
    """Build a sandbox Jira of ``flavour`` (``"cloud"`` or ``"dc"``) with data from ``seed``.

    The app's ``state.sandbox`` holds the :class:`~jiraplug.sandbox.web.SandboxContext`
    (store, fault injector, request log). ``admin`` mounts ``/__sandbox__/`` endpoints.
    """
    if flavour not in FLAVOURS:
        raise ValueError(f"flavour must be one of {', '.join(FLAVOURS)}, got {flavour!r}")
    if isinstance(seed, bool) or not isinstance(seed, int):
        raise TypeError(f"seed must be an int, got {seed!r}")
    ctx = SandboxContext(flavour=flavour, seed=seed, store=Store.from_seed(seed),
                         faults=FaultInjector(knobs, seed), log=log if log is not None else RequestLog(),
                         admin=admin)
    routes = [route for area in api.AREAS for route in area.routes()]
    if admin:
        routes.extend(api.admin.routes())
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(RequestLogMiddleware, ctx=ctx),
            Middleware(FaultMiddleware, ctx=ctx),
            Middleware(AuthMiddleware, ctx=ctx),
        ],
        exception_handlers={HTTPException: _http_error},
    )
    app.state.sandbox = ctx
    return app
