"""The async Jira REST client.

Every request goes through the middleware chain built from the plugins'
``jira_request_middleware`` hooks (cache, rate limit, retry, profiling...) before it reaches
the HTTP transport; :meth:`JiraClient.request` (and :meth:`~JiraClient.upload`,
:meth:`~JiraClient.download`, which share its path) is the only way to Jira. The client
knows Cloud (REST v3, ADF bodies, enhanced JQL search with ``nextPageToken``) from Data
Center / Server (REST v2, wiki markup, ``startAt`` paging), and gives tools the helpers
that hide the difference: :attr:`~JiraClient.api`, :meth:`~JiraClient.text_to_jira`,
:meth:`~JiraClient.user_ref`, :meth:`~JiraClient.search`, :meth:`~JiraClient.paginate`.
"""

from __future__ import annotations

import copy
import json
import logging
import mimetypes
import re
from collections.abc import Mapping, Sequence
from typing import Any

import anyio
import httpx2

from jiraplug.chain import ReportError
from jiraplug.jira.auth import JiraAuth
from jiraplug.jira.deployment import Deployment, deployment_from_server_info, detect_deployment
from jiraplug.jira.errors import JiraError, JiraUnavailable, error_from_exception, error_from_response
from jiraplug.jira.offload import OffloadLimits, note_read
from jiraplug.jira.middleware import (
    EXTENSION_KEY,
    Attempt,
    JiraMiddleware,
    RequestInfo,
    Send,
    attempts_of,
    compose,
    request_info,
)
from jiraplug.jira.paging import (
    OffsetPage,
    Progress,
    SearchPage,
    cloud_search_body,
    dc_search_params,
    decode_cloud_search,
    decode_dc_search,
    decode_offset_page,
    start_at_from_token,
)
from jiraplug.jira.redirects import RedirectPolicy
from jiraplug.jira.shapes import obj
from jiraplug.jira.status_names import STATUS_NAMES_KEY, StatusNames, has_time_in_status
from jiraplug.jira.transfer import BODY_LIMIT_KEY, REDIRECT_POLICY_KEY, bounded_exchange
from jiraplug.stages import JIRA_REQUEST, PARSE, stage
from jiraplug.tool_errors import UserFacingError

__all__ = [
    "DECODED_KEY",
    "check_text_length",
    "Deployment",
    "JiraClient",
    "OffsetPage",
    "SearchPage",
    "detect_deployment",
    "path_segment",
]

log = logging.getLogger("jiraplug.jira")

DECODED_KEY = "jiraplug.decoded"
"""``response.extensions`` key under which a middleware may store the decoded JSON body."""
_MISSING = object()

AGILE = "/rest/agile/1.0"
FIELD_LIST_TTL_SECONDS = 600.0  # fields are added rarely: re-read the list after this, never per call
SEARCH_PAGE_MAX = 100  # Jira Cloud's cap on issues per search page when fields are requested
_LONG_QUERY = 1500  # JQL longer than this goes in a POST body on Data Center (URL length limits)
_BAD_PATH = re.compile(r"(^|/)\.\.?(/|$)|//|[?#\\\s]|%2[ef]|%5c", re.IGNORECASE)


class JiraClient:
    """Talks to one Jira site with one credential.

    ``base_url`` is the site (``/browse/KEY`` links are built on it); REST calls go to
    ``auth.api_base`` when the credential has one (OAuth 2.0: Atlassian's gateway), else to
    the site. ``deployment`` ``None`` means "ask Jira": ``serverInfo`` is fetched once,
    before the first request.
    """

    def __init__(
        self,
        http: httpx2.AsyncClient,
        *,
        base_url: str,
        deployment: Deployment | None,
        auth: JiraAuth,
        middlewares: Sequence[tuple[str, JiraMiddleware]] = (),
        on_plugin_error: ReportError | None = None,
        text_limits: OffloadLimits = OffloadLimits(),
    ) -> None:
        self._http = http
        self.base_url = base_url.rstrip("/")
        self.api_base = (auth.api_base or self.base_url).rstrip("/")
        self.auth = auth
        self.text_limits = text_limits
        """Text length cap and conversion workers/time limit (the ``[tools]`` settings)."""
        self.redirects = RedirectPolicy.for_site(self.base_url, self.api_base)
        """Where downloads may be redirected: this site, or Atlassian's media hosts at public addresses."""
        # OAuth 2.0 access tokens exist on Cloud only.
        self._deployment = Deployment.CLOUD if auth.scheme == "oauth" else deployment
        self._send: Send = compose(middlewares, self._transport_send, on_plugin_error)
        self._detecting: anyio.Lock | None = None
        self._fields: list[dict[str, Any]] | None = None
        self._field_names: dict[str, str] = {}
        self._field_types: dict[str, str] = {}  # custom field id -> its schema's "custom" type
        self._fields_lock: anyio.Lock | None = None
        self._fields_unavailable = False
        self._fields_at = 0.0
        self._status_names = StatusNames()

    # ------------------------------------------------------------------ deployment

    @property
    def deployment(self) -> Deployment:
        """Cloud or Data Center. Before detection finishes, the guess for an unknown host is DC.

        The guess is safe for paths and bodies: Cloud serves REST v2 (wiki markup) too.
        Call :meth:`ready` first when the difference matters.
        """
        return self._deployment or Deployment.DC

    async def ready(self) -> JiraClient:
        """Make sure the deployment is known, asking ``serverInfo`` once if the URL was ambiguous."""
        if self._deployment is not None:
            return self
        if self._detecting is None:
            self._detecting = anyio.Lock()
        async with self._detecting:
            if self._deployment is None:  # concurrent first calls share one serverInfo request
                response = await self._call("GET", self._url("/rest/api/2/serverInfo"), operation="serverInfo.get",
                                            detect=False)
                info = self._decode(response, "serverInfo.get", None)
                self._deployment = deployment_from_server_info(_json(info, "serverInfo.get"))
                log.info("Jira at %s is %s (serverInfo.deploymentType)", self.base_url, self._deployment.value)
        return self

    @property
    def is_cloud(self) -> bool:
        """Whether the site is Jira Cloud."""
        return self.deployment is Deployment.CLOUD

    @property
    def api(self) -> str:
        """Path prefix of the platform REST API for this deployment."""
        return "/rest/api/3" if self.is_cloud else "/rest/api/2"

    @property
    def agile(self) -> str:
        """Path prefix of the Jira Software (agile) REST API, the same on Cloud and Data Center."""
        return AGILE

    # ------------------------------------------------------------------ formats

    async def text_to_jira(self, markdown: str, *, argument: str = "text") -> Any:
        """Markdown as Jira wants a rich-text body: an ADF document on Cloud, wiki markup on DC.

        ``argument`` names the tool argument in errors. Text longer than
        ``tools.max_text_chars`` is refused; long text is converted off the event loop
        (:func:`~jiraplug.jira.offload.off_loop`).
        """
        from jiraplug.jira import markup
        from jiraplug.jira.offload import INLINE_CHARS, off_loop

        if not isinstance(markdown, str):
            raise TypeError(f"text_to_jira expects Markdown text, got {type(markdown).__name__}")
        check_text_length(markdown, argument, self.text_limits.max_text_chars)
        convert = markup.markdown_to_adf if self.is_cloud else markup.markdown_to_wiki
        if len(markdown) <= INLINE_CHARS:
            return convert(markdown)
        return await off_loop(convert, markdown, what=argument, limits=self.text_limits)

    def text_from_jira(self, value: Any) -> str:
        """Markdown from a Jira rich-text value: an ADF document, wiki markup, or ``None``.

        Synchronous: a tool reading many values renders them together off the event loop
        (``await off_loop(render, ..., what=...)``).
        """
        from jiraplug.jira.compact import render_text

        return render_text(value)

    def user_ref(self, user: str) -> dict[str, str]:
        """How Jira refers to a user in bodies: ``accountId`` on Cloud, ``name`` on Data Center."""
        user = user.strip()
        if not user:
            raise JiraError("a user is required (an accountId on Cloud, a username on Data Center)", status=400)
        return {"accountId": user} if self.is_cloud else {"name": user}

    # ------------------------------------------------------------------ the request path

    async def aclose(self) -> None:
        """Close the HTTP client and its connections."""
        await self._http.aclose()

    def with_auth(self, auth: JiraAuth) -> JiraClient:
        """The same site with another credential (a per-request user on a shared server).

        The copy shares the HTTP connections, the middleware chain and the known
        deployment; what depends on the user (the field list) is its own.
        """
        clone = copy.copy(self)
        clone.auth = auth
        clone.api_base = (auth.api_base or self.base_url).rstrip("/")
        clone.redirects = self.redirects.with_sites((clone.base_url, clone.api_base))
        if auth.scheme == "oauth":
            clone._deployment = Deployment.CLOUD
        clone._detecting = None
        clone._fields, clone._field_names, clone._field_types, clone._fields_lock = None, {}, {}, None
        clone._fields_unavailable = False
        clone._status_names = StatusNames()
        return clone

    async def _transport_send(self, request: httpx2.Request) -> httpx2.Response:
        attempts = attempts_of(request)
        try:
            with stage(JIRA_REQUEST, operation=request_info(request).operation):
                limit = request.extensions.get(BODY_LIMIT_KEY)
                if limit is not None:
                    # The policy travels with the request: a client cloned by with_auth shares this transport.
                    policy = request.extensions.get(REDIRECT_POLICY_KEY) or self.redirects
                    response = await bounded_exchange(self._http, request, limit, policy)
                else:
                    response = await self._http.send(request)
                    await response.aread()
        except Exception:
            attempts.append(Attempt(None))
            raise
        attempts.append(Attempt(response.status_code))
        return response

    async def request(
        self,
        method: str,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        read_only: bool | None = None,
        idempotent: bool | None = None,
        touches: Sequence[str] = (),
        subject: str | None = None,
        fresh: bool = False,
    ) -> Any:
        """Send one request through the middleware chain; return the decoded JSON body.

        ``path`` is absolute on the REST base (``f"{jira.api}/issue/{key}"``). ``read_only``
        defaults to True for GET; ``idempotent`` defaults to True for GET/PUT/DELETE and to
        ``read_only`` otherwise. ``touches`` lists what a write changes (``issue:KEY``...)
        for cache invalidation. ``subject`` (an issue key, say) is named in error messages.
        ``fresh`` asks caches for a new read. Raises :class:`JiraError` for an error status
        and :class:`JiraUnavailable` for network failures. ``None`` for an empty answer.
        """
        response = await self._call(
            method, self._url(path), operation=operation, params=params, json_body=json_body, read_only=read_only,
            idempotent=idempotent, touches=touches, subject=subject, fresh=fresh,
        )
        return self._decode(response, operation, subject)

    async def upload(
        self, path: str, filename: str, content: bytes, *, operation: str, touches: Sequence[str] = ()
    ) -> Any:
        """POST ``content`` as multipart field ``file`` (Jira's attachment upload); the decoded answer.

        Sends ``X-Atlassian-Token: no-check``, which Jira requires against XSRF. Never retried
        blindly: the request is marked neither read-only nor idempotent.
        """
        name = filename.replace("\\", "/").rsplit("/", 1)[-1].strip()
        if not name or not name.isprintable():
            raise JiraError(f"{filename!r} is not a usable file name for an attachment", status=400)
        if not isinstance(content, bytes | bytearray):
            raise TypeError(f"upload content must be bytes, got {type(content).__name__}")
        kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
        response = await self._call(
            "POST", self._url(path), operation=operation, files={"file": (name, bytes(content), kind)},
            headers={"X-Atlassian-Token": "no-check"}, read_only=False, idempotent=False, touches=touches,
            subject=name,
        )
        return self._decode(response, operation, name)

    async def download(self, url_or_path: str, *, operation: str, max_bytes: int) -> tuple[bytes, str]:
        """Fetch binary content (an attachment): ``(bytes, content type)``.

        ``url_or_path`` is a path on the REST base or a URL on the Jira site (the
        ``content`` link of an attachment); any other host is refused. Jira's redirects are
        followed only as :attr:`redirects` allows (this site, or Cloud's media store at a
        public address), and the credential is not sent to another host. A body
        above ``max_bytes`` is refused, from its ``Content-Length`` when announced, else
        as soon as the limit is passed, without reading the rest.
        """
        if max_bytes <= 0:
            raise ValueError(f"max_bytes must be positive, got {max_bytes}")
        response = await self._call(
            "GET", self._download_url(url_or_path), operation=operation, accept="*/*", body_limit=max_bytes,
        )
        return response.content, response.headers.get("content-type", "application/octet-stream")

    async def _call(
        self,
        method: str,
        url: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        files: Mapping[str, Any] | None = None,
        headers: Mapping[str, str] | None = None,
        accept: str = "application/json",
        read_only: bool | None = None,
        idempotent: bool | None = None,
        touches: Sequence[str] = (),
        subject: str | None = None,
        fresh: bool = False,
        body_limit: int | None = None,
        detect: bool = True,
    ) -> httpx2.Response:
        """Build, tag and send one request to ``url``; return the response or raise the mapped error."""
        if detect:
            await self.ready()
        method = method.upper()
        read_only = method == "GET" if read_only is None else read_only
        idempotent = (method in {"GET", "PUT", "DELETE"} or read_only) if idempotent is None else idempotent
        what = f"{operation} {subject}" if subject else operation
        query = {k: v for k, v in (params or {}).items() if v is not None}
        try:
            request = self._http.build_request(
                method,
                url,
                # None, not {}, when there are none: httpx2 would parse the URL again to set an
                # empty query, dropping one the URL carries (a download link's signature, say).
                params=query or None,
                json=json_body,
                files=files,
                headers={"Authorization": self.auth.header, "Accept": accept, **(headers or {})},
            )
        except httpx2.InvalidURL as exc:  # e.g. a query parameter too long for a URL
            raise JiraError(f"cannot send {what}: {exc}; shorten the arguments", status=400) from None
        except UnicodeEncodeError:  # lone surrogates cannot be encoded as UTF-8
            raise JiraError(f"cannot send {what}: the text contains unpaired surrogate characters",
                            status=400) from None
        request.extensions[EXTENSION_KEY] = RequestInfo(
            operation=operation,
            idempotent=idempotent,
            read_only=read_only,
            credential=self.auth.fingerprint,
            touches=tuple(touches),
            fresh=fresh,
        )
        if body_limit is not None:
            request.extensions[BODY_LIMIT_KEY] = body_limit
            request.extensions[REDIRECT_POLICY_KEY] = self.redirects
        try:
            response = await self._send(request)
        except httpx2.HTTPError as exc:
            raise error_from_exception(exc, what, self.base_url) from None
        if response.status_code >= 300:
            if response.status_code == 400 and self._fields is None and "customfield_" in response.text:
                await self._load_field_names()  # so the error can name the custom field Jira rejected
            raise error_from_response(response, what, credential=self.auth.hint, field_names=self._field_names)
        return response

    def _decode(self, response: httpx2.Response, operation: str, subject: str | None) -> Any:
        if response.status_code == 204 or not response.content:
            return None
        note_read(len(response.content))  # a small answer is rendered in place (toolkit.off_loop)
        # A middleware (the cache) may hand over the already-decoded body.
        decoded = response.extensions.get(DECODED_KEY, _MISSING)
        if decoded is not _MISSING:
            return decoded
        try:
            with stage(PARSE, operation=operation):
                return json.loads(response.content)
        except ValueError:
            what = f"{operation} {subject}" if subject else operation
            raise JiraError(
                f"Jira answered {what} with a body that is not JSON (HTTP {response.status_code}, "
                f"{response.headers.get('content-type', 'no content type')}); is JIRA_URL the Jira base URL?",
                status=response.status_code,
            ) from None

    def _url(self, path: str) -> str:
        """The absolute URL of a REST ``path`` (``/rest/api/3/...``) on this Jira."""
        return self.api_base + _checked_path(path)

    def _download_url(self, url_or_path: str) -> str:
        """An absolute URL on this Jira for ``url_or_path``, or a clear refusal."""
        text = url_or_path.strip()
        if not text.startswith(("http://", "https://")):
            return self._url(text)
        url = httpx2.URL(text)
        raw_path, _, query = url.raw_path.decode("ascii").partition("?")
        for base in (self.api_base, self.base_url):
            origin = httpx2.URL(base)
            prefix = origin.raw_path.decode("ascii").rstrip("/")
            same_origin = (url.scheme, url.host, url.port) == (origin.scheme, origin.host, origin.port)
            if same_origin and (not prefix or raw_path.startswith(prefix + "/")):
                # A link on the site is re-homed onto the REST base (Atlassian's gateway under OAuth).
                return self._url(raw_path[len(prefix):]) + (f"?{query}" if query else "")
        raise JiraError(
            f"refusing to download from {url.scheme}://{url.host}{':' + str(url.port) if url.port else ''}: "
            f"only URLs on the Jira site ({self.base_url}) are fetched, so the credential never goes elsewhere",
            status=400,
        )

    # ------------------------------------------------------------------ fields

    async def field_list(self, *, fresh: bool = False) -> list[dict[str, Any]]:
        """Every field of the site (``GET /field``), kept for ``FIELD_LIST_TTL_SECONDS``; ``fresh`` refetches.

        A client serves one credential, so this is one read per credential and TTL.
        """
        if self._fields is not None and not fresh and anyio.current_time() - self._fields_at < FIELD_LIST_TTL_SECONDS:
            return self._fields
        if self._fields_lock is None:
            self._fields_lock = anyio.Lock()
        async with self._fields_lock:
            if self._fields is None or fresh or anyio.current_time() - self._fields_at >= FIELD_LIST_TTL_SECONDS:
                data = await self.request("GET", f"{self.api}/field", operation="field.list", fresh=fresh)
                fields = [item for item in (data or []) if isinstance(item, dict) and "id" in item]
                self._field_names = {str(f["id"]): str(f.get("name") or f["id"]) for f in fields}
                self._field_types = {str(f["id"]): f["schema"]["custom"] for f in fields if isinstance(
                    f.get("schema"), dict) and isinstance(f["schema"].get("custom"), str)}
                self._fields, self._fields_at = fields, anyio.current_time()
        return self._fields

    async def _load_field_names(self) -> None:
        if self._fields is not None or self._fields_unavailable:
            return
        try:
            await self.field_list()
        except (JiraError, JiraUnavailable) as exc:  # names are a nicety: never fail a call for them
            self._fields_unavailable = True  # and do not ask again on every call
            log.info("field list unavailable (%s); custom fields keep their ids", exc)

    @property
    def field_names(self) -> dict[str, str]:
        """Field id -> name, once :meth:`field_list` has run (empty before)."""
        return self._field_names

    @property
    def field_types(self) -> dict[str, str]:
        """Custom field id -> its schema's ``custom`` type, once :meth:`field_list` has run (empty before)."""
        return self._field_types

    def schema_for(self, issues: Sequence[Mapping[str, Any]], known: Any = None) -> dict[str, Any]:
        """The custom fields of ``issues`` as ``expand=schema`` describes them, from the field list once read.

        ``known`` (Jira's own ``schema`` expansion, when asked for) wins. Renderers tell
        Service Management and app values apart by these types.
        """
        present = {fid for issue in issues for fid in obj(issue.get("fields")) if fid in self._field_types}
        return {**{fid: {"custom": self._field_types[fid]} for fid in present}, **obj(known)}

    async def names_for(self, issues: Sequence[Mapping[str, Any]], known: Mapping[str, str]) -> dict[str, str]:
        """Names of the custom fields in ``issues``, loading the field list once if needed.

        For issues read through other APIs than :meth:`get_issue` and :meth:`search` (the agile API).
        """
        wanted = {name for issue in issues for name, value in (issue.get("fields") or {}).items()
                  if name.startswith("customfield_") and value not in (None, [], "")}
        if not wanted or wanted <= set(known):
            return dict(known)
        await self._load_field_names()
        return {**{k: self._field_names[k] for k in wanted if k in self._field_names}, **known}

    async def status_names_for(self, issues: Sequence[Mapping[str, Any]]) -> dict[str, str]:
        """Status id -> name when ``issues`` carry Time in Status (read once per credential), else ``{}``."""
        if not has_time_in_status(issues, self._field_types):
            return {}
        return await self._status_names.get(
            lambda: self.request("GET", f"{self.api}/status", operation="status.list"))

    # ------------------------------------------------------------------ operations

    async def server_info(self) -> dict[str, Any]:
        """``GET /serverInfo``: version, deployment type, base URL."""
        return await self.request("GET", f"{self.api}/serverInfo", operation="serverInfo.get")

    async def myself(self) -> dict[str, Any]:
        """The user the credential belongs to."""
        return await self.request("GET", f"{self.api}/myself", operation="myself.get")

    async def get_issue(
        self,
        key: str,
        *,
        fields: Sequence[str] | None = None,
        expand: Sequence[str] | None = None,
        fresh: bool = False,
    ) -> dict[str, Any]:
        """One issue by key or id. Its custom fields get their names under ``"names"``, types under ``"schema"``."""
        await self.ready()
        raw = await self.request(
            "GET",
            f"{self.api}/issue/{path_segment(key)}",
            operation="issue.get",
            params={"fields": _csv(fields), "expand": _csv(expand)},
            subject=key,
            fresh=fresh,
        )
        raw = _json(raw, "issue.get")
        names = await self.names_for([raw], raw.get("names") or {})
        schema = self.schema_for([raw], raw.get("schema"))
        statuses = await self.status_names_for([raw])
        return {**raw, **({"names": names} if names else {}), **({"schema": schema} if schema else {}),
                **({STATUS_NAMES_KEY: statuses} if statuses else {})}

    async def search(
        self,
        jql: str,
        *,
        fields: Sequence[str] | None = None,
        limit: int = 50,
        page_token: str | None = None,
        expand: Sequence[str] | None = None,
        fresh: bool = False,
    ) -> SearchPage:
        """One page of issues matching ``jql``: enhanced search on Cloud, ``startAt`` on DC.

        Each issue with custom fields carries their names under ``"names"``, their types under ``"schema"``.
        """
        if limit < 1:
            raise JiraError(f"limit must be at least 1, got {limit}", status=400)
        await self.ready()
        if self.is_cloud:
            body = cloud_search_body(jql, limit=limit, fields=fields, expand=expand, page_token=page_token)
            data = await self.request(
                "POST", "/rest/api/3/search/jql", operation="search.jql", json_body=body, read_only=True, fresh=fresh,
            )
            page = decode_cloud_search(data)
        else:
            start = start_at_from_token(page_token)
            params = dc_search_params(jql, start_at=start, limit=limit, fields=fields, expand=expand)
            if len(jql) > _LONG_QUERY:  # too long for a URL: the same search as a POST body (lists, not CSV)
                body = {**params, "fields": list(fields) if fields else None, "expand": list(expand) if expand else None}
                data = await self.request("POST", "/rest/api/2/search", operation="search.jql",
                                          json_body={k: v for k, v in body.items() if v is not None},
                                          read_only=True, fresh=fresh)
            else:
                data = await self.request("GET", "/rest/api/2/search", operation="search.jql", params=params,
                                          fresh=fresh)
            page = decode_dc_search(data, start)
        page.names = await self.names_for(page.issues, page.names)
        schema = self.schema_for(page.issues)
        statuses = await self.status_names_for(page.issues)
        if page.names or schema or statuses:
            extra = {**({"names": page.names} if page.names else {}), **({"schema": schema} if schema else {}),
                     **({STATUS_NAMES_KEY: statuses} if statuses else {})}
            page.issues = [{**issue, **extra} for issue in page.issues]
        return page

    async def search_all(
        self,
        jql: str,
        limit: int,
        *,
        fields: Sequence[str] | None = None,
        expand: Sequence[str] | None = None,
        page_token: str | None = None,
        page_size: int = SEARCH_PAGE_MAX,
        progress: Progress | None = None,
    ) -> SearchPage:
        """Up to ``limit`` issues over as many pages as needed, from ``page_token`` on.

        Returns one :class:`SearchPage` holding them all, whose ``next_page_token`` continues
        exactly after the last issue returned. ``progress(done, total_or_None)`` is awaited
        after each page.
        """
        if limit < 1 or page_size < 1:
            raise JiraError(f"limit and page_size must be at least 1 (got {limit}, {page_size})", status=400)
        issues: list[dict[str, Any]] = []
        names: dict[str, str] = {}
        token, total = page_token, None
        while len(issues) < limit:
            page = await self.search(jql, fields=fields, expand=expand, limit=min(page_size, limit - len(issues)),
                                     page_token=token)
            issues.extend(page.issues)
            names.update(page.names)
            token, total = page.next_page_token, page.total if page.total is not None else total
            if progress is not None:
                await progress(len(issues), total)
            if token is None or not page.issues:
                token = None if not page.issues else token
                break
        return SearchPage(issues=issues, next_page_token=token, total=total, names=names)

    async def paginate(
        self,
        path: str,
        *,
        operation: str,
        params: Mapping[str, Any] | None = None,
        items_key: str = "values",
        limit: int = 50,
        start_at: int = 0,
        page_size: int | None = None,
        subject: str | None = None,
        fresh: bool = False,
    ) -> OffsetPage:
        """Up to ``limit`` items of a ``startAt``/``maxResults`` list, from ``start_at`` on.

        Walks pages (Jira caps their size per resource) until ``limit`` items or the end;
        returns the items and the ``startAt`` of what follows (``None`` at the end). For
        agile boards and sprints (``values``), comments (``comments``), worklogs
        (``worklogs``), sprint and board issues (``issues``)...
        """
        if limit < 1 or start_at < 0:
            raise JiraError(f"limit must be at least 1 and start_at at least 0 (got {limit}, {start_at})", status=400)
        items: list[Any] = []
        start, total = start_at, None
        while len(items) < limit:
            asked = limit - len(items) if page_size is None else min(page_size, limit - len(items))
            data = await self.request(
                "GET", path, operation=operation, params={**(params or {}), "startAt": start, "maxResults": asked},
                subject=subject, fresh=fresh,
            )
            page = decode_offset_page(data, items_key, start, asked)
            total = page.total if page.total is not None else total
            room = limit - len(items)
            items.extend(page.items[:room])
            if len(page.items) > room:  # Jira sent more than asked: continue right after what we keep
                return OffsetPage(items, start + room, total)
            if page.next_start_at is None:
                return OffsetPage(items, None, total)
            start = page.next_start_at
        return OffsetPage(items, start, total)


def check_text_length(text: str, argument: str, limit: int) -> None:
    """Refuse text longer than ``limit`` (``tools.max_text_chars``) with an error naming ``argument``.

    Jira keeps at most 32,767 characters in a text field by default; the cap is a few
    times that, so that real text passes and a hostile megabyte is not converted at all.
    """
    if len(text) > limit:
        raise UserFacingError(
            f"{argument} is {len(text):,} characters long; the limit is {limit:,} (tools.max_text_chars). "
            "Jira itself keeps at most 32,767 characters in a comment or description: shorten the text, "
            "or attach it as a file"
        )


def path_segment(value: str) -> str:
    """``value`` (a key or id) as one URL path segment; refuses path tricks with a clear error."""
    value = value.strip()
    if not value or any(ch in value for ch in "/?#\\%") or value in {".", ".."} or not value.isprintable():
        raise JiraError(f"{value!r} is not a valid Jira issue key or id (expected e.g. PROJ-123)", status=400)
    return value


def _checked_path(path: str) -> str:
    if not path.startswith("/") or _BAD_PATH.search(path) or not path.isprintable():
        raise JiraError(f"{path!r} is not a valid Jira REST path", status=400)
    return path


def _csv(values: Sequence[str] | None) -> str | None:
    return ",".join(values) if values else None


def _json(data: Any, operation: str) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise JiraError(f"Jira answered {operation} with {type(data).__name__}, not an object", status=502)
    return data
