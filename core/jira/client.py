"""The async Jira REST client.

Every request goes through the middleware chain built from the plugins'
``jira_request_middleware`` hooks (cache, rate limit, retry, profiling...) before it reaches
the HTTP transport. The client knows Cloud (REST v3, enhanced JQL search with
``nextPageToken``) from Data Center / Server (REST v2, ``startAt`` paging) and returns one
search shape for both.
"""

from __future__ import annotations

import enum
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx2

from jiraplug.jira.auth import JiraAuth
from jiraplug.jira.errors import JiraError, error_from_exception, error_from_response
from jiraplug.jira.middleware import EXTENSION_KEY, JiraMiddleware, RequestInfo, Send, compose, request_info
from jiraplug.stages import JIRA_REQUEST, PARSE, stage


DECODED_KEY = "jiraplug.decoded"
"""``response.extensions`` key under which a middleware may store the decoded JSON body."""
_MISSING = object()


class Deployment(enum.StrEnum):
    """Which Jira product the client talks to."""

    CLOUD = "cloud"
    DC = "dc"


def detect_deployment(url: str, configured: str = "auto") -> Deployment:
    """``configured`` wins; otherwise ``*.atlassian.net`` (and the OAuth gateway) is Cloud."""
    if configured != "auto":
        return Deployment(configured)
    host = (httpx2.URL(url).host or "").lower()
    cloud = host.endswith(".atlassian.net") or host in {"api.atlassian.com", "api.atlassian.net"}
    return Deployment.CLOUD if cloud else Deployment.DC


@dataclass
class SearchPage:
    """One page of JQL search results, the same shape on Cloud and Data Center.

    ``next_page_token`` is ``None`` on the last page; pass it back to get the next one.
    ``total`` is known on Data Center only.
    """

    issues: list[dict[str, Any]]
    next_page_token: str | None
    total: int | None = None
    names: dict[str, str] = field(default_factory=dict)


class JiraClient:
    """Talks to one Jira site with one credential."""

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        base_url: str,
        deployment: Deployment,
        auth: JiraAuth,
        middlewares: Sequence[tuple[str, JiraMiddleware]] = (),
        host: Any = None,
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self.deployment = deployment
        self.auth = auth
        self._send: Send = compose(middlewares, self._transport_send, host)

    @property
    def api(self) -> str:
        """Path prefix of the platform REST API for this deployment."""
        return "/rest/api/3" if self.deployment is Deployment.CLOUD else "/rest/api/2"

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _transport_send(self, request: httpx2.Request) -> httpx2.Response:
        with stage(JIRA_REQUEST, operation=request_info(request).operation):
            response = await self._http.send(request)
            await response.aread()
        return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: dict[str, Any] | None = None,
        json_body: Any = None,
        read_only: bool | None = None,
        idempotent: bool | None = None,
        touches: Sequence[str] = (),
        subject: str | None = None,
        fresh: bool = False,
    ) -> Any:
        """Send one request through the middleware chain; return the decoded JSON body.

        ``read_only`` defaults to True for GET; ``idempotent`` defaults to True for
        GET/PUT/DELETE and to ``read_only`` otherwise. Raises :class:`JiraError` for an
        error status and :class:`JiraUnavailable` for network failures. ``subject`` (an
        issue key, say) is named in error messages. ``fresh`` asks caches for a new read.
        """
        method = method.upper()
        read_only = method == "GET" if read_only is None else read_only
        idempotent = (method in {"GET", "PUT", "DELETE"} or read_only) if idempotent is None else idempotent
        request = self._http.build_request(
            method,
            path,
            params={k: v for k, v in (params or {}).items() if v is not None},
            json=json_body,
            headers={"Authorization": self.auth.header, "Accept": "application/json"},
        )
        request.extensions[EXTENSION_KEY] = RequestInfo(
            operation=operation,
            idempotent=idempotent,
            read_only=read_only,
            credential=self.auth.fingerprint,
            touches=tuple(touches),
            fresh=fresh,
        )
        what = f"{operation} {subject}" if subject else operation
        try:
            response = await self._send(request)
        except httpx2.HTTPError as exc:
            raise error_from_exception(exc, what, self.base_url) from None
        if response.status_code >= 400:
            raise error_from_response(response, what)
        if response.status_code == 204 or not response.content:
            return None
        # A middleware (the cache) may hand over the already-decoded body.
        decoded = response.extensions.get(DECODED_KEY, _MISSING)
        if decoded is not _MISSING:
            return decoded
        try:
            with stage(PARSE, operation=operation):
                return json.loads(response.content)
        except ValueError:
            raise JiraError(
                f"Jira answered {what} with a body that is not JSON (HTTP {response.status_code}, "
                f"{response.headers.get('content-type', 'no content type')}); is JIRA_URL the Jira base URL?",
                status=response.status_code,
            ) from None

    # ---------------------------------------------------------------- operations

    async def server_info(self) -> dict[str, Any]:
        return await self.request("GET", f"{self.api}/serverInfo", operation="serverInfo.get")

    async def myself(self) -> dict[str, Any]:
        return await self.request("GET", f"{self.api}/myself", operation="myself.get")

    async def get_issue(
        self, key: str, *, fields: Sequence[str] | None = None, expand: Sequence[str] | None = None
    ) -> dict[str, Any]:
        """One issue by key or id."""
        return await self.request(
            "GET",
            f"{self.api}/issue/{_path_segment(key)}",
            operation="issue.get",
            params={"fields": _csv(fields), "expand": _csv(expand)},
            subject=key,
        )

    async def search(
        self,
        jql: str,
        *,
        fields: Sequence[str] | None = None,
        limit: int = 50,
        page_token: str | None = None,
    ) -> SearchPage:
        """One page of issues matching ``jql``: enhanced search on Cloud, ``startAt`` on DC."""
        if self.deployment is Deployment.CLOUD:
            body: dict[str, Any] = {"jql": jql, "maxResults": limit}
            if fields:
                body["fields"] = list(fields)
            if page_token:
                body["nextPageToken"] = page_token
            data = await self.request(
                "POST", "/rest/api/3/search/jql", operation="search.jql", json_body=body, read_only=True
            )
            token = data.get("nextPageToken") if not data.get("isLast", True) else None
            return SearchPage(issues=data.get("issues", []), next_page_token=token or None)
        start = _start_at(page_token)
        data = await self.request(
            "GET",
            "/rest/api/2/search",
            operation="search.jql",
            params={"jql": jql, "startAt": start, "maxResults": limit, "fields": _csv(fields)},
        )
        issues = data.get("issues", [])
        total = data.get("total")
        following = start + len(issues)
        more = issues and (total is None or following < total)
        return SearchPage(issues=issues, next_page_token=str(following) if more else None, total=total)


def _csv(values: Sequence[str] | None) -> str | None:
    return ",".join(values) if values else None


def _path_segment(value: str) -> str:
    """Refuse path tricks in identifiers that go into URL paths."""
    value = value.strip()
    if not value or any(ch in value for ch in "/?#\\%") or value in {".", ".."}:
        raise JiraError(f"{value!r} is not a valid Jira issue key or id (expected e.g. PROJ-123)", status=400)
    return value


def _start_at(page_token: str | None) -> int:
    if not page_token:
        return 0
    if not page_token.isdigit():
        raise JiraError(f"page token {page_token!r} is not valid here (expected the token from a previous page)",
                        status=400)
    return int(page_token)
