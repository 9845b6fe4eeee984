"""Which outcomes are worth another attempt, and which leave a write's fate unknown.

- Retried: 429, 502, 503, 504 answers and transient transport failures (connection
  errors, timeouts, a connection closed without an answer).
- Never retried: any other status (400, 401, 403, 404... and 500, which is rarely
  transient and on a read is reported as is).
- A write (``RequestInfo.idempotent`` False) is retried only after a 429 or a failure
  before the request left (:data:`NOT_SENT_ERRORS`); after any other failure Jira may
  have acted on it, so it is reported, not repeated.
"""

from __future__ import annotations

import re

import httpx2

RETRY_STATUSES = frozenset({429, 502, 503, 504})

# Transport failures that are usually temporary (and count against the breaker).
TRANSIENT_ERRORS: tuple[type[Exception], ...] = (
    httpx2.TimeoutException,
    httpx2.NetworkError,
    httpx2.RemoteProtocolError,
)

# Failures that happen before any byte of the request reached Jira.
NOT_SENT_ERRORS: tuple[type[Exception], ...] = (httpx2.ConnectError, httpx2.ConnectTimeout, httpx2.PoolTimeout)


def is_pushback(response: httpx2.Response) -> bool:
    """Jira asked us to slow down: a 429, or a 503 that says when to come back."""
    return response.status_code == 429 or (response.status_code == 503 and "retry-after" in response.headers)


def reason_for_exception(exc: BaseException) -> str:
    """A metric-friendly reason, e.g. ``ConnectError`` -> ``connect_error``."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(exc).__name__).lower()


def describe_exception(exc: BaseException) -> str:
    """What a transport failure means for a request that was (perhaps) sent."""
    if isinstance(exc, httpx2.TimeoutException):
        return "the request was sent but Jira did not answer in time"
    if isinstance(exc, httpx2.RemoteProtocolError):
        return "the request was sent but the connection closed without a complete answer"
    return f"the connection failed while the request was being sent or answered ({type(exc).__name__})"


def server_key(url: httpx2.URL) -> str:
    """The Jira site a request goes to (``scheme://host:port``): the breaker's key."""
    port = url.port or (443 if url.scheme == "https" else 80)
    return f"{url.scheme}://{url.host}:{port}"


def display_host(url: httpx2.URL) -> str:
    """Host (and explicit port) for messages; never the user-info part of the URL."""
    return f"{url.host}:{url.port}" if url.port else url.host
