"""Credentials toward Jira: Basic (email or username + API token), PAT (Bearer), OAuth 2.0 (Bearer).

:func:`auth_from_settings` picks the one credential ``[jira]`` configures and refuses, with
one :class:`~jiraplug.errors.ConfigError`, what cannot work (two credentials at once, an
API token without a user, an OAuth token without a cloud id, a token that is not one line
of text). :attr:`JiraAuth.hint` says in words which credential is in use, so that a 401
can be explained without ever showing the secret.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Literal

import httpx2
from pydantic import SecretStr

from jiraplug.errors import ConfigError
from jiraplug.jira.middleware import credential_fingerprint
from jiraplug.settings import JiraSettings

OAUTH_GATEWAY = "https://api.atlassian.com/ex/jira/{cloud_id}"
"""Where OAuth 2.0 (3LO) requests to a Jira Cloud site go."""


@dataclass(frozen=True)
class JiraAuth:
    """An ``Authorization`` header value and what kind it is. ``repr`` never shows the secret.

    ``api_base`` is set when the credential dictates where REST calls go (OAuth 2.0 goes
    through Atlassian's gateway, not the site URL).
    """

    scheme: Literal["basic", "bearer", "oauth"]
    header: str = field(repr=False)
    user: str | None = None
    api_base: str | None = None
    # The request header it came in (a caller's own credential on a shared server), else None: the settings.
    sent_in: str | None = None

    @property
    def fingerprint(self) -> str:
        """Identifies the credential in cache keys and metrics without revealing it."""
        return credential_fingerprint(self.header)

    @property
    def hint(self) -> str:
        """Which credential is in use and where it is configured (no secret)."""
        if self.sent_in is not None:
            kind = f"Basic auth as {self.user!r}" if self.scheme == "basic" else "a Bearer token"
            return f"the caller's own credential ({kind}) from the {self.sent_in} header"
        if self.scheme == "basic":
            return f"Basic auth as {self.user!r} (JIRA_USERNAME + JIRA_API_TOKEN)"
        if self.scheme == "oauth":
            return "an OAuth 2.0 access token (JIRA_OAUTH_ACCESS_TOKEN; it expires after an hour, and needs the scopes)"
        return "a personal access token (JIRA_PERSONAL_TOKEN)"

    @classmethod
    def basic(cls, user: str, token: str) -> JiraAuth:
        """Basic auth: the Cloud account email, or the Data Center username, with its API token/password."""
        encoded = base64.b64encode(f"{user}:{token}".encode()).decode()
        return cls("basic", f"Basic {encoded}", user)

    @classmethod
    def bearer(cls, token: str) -> JiraAuth:
        """A personal access token (Data Center/Server)."""
        return cls("bearer", f"Bearer {token}")

    @classmethod
    def oauth(cls, access_token: str, cloud_id: str) -> JiraAuth:
        """An OAuth 2.0 (3LO) access token for the Cloud site ``cloud_id``, through Atlassian's gateway."""
        return cls("oauth", f"Bearer {access_token}", api_base=OAUTH_GATEWAY.format(cloud_id=cloud_id))


def auth_from_settings(jira: JiraSettings) -> JiraAuth:
    """Choose the credential from ``[jira]``, or say clearly what is missing or contradictory."""
    # Basic auth base64-encodes the pair, so any one-line password works; Bearer tokens are header text.
    token = _secret(jira.api_token, "jira.api_token (JIRA_API_TOKEN)", header_text=False)
    pat = _secret(jira.personal_token, "jira.personal_token (JIRA_PERSONAL_TOKEN)")
    oauth = _secret(jira.oauth_access_token, "jira.oauth_access_token (JIRA_OAUTH_ACCESS_TOKEN)")
    given = [name for name, value in (("JIRA_API_TOKEN", token), ("JIRA_PERSONAL_TOKEN", pat),
                                      ("JIRA_OAUTH_ACCESS_TOKEN", oauth)) if value]
    if len(given) > 1:
        raise ConfigError(
            f"{' and '.join(given)} are all set: set only one credential (an API token with JIRA_USERNAME for "
            "Basic auth, a personal access token for Data Center, or an OAuth 2.0 access token with JIRA_CLOUD_ID)"
        )
    cloud_host = _is_cloud_host(jira.url)
    if oauth:
        if not jira.cloud_id:
            raise ConfigError(
                "jira.cloud_id (JIRA_CLOUD_ID) is required with jira.oauth_access_token (JIRA_OAUTH_ACCESS_TOKEN): "
                "OAuth requests go to https://api.atlassian.com/ex/jira/<cloud id>; find it at "
                "https://<site>.atlassian.net/_edge/tenant_info"
            )
        if jira.deployment == "dc":
            raise ConfigError("jira.oauth_access_token (JIRA_OAUTH_ACCESS_TOKEN) is for Jira Cloud, but "
                              "jira.deployment (JIRA_DEPLOYMENT) is 'dc': use JIRA_PERSONAL_TOKEN for Data Center")
        return JiraAuth.oauth(oauth, jira.cloud_id)
    if jira.cloud_id:
        raise ConfigError("jira.cloud_id (JIRA_CLOUD_ID) is only used with jira.oauth_access_token "
                          "(JIRA_OAUTH_ACCESS_TOKEN); remove it, or set the OAuth access token")
    if pat:
        if cloud_host:
            raise ConfigError(
                f"jira.personal_token (JIRA_PERSONAL_TOKEN) is for Data Center/Server, but {jira.url} is Jira Cloud: "
                "set JIRA_USERNAME (your account email) and JIRA_API_TOKEN instead"
            )
        return JiraAuth.bearer(pat)
    if token:
        if not jira.username:
            raise ConfigError("jira.username (JIRA_USERNAME) is required with jira.api_token (JIRA_API_TOKEN)")
        if cloud_host and "@" not in jira.username:
            raise ConfigError(
                f"jira.username (JIRA_USERNAME) = {jira.username!r}: Jira Cloud expects the account's email "
                "address with an API token"
            )
        return JiraAuth.basic(jira.username, token)
    raise ConfigError(
        "no Jira credentials: set JIRA_USERNAME and JIRA_API_TOKEN (Cloud), or JIRA_PERSONAL_TOKEN "
        "(Data Center), or JIRA_OAUTH_ACCESS_TOKEN with JIRA_CLOUD_ID (Cloud, OAuth 2.0), "
        "or run with --sandbox to use the embedded Jira emulator"
    )


def _secret(value: SecretStr | None, key: str, *, header_text: bool = True) -> str:
    """The secret's text, stripped; refuse what cannot be sent (never echoing the secret)."""
    if value is None:
        return ""
    text = value.get_secret_value().strip()
    if not header_text:
        if not text.isprintable():
            raise ConfigError(f"{key} contains line breaks or control characters: paste it as one line")
        return text
    if any(ch.isspace() for ch in text):
        raise ConfigError(f"{key} contains spaces or line breaks inside it: paste the token as one line")
    if not text.isascii() or not text.isprintable():
        raise ConfigError(f"{key} contains characters a token cannot have (non-ASCII or control characters)")
    return text


def _is_cloud_host(url: str | None) -> bool:
    host = (httpx2.URL(url).host or "").lower() if url else ""
    return host.endswith(".atlassian.net")
