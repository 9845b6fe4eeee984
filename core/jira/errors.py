"""Turn Jira's error answers and network failures into messages a person can act on."""

from __future__ import annotations

import json
from typing import Any

import httpx2

from jiraplug.tool_errors import UserFacingError


class JiraError(UserFacingError):
    """Jira answered with an error status. ``status`` is the HTTP status code."""

    def __init__(self, message: str, *, status: int, field_errors: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.field_errors = field_errors or {}


class JiraUnavailable(UserFacingError):
    """Jira could not be reached, or did not answer in time."""


_STATUS_ADVICE = {
    400: "Jira rejected the request",
    401: "Jira did not accept the credentials (check JIRA_USERNAME/JIRA_API_TOKEN or JIRA_PERSONAL_TOKEN)",
    403: "Jira refused: the configured user lacks permission for this",
    404: "Not found in Jira (or the configured user may not see it)",
    405: "Jira does not allow this method here",
    409: "Jira reported a conflict",
    410: "Jira has removed this API",
    413: "The request is too large for Jira",
    415: "Jira did not accept the request's content type",
    429: "Jira is rate limiting requests",
}


def error_from_response(response: httpx2.Response, operation: str) -> JiraError:
    """Build a :class:`JiraError` from an error response, naming rejected fields."""
    status = response.status_code
    messages, field_errors = _parse_body(response)
    head = _STATUS_ADVICE.get(status) or (
        "Jira had an internal error" if status >= 500 else f"Jira answered HTTP {status}"
    )
    message = f"{head} ({status}, {operation})"
    details = [m for m in messages if m] + [f"{name}: {text}" for name, text in field_errors.items()]
    if details:
        message += ": " + "; ".join(details)
    if status == 429 or (status == 503 and "retry-after" in response.headers):
        retry = response.headers.get("retry-after")
        message += f"; retry after {retry} s" if retry else "; retry later"
    elif status >= 500:
        message += "; this is usually temporary, retry later"
    return JiraError(message, status=status, field_errors=field_errors)


def _parse_body(response: httpx2.Response) -> tuple[list[str], dict[str, str]]:
    text = response.text.strip()
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
    messages = [raw_messages] if isinstance(raw_messages, str) else [str(m) for m in raw_messages]
    if isinstance(body.get("message"), str) and not messages:
        messages.append(body["message"])
    raw_errors = body.get("errors") or {}
    field_errors = {str(k): str(v) for k, v in raw_errors.items()} if isinstance(raw_errors, dict) else {}
    return messages, field_errors


def error_from_exception(exc: httpx2.HTTPError, operation: str, base_url: str) -> JiraUnavailable:
    """Describe a transport failure without leaking credentials or internals."""
    host = httpx2.URL(base_url).host
    if isinstance(exc, httpx2.TimeoutException):
        what = "did not answer in time"
    elif isinstance(exc, httpx2.ConnectError):
        what = "could not be reached (connection failed)"
    elif isinstance(exc, httpx2.RemoteProtocolError):
        what = "closed the connection without a complete answer"
    else:
        what = f"could not be reached ({type(exc).__name__})"
    return JiraUnavailable(f"Jira at {host} {what} during {operation}; check the URL and network, then retry")
