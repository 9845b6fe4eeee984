"""Per-request Jira credentials on a shared HTTP server.

A team can run one jiraplug over HTTP where every request carries its own Jira
credential, so each person acts as themselves in Jira (their permissions, their cache
partition, their rate-limit budget). The credential travels in ``X-Jira-Authorization``
(``Basic base64(email:token)``, ``Bearer <PAT or OAuth token>``, or ``Token <PAT>``), or in
``Authorization`` itself when the server has no bearer token of its own. ``X-Jira-Url``
may pick another Jira site, but only one on the operator's allow-list: the server is no
open proxy.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import hmac
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from jiraplug.jira.auth import JiraAuth
from jiraplug.settings import ServerSettings
from jiraplug.tool_errors import UserFacingError

AUTH_HEADER = "X-Jira-Authorization"
URL_HEADER = "X-Jira-Url"
OPERATOR_HEADER = "X-Jiraplug-Operator"


@dataclass(frozen=True)
class RequestCredentials:
    """The Jira site and credential one request asked for."""

    site: str
    auth: JiraAuth


def normalise_site(url: str) -> str:
    """``https://Example.atlassian.net/`` -> ``https://example.atlassian.net`` (scheme and host lower-case)."""
    scheme, sep, rest = url.strip().partition("://")
    if not sep or not rest:
        raise UserFacingError(f"{URL_HEADER} {url!r} is not an absolute http(s) URL")
    host, slash, path = rest.partition("/")
    return f"{scheme.lower()}://{host.lower()}{slash}{path}".rstrip("/")


def credentials_from_headers(
    headers: Mapping[str, str], server: ServerSettings, configured_site: str
) -> RequestCredentials | None:
    """The credential a request carries, or ``None`` when it carries none.

    Raises :class:`UserFacingError` for a malformed credential or a site that is not allowed.
    """
    raw = headers.get(AUTH_HEADER.lower())
    if raw is None and server.http_token is None:
        raw = headers.get("authorization")
    site = configured_site
    if headers.get(URL_HEADER.lower()):
        site = normalise_site(headers[URL_HEADER.lower()])
        allowed = {normalise_site(configured_site)} | {normalise_site(u) for u in server.allowed_jira_urls}
        if site not in allowed:
            raise UserFacingError(
                f"{URL_HEADER} names a Jira site this server may not contact; allowed: {', '.join(sorted(allowed))}"
            )
    if not raw:
        return None
    sent_in = AUTH_HEADER if headers.get(AUTH_HEADER.lower()) is not None else "Authorization"
    return RequestCredentials(site=site, auth=dataclasses.replace(parse_authorization(raw), sent_in=sent_in))


def parse_authorization(raw: str) -> JiraAuth:
    """A Jira credential from an Authorization-style header value (never echoed in errors)."""
    scheme, _, value = raw.strip().partition(" ")
    value = value.strip()
    scheme = scheme.lower()
    if scheme == "basic" and value:
        try:
            user, sep, token = base64.b64decode(value, validate=True).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            user, sep, token = "", "", ""
        if sep and user and token:
            return JiraAuth.basic(user, token)
    elif scheme in ("bearer", "token") and value and value.isprintable() and " " not in value:
        return JiraAuth.bearer(value)
    raise UserFacingError(
        f"the {AUTH_HEADER} header must be 'Basic <base64 of email:api-token>', 'Bearer <token>' "
        "or 'Token <personal access token>'"
    )


def is_operator(headers: Any, server: ServerSettings, has_configured_credentials: bool, own_credential: bool) -> bool:
    """Whether a request comes from the server's operator (who may see every user's figures).

    Decided positively, never by what a request leaves out: a request over stdio or in
    memory (``headers`` None: the one user runs the server), a request carrying
    ``server.operator_token`` in ``X-Jiraplug-Operator``, or one the server lends its own
    Jira credential to (a one-person server, by default only on loopback).
    """
    if headers is None:
        return True
    if _carries_operator_token(headers.get(OPERATOR_HEADER.lower()), server):
        return True
    return not own_credential and has_configured_credentials and configured_credentials_allowed(server)


def _carries_operator_token(sent: str | None, server: ServerSettings) -> bool:
    """Whether ``sent`` is the operator token; nothing sent, or no token set, never matches."""
    expected = server.operator_token.get_secret_value() if server.operator_token is not None else ""
    # Settings refuse a blank token; checked here too, so that a missing header can never equal one.
    if not sent or not sent.strip() or not expected.strip():
        return False
    return hmac.compare_digest(sent.encode(), expected.encode())


def configured_credentials_allowed(server: ServerSettings) -> bool:
    """Whether a request without its own credential may use the configured one."""
    if server.allow_configured_credentials is not None:
        return server.allow_configured_credentials
    from jiraplug.server.http_app import is_loopback

    # A server only reachable from this machine serves its operator; a wider one serves others.
    return server.transport != "http" or is_loopback(server.host)
