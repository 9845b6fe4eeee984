"""Shared HTTP plumbing for the route modules: context, errors, JSON responses, params.

Route handlers are decorated with :func:`api`, which checks the REST version in the
path, turns :class:`JiraError` (and JQL errors) into Jira-shaped JSON, and hands the
handler a :class:`Call` with the authenticated user and a per-request renderer.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from jiraplug.sandbox.jql import JqlError
from jiraplug.sandbox.knobs import FaultInjector
from jiraplug.sandbox.sessions import Sessions
from jiraplug.sandbox.model import Issue, SandboxUser
from jiraplug.sandbox.requestlog import RequestLog
from jiraplug.sandbox.serialize import Renderer
from jiraplug.sandbox.store import Store
from starlette.requests import Request
from starlette.responses import Response

__all__ = [
    "SandboxContext",
    "JiraError",
    "Call",
    "api",
    "json_response",
    "error_body",
    "not_found_uri",
    "param_list",
    "int_param",
    "page_params",
    "USER_STATE_KEY",
    "ISSUE_NOT_FOUND",
]

USER_STATE_KEY = "jiraplug_sandbox_user"
JSON_TYPE = "application/json;charset=UTF-8"
ISSUE_NOT_FOUND = "Issue does not exist or you do not have permission to see it."


@dataclass(slots=True)
class SandboxContext:
    """Everything a request handler may need, shared by one sandbox app."""

    flavour: str
    seed: int
    store: Store
    faults: FaultInjector
    log: RequestLog
    admin: bool = False
    sessions: Sessions = field(default_factory=Sessions)  # Data Center's JSESSIONID cookies

    @property
    def versions(self) -> frozenset[str]:
        """REST API versions this flavour serves (Cloud: 2 and 3; Data Center: 2 and latest)."""
        return frozenset({"2", "3"}) if self.flavour == "cloud" else frozenset({"2", "latest"})


def error_body(messages: list[str] | None = None, errors: Mapping[str, str] | None = None) -> dict[str, Any]:
    """Jira's ``ErrorCollection`` shape."""
    return {"errorMessages": list(messages or []), "errors": dict(errors or {})}


class JiraError(Exception):
    """An error answered in Jira's JSON shape."""

    def __init__(self, status: int, messages: list[str] | str | None = None,
                 errors: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None) -> None:
        self.status = status
        self.messages = [messages] if isinstance(messages, str) else list(messages or [])
        self.errors = dict(errors or {})
        self.headers = dict(headers or {})
        super().__init__(f"{status}: {self.messages or self.errors}")

    def response(self) -> Response:
        """The HTTP response for this error."""
        return json_response(error_body(self.messages, self.errors), self.status, self.headers)


def json_response(body: Any, status: int = 200, headers: Mapping[str, str] | None = None) -> Response:
    """A compact JSON response with Jira's content type."""
    payload = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return Response(payload, status_code=status, headers=dict(headers or {}), media_type=JSON_TYPE)


def not_found_uri(request: Request) -> Response:
    """Jira's answer for a REST path it does not serve."""
    return json_response(error_body([f"null for uri: {request.url}"]), 404)


def param_list(request: Request, name: str) -> list[str]:
    """All values of a repeatable, comma-separable query parameter, flattened."""
    return [part.strip() for value in request.query_params.getlist(name) for part in value.split(",")
            if part.strip()]


def int_param(request: Request, name: str, default: int, *, minimum: int = 0) -> int:
    """An integer query parameter, or a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise JiraError(400, f"The '{name}' parameter must be an integer, got '{raw}'.") from None
    if value < minimum:
        raise JiraError(400, f"The '{name}' parameter must be at least {minimum}, got {value}.")
    return value


def page_params(request: Request, default_size: int, max_size: int) -> tuple[int, int]:
    """``(startAt, maxResults)`` from the query, with Jira's defaults and cap."""
    start = int_param(request, "startAt", 0)
    size = int_param(request, "maxResults", default_size)
    return start, min(size, max_size)


@dataclass(slots=True)
class Call:
    """One API call: the request, the sandbox context, the caller and a renderer."""

    request: Request
    ctx: SandboxContext
    user: SandboxUser
    version: str
    render: Renderer

    @property
    def store(self) -> Store:
        """The data store."""
        return self.ctx.store

    @property
    def flavour(self) -> str:
        """``"cloud"`` or ``"dc"``."""
        return self.ctx.flavour

    async def json_any(self, *, allow_empty: bool = False) -> Any:
        """The request body as any JSON value (``None`` for an empty body if ``allow_empty``)."""
        raw = await self.request.body()
        if not raw.strip():
            if allow_empty:
                return None
            raise JiraError(400, "No content to map due to end-of-input")
        try:
            return json.loads(raw)
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise JiraError(400, f"Unexpected character in request body: {exc}") from None

    async def json_body(self) -> dict[str, Any]:
        """The request body as a JSON object, or a 400 in Jira's shape."""
        body = await self.json_any()
        if not isinstance(body, dict):
            raise JiraError(400, "Can not deserialize instance of the request bean out of a non-object token")
        return body

    def issue(self, id_or_key: str | None = None, *, write: str | None = None) -> Issue:
        """The issue of the path (``{key}``) if the caller may see it (else 404).

        ``write`` names the action for the 403 a read-only user gets, e.g. ``"edit issues"``.
        """
        key = id_or_key if id_or_key is not None else self.request.path_params["key"]
        issue = self.store.get_issue(key, self.user)
        if issue is None:
            raise JiraError(404, ISSUE_NOT_FOUND)
        if write is not None:
            self.require_edit(issue.project_key, write)
        return issue

    def require_edit(self, project_key: str, action: str) -> None:
        """403 unless the caller may change things in ``project_key``."""
        if not self.user.can_edit(project_key):
            raise JiraError(403, f"You do not have permission to {action} in this project.")

    def require_author(self, project_key: str, author: Any, noun: str, action: str) -> None:
        """403 unless the caller may edit ``project_key`` and wrote the ``noun`` (or is an admin)."""
        self.require_edit(project_key, f"{action} {noun}s")
        if author is not self.user and not self.store.is_admin(self.user):
            raise JiraError(403, f"You do not have the permission to {action} this {noun}.")


Handler = Callable[[Call], Awaitable[Response]]


def api(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
    """Wrap a handler: version check, :class:`Call` construction, Jira-shaped errors."""

    @functools.wraps(handler)
    async def endpoint(request: Request) -> Response:
        ctx: SandboxContext = request.app.state.sandbox
        version = request.path_params.get("version", "2")
        if version not in ctx.versions:
            return not_found_uri(request)
        user = request.scope.get("state", {}).get(USER_STATE_KEY)
        if user is None:  # the auth middleware guarantees a user on /rest/ paths
            raise RuntimeError("sandbox route reached without an authenticated user")
        base = str(request.base_url).rstrip("/")
        call = Call(request, ctx, user, version, Renderer(ctx.store, ctx.flavour, version, base, user))
        try:
            return await handler(call)
        except JiraError as exc:
            return exc.response()
        except JqlError as exc:
            return json_response(error_body(exc.messages), 400)

    return endpoint
