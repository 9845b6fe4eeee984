"""The outgoing-request middleware chain.

A *send* function takes an ``httpx2.Request`` and returns an ``httpx2.Response``. A
middleware wraps one send into another: ``wrap(send) -> send``. Plugins return
middleware from the ``jira_request_middleware`` hook; :func:`compose` stacks them around
the real transport, outermost first, and isolates each so that a plugin bug costs that
plugin's behaviour for one request, not the request itself.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
import httpx2

from jiraplug import chain
from jiraplug.chain import ReportError
from jiraplug.tool_errors import UserFacingError

Send = Callable[[httpx2.Request], Awaitable[httpx2.Response]]
JiraMiddleware = Callable[[Send], Send]

EXTENSION_KEY = "jiraplug"

UNANSWERED_ATTEMPT_KEY = "jiraplug.unanswered_attempt"
"""Response extension a retrying middleware sets (to True) when an earlier attempt of the
same request reached Jira but got no usable answer (a dropped connection, a timeout, a 5xx):
that attempt may have been applied, so a 404 to a retried DELETE may mean it already worked."""


ATTEMPTS_KEY = "jiraplug.attempts"
"""Request extension: the transport appends one :class:`Attempt` per exchange with Jira, so
a middleware outside a retrying one still sees every attempt (see :func:`attempts_of`)."""


@dataclass(frozen=True)
class Attempt:
    """One real exchange with Jira: its HTTP status, or ``None`` when no answer came."""

    status: int | None

    @property
    def failed(self) -> bool:
        """No answer, a server error, or Jira pushing back (429)."""
        return self.status is None or self.status >= 500 or self.status == 429


def attempts_of(request: httpx2.Request) -> list[Attempt]:
    """The attempts the transport has made for ``request`` so far (retries included)."""
    return request.extensions.setdefault(ATTEMPTS_KEY, [])


@dataclass(frozen=True)
class RequestInfo:
    """What middleware may want to know about a request beyond its HTTP form.

    ``operation`` names the Jira operation (e.g. ``issue.get``); ``idempotent`` says
    whether repeating the request is safe (GETs, and POSTs that only read, such as a
    JQL search); ``read_only`` whether it changes nothing in Jira; ``credential`` is a
    short fingerprint of the credential in use (never the secret), so caches and rate
    limits can keep users apart; ``touches`` lists what a write changes, for cache
    invalidation, as ``kind:id`` tags: ``issue:PROJ-1``, ``project:PROJ``, ``board:7``,
    ``sprint:12``, ``version:10001``, ``field:*``, ``user:*`` (a tag with ``*`` means
    every object of that kind); a write to an issue implies that searches may change.
    ``fresh`` asks caches to skip their stored answer and fetch anew.
    """

    operation: str
    idempotent: bool
    read_only: bool
    credential: str
    touches: tuple[str, ...] = ()
    fresh: bool = False


def request_info(request: httpx2.Request) -> RequestInfo:
    """The :class:`RequestInfo` attached to ``request`` by the Jira client."""
    info = request.extensions.get(EXTENSION_KEY)
    if not isinstance(info, RequestInfo):
        method = request.method.upper()
        safe = method in {"GET", "HEAD", "OPTIONS"}
        return RequestInfo(f"http.{method.lower()}", idempotent=safe or method in {"PUT", "DELETE"},
                           read_only=safe, credential=credential_fingerprint(request.headers.get("authorization", "")))
    return info


def credential_fingerprint(authorization: str) -> str:
    """A short, non-reversible identifier of a credential (the Authorization header value)."""
    if not authorization:
        return "anonymous"
    return hashlib.sha256(authorization.encode()).hexdigest()[:16]


def compose(middlewares: Sequence[tuple[str, JiraMiddleware]], innermost: Send,
            report: ReportError | None = None) -> Send:
    """Stack ``(plugin, middleware)`` pairs around ``innermost``; the first pair is outermost.

    ``report(plugin, where, exc)`` records a plugin failure (see :mod:`jiraplug.chain`).
    """
    return chain.compose(middlewares, innermost, hook="jira_request_middleware", passes=PASS_THROUGH,
                         recover=_without_the_plugin, report=report, inner_view=_remembering)


# Exceptions that are the request's own outcome, not a plugin bug: they pass through.
PASS_THROUGH: tuple[type[BaseException], ...] = (UserFacingError, httpx2.HTTPError)


async def _without_the_plugin(plugin: str, request: httpx2.Request, inner: Send) -> httpx2.Response:
    # Reuse an answer the plugin already obtained: a write is never sent twice.
    got = request.extensions.get("jiraplug.responses") or []
    return got[-1] if got else await inner(request)


def _remembering(inner: Send) -> Send:
    async def send(request: httpx2.Request) -> httpx2.Response:
        response = await inner(request)
        request.extensions.setdefault("jiraplug.responses", []).append(response)
        return response

    return send
