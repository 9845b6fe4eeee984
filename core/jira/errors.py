"""Turn Jira's error answers and network failures into messages a person can act on.

Jira answers errors as ``{"errorMessages": [...] | "...", "errors": {field: message}}``,
sometimes as ``{"message": ...}`` (agile, the OAuth gateway), as plain text (Cloud's 401) or
as an HTML page (a proxy in the way). Every shape becomes one :class:`JiraError` whose text
says what happened, names the fields Jira rejected, and says what to do next. Credentials
are described (``JiraAuth.hint``), never shown.
"""

from __future__ import annotations

import json
import re
import ssl
from collections.abc import Mapping
from typing import Any

import httpx2

from jiraplug.jira.middleware import UNANSWERED_ATTEMPT_KEY
from jiraplug.tool_errors import UserFacingError


class JiraError(UserFacingError):
    """Jira answered with an error status.

    ``status`` is the HTTP status; ``messages`` Jira's ``errorMessages``; ``field_errors``
    its ``errors`` (field id -> message); ``retry_after`` the seconds Jira asked to wait
    (429, some 503s), when it said.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        field_errors: dict[str, str] | None = None,
        messages: list[str] | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.field_errors = field_errors or {}
        self.messages = messages or []
        self.retry_after = retry_after


class JiraUnavailable(UserFacingError):
    """Jira could not be reached, or did not answer in time."""


class ResponseTooLarge(UserFacingError):
    """A download was refused because its body is larger than the limit."""

    def __init__(self, message: str, *, size: int | None, limit: int) -> None:
        super().__init__(message)
        self.size = size
        self.limit = limit


class RedirectRefused(UserFacingError):
    """A download was redirected somewhere it must not go (see :mod:`jiraplug.jira.redirects`)."""


_STATUS_ADVICE = {
    400: "Jira rejected the request",
    401: "Jira did not accept the credentials",
    403: "Jira refused: the configured user lacks permission for this",
    404: "Not found in Jira (or the configured user may not see it)",
    405: "Jira does not allow this method here",
    409: "Jira reported a conflict",
    410: "Jira has removed this API",
    413: "The request is too large for Jira",
    415: "Jira did not accept the request's content type",
    429: "Jira is rate limiting requests",
}

# Removed Cloud APIs (they answer 410) and what replaced them: (path suffix, advice).
_REPLACEMENTS = (
    ("/search", "use POST /rest/api/3/search/jql (enhanced search); if this is Jira Cloud, set JIRA_DEPLOYMENT=cloud"),
    ("/expression/eval", "use POST /rest/api/3/expression/evaluate"),
)


def error_from_response(
    response: httpx2.Response,
    operation: str,
    *,
    credential: str | None = None,
    field_names: Mapping[str, str] | None = None,
) -> JiraError:
    """Build a :class:`JiraError` from an error (or unexpected redirect) response.

    ``operation`` names what was attempted (``issue.get PROJ-1``); ``credential`` describes
    the credential in use, for 401s; ``field_names`` maps field ids to names, so that
    ``customfield_10011`` is also shown as ``Epic Name``.
    """
    status = response.status_code
    messages, field_errors = _parse_body(response)
    if 300 <= status < 400:
        where = response.headers.get("location", "another address")
        return JiraError(
            f"Jira redirected {operation} ({status}) to {_without_query(where)}: check JIRA_URL "
            "(https instead of http? the base URL without a path?)",
            status=status,
        )
    head = _STATUS_ADVICE.get(status) or (
        "Jira had an internal error" if status >= 500 else f"Jira answered HTTP {status}"
    )
    message = f"{head} ({status}, {operation})"
    names = field_names or {}
    details = [m for m in messages if m] + [
        f"{_field_label(name, names)}: {text}" for name, text in field_errors.items()
    ]
    if details:
        message += ": " + "; ".join(details)
    retry_after = _retry_after(response.headers.get("retry-after"))
    if status == 401:
        message = _append(message, _explain_401(response, credential))
    elif status == 403 and credential and "OAuth" in credential:
        message = _append(message, "check that the OAuth app has the scopes this operation needs")
    elif status == 410:
        path = response.request.url.path if response.request is not None else ""
        advice = next((text for suffix, text in _REPLACEMENTS if path.endswith(suffix)), None)
        message = _append(message, advice or "Jira's message names the API to use instead")
    if status == 429 or (status == 503 and retry_after is not None):
        wait = f"retry after {response.headers['retry-after']} s" if retry_after is not None else "retry later"
        reset = response.headers.get("x-ratelimit-reset")
        message = _append(message, wait + (f" (the limit resets at {reset})" if reset else ""))
    elif status >= 500:
        message = _append(message, "this is usually temporary, retry later")
    if status in (404, 409) and response.extensions.get(UNANSWERED_ATTEMPT_KEY):
        message = _append(message, _UNANSWERED_ADVICE.get(_method(response), _UNANSWERED_ADVICE[""]))
    return JiraError(message, status=status, field_errors=field_errors, messages=messages, retry_after=retry_after)


_UNANSWERED_ADVICE = {
    "DELETE": "an earlier attempt of this delete got no answer and may have deleted it already",
    "": "an earlier attempt of this request got no answer and may have been applied already: check before repeating it",
}


def _method(response: httpx2.Response) -> str:
    try:
        return response.request.method.upper()
    except RuntimeError:  # a response built without a request
        return ""


def _append(message: str, advice: str) -> str:
    """Add advice after Jira's own words, punctuated as one readable line."""
    if message.endswith((".", "!")):
        return f"{message} {advice[:1].upper()}{advice[1:]}"
    return f"{message}; {advice}"


def _explain_401(response: httpx2.Response, credential: str | None) -> str:
    used = f"jiraplug sent {credential}" if credential else "check the credential settings"
    # A caller's own credential (a shared server) is fixed in their header, not in the server's settings.
    pat = ("a personal access token ('Bearer <token>' in the same header)" if credential and "caller's" in credential
           else "a personal access token (JIRA_PERSONAL_TOKEN)")
    reason = response.headers.get("x-seraph-loginreason", "")
    if "AUTHENTICATION_DENIED" in reason:
        return (f"{used}; Jira now requires a CAPTCHA for this account after failed logins: log in once "
                f"in a browser, or use {pat}")
    return f"{used}; check that it is current and belongs to a user of this Jira site"


def _field_label(field_id: str, names: Mapping[str, str]) -> str:
    name = names.get(field_id)
    return f"{field_id} ({name})" if name and name != field_id else field_id


def _retry_after(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        seconds = float(value.strip())
    except ValueError:
        return None  # an HTTP date: rare from Jira; shown verbatim, not interpreted
    return max(seconds, 0.0)


def _without_query(url: str) -> str:
    # A redirect target may carry a signed token in its query string.
    return url.split("?", 1)[0]


def _parse_body(response: httpx2.Response) -> tuple[list[str], dict[str, str]]:
    try:
        text = response.text.strip()
    except (UnicodeDecodeError, LookupError, httpx2.ResponseNotRead):
        return [], {}
    if not text:
        return [], {}
    try:
        body: Any = json.loads(text)
    except ValueError:
        # Plain-text errors (Cloud's 401) or HTML error pages: keep a short first line only.
        first = text.splitlines()[0].strip()
        return ([first[:200]] if first and not first.startswith("<") else []), {}
    if not isinstance(body, dict):
        return [], {}
    raw_messages = body.get("errorMessages") or []
    if isinstance(raw_messages, str):
        messages = [raw_messages]
    elif isinstance(raw_messages, list):
        messages = [str(m) for m in raw_messages]
    else:
        messages = []
    for key in ("message", "errorMessage"):
        if isinstance(body.get(key), str) and not messages:
            messages.append(body[key])
    raw_errors = body.get("errors") or {}
    if isinstance(raw_errors, list):  # the bulk operations' shape: {"errors": [{"message": ...}]}
        messages += [str(e["message"]) for e in raw_errors if isinstance(e, dict) and e.get("message")]
    field_errors = {str(k): str(v) for k, v in raw_errors.items()} if isinstance(raw_errors, dict) else {}
    return messages, field_errors


def error_from_exception(exc: httpx2.HTTPError, operation: str, base_url: str) -> JiraUnavailable:
    """Describe a transport failure without leaking credentials or internals."""
    host = httpx2.URL(base_url).host
    if isinstance(exc, httpx2.TimeoutException):
        timeout = _timeout_of(exc)
        within = f" within {timeout:g} s" if timeout else ""
        what = f"did not answer in time{within} (JIRA_TIMEOUT sets the limit)"
    elif isinstance(exc, httpx2.ProxyError):
        proxy = _proxy_named_in(exc)
        what = f"could not be reached through the proxy{proxy} (check JIRA_PROXY / HTTPS_PROXY / NO_PROXY)"
    elif isinstance(exc, httpx2.ConnectError) and _is_certificate_error(exc):
        what = ("presented a TLS certificate that is not trusted: set JIRA_CA_BUNDLE to your CA's PEM file "
                "(or, insecurely, JIRA_SSL_VERIFY=false)")
    elif isinstance(exc, httpx2.ConnectError):
        what = "could not be reached (connection failed)"
    elif isinstance(exc, httpx2.RemoteProtocolError):
        what = "closed the connection without a complete answer"
    elif isinstance(exc, httpx2.TooManyRedirects):
        what = "redirected too many times"
    else:
        what = f"could not be reached ({type(exc).__name__})"
    return JiraUnavailable(f"Jira at {host} {what} during {operation}; check the URL and network, then retry")


def _proxy_named_in(exc: httpx2.ProxyError) -> str:
    match = re.search(r"the proxy (\S+?):? ", str(exc))
    return f" {match.group(1)}" if match else ""


def _timeout_of(exc: httpx2.TimeoutException) -> float | None:
    try:
        timeouts = exc.request.extensions.get("timeout") or {}
    except RuntimeError:  # the exception carries no request
        return None
    key = {httpx2.ConnectTimeout: "connect", httpx2.WriteTimeout: "write", httpx2.PoolTimeout: "pool"}.get(
        type(exc), "read"
    )
    value = timeouts.get(key)
    return float(value) if isinstance(value, (int, float)) else None


def _is_certificate_error(exc: BaseException) -> bool:
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, ssl.SSLCertVerificationError) or "CERTIFICATE_VERIFY_FAILED" in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
