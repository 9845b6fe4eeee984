"""Authentication: who is calling, and the 401 Jira answers when nobody (valid) is.

Cloud accepts ``Basic base64(email:api_token)`` and ``Bearer <token>`` (the API token or
the personal token, standing in for an OAuth 2.0 access token). Data Center accepts
``Bearer <personal access token>`` and ``Basic base64(username:password)`` where the
sandbox password is the user's ``api_token``.
"""

from __future__ import annotations

import base64
import binascii
import hmac
from dataclasses import dataclass

from jiraplug.sandbox.model import SandboxUser
from jiraplug.sandbox.store import Store
from jiraplug.sandbox.web import error_body, json_response
from starlette.responses import PlainTextResponse, Response

__all__ = ["AuthResult", "authenticate", "unauthorized"]

CLOUD_401_TEXT = "Client must be authenticated to access this resource."
DC_401_MESSAGE = "You are not authenticated. Authentication required to perform this operation."


@dataclass(frozen=True, slots=True)
class AuthResult:
    """The caller, or why there is none (``"missing"`` or ``"invalid"``)."""

    user: SandboxUser | None
    reason: str = ""


def _same(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())


def _basic(value: str) -> tuple[str, str] | None:
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    login, sep, secret = decoded.partition(":")
    return (login, secret) if sep else None


def authenticate(authorization: str | None, store: Store, flavour: str) -> AuthResult:
    """Resolve an ``Authorization`` header value to a sandbox user."""
    if not authorization or not authorization.strip():
        return AuthResult(None, "missing")
    scheme, _, credentials = authorization.strip().partition(" ")
    scheme = scheme.lower()
    user: SandboxUser | None = None
    if scheme == "basic":
        pair = _basic(credentials)
        if pair is not None:
            login, secret = pair
            for candidate in store.users:
                ident = candidate.email.casefold() if flavour == "cloud" else candidate.name.casefold()
                if login.casefold() == ident and _same(secret, candidate.api_token):
                    user = candidate
                    break
    elif scheme == "bearer":
        token = credentials.strip()
        for candidate in store.users:
            tokens = (candidate.api_token, candidate.personal_token) if flavour == "cloud" \
                else (candidate.personal_token,)
            if token and any(_same(token, t) for t in tokens):
                user = candidate
                break
    if user is None or not user.active:
        return AuthResult(None, "invalid")
    return AuthResult(user)


def unauthorized(flavour: str, reason: str, base_url: str) -> Response:
    """Jira's 401: plain text on Cloud, JSON (plus Seraph headers) on Data Center."""
    if flavour == "cloud":
        return PlainTextResponse(CLOUD_401_TEXT, status_code=401)
    headers = {"WWW-Authenticate": f'OAuth realm="{base_url}"', "X-AUSERNAME": "anonymous"}
    if reason == "invalid":
        headers["X-Seraph-LoginReason"] = "AUTHENTICATED_FAILED"
    return json_response(error_body([DC_401_MESSAGE]), 401, headers)
