"""Credentials toward Jira: Basic (email or username + API token) or Bearer (PAT)."""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from typing import Literal

from jiraplug.errors import ConfigError
from jiraplug.jira.middleware import credential_fingerprint
from jiraplug.settings import JiraSettings


@dataclass(frozen=True)
class JiraAuth:
    """An ``Authorization`` header value and what kind it is. ``repr`` never shows the secret."""

    scheme: Literal["basic", "bearer"]
    header: str = field(repr=False)
    user: str | None = None

    @property
    def fingerprint(self) -> str:
        """Identifies the credential in cache keys and metrics without revealing it."""
        return credential_fingerprint(self.header)

    @classmethod
    def basic(cls, user: str, token: str) -> JiraAuth:
        encoded = base64.b64encode(f"{user}:{token}".encode()).decode()
        return cls("basic", f"Basic {encoded}", user)

    @classmethod
    def bearer(cls, token: str) -> JiraAuth:
        return cls("bearer", f"Bearer {token}")


def auth_from_settings(jira: JiraSettings) -> JiraAuth:
    """Choose the credential from ``[jira]``, or say clearly what is missing."""
    token = jira.api_token.get_secret_value() if jira.api_token else ""
    pat = jira.personal_token.get_secret_value() if jira.personal_token else ""
    if token and pat:
        raise ConfigError(
            "both jira.api_token (JIRA_API_TOKEN) and jira.personal_token (JIRA_PERSONAL_TOKEN) are set: "
            "set only one (API token with JIRA_USERNAME for Basic auth, or a personal access token)"
        )
    if pat:
        return JiraAuth.bearer(pat)
    if token:
        if not jira.username:
            raise ConfigError("jira.username (JIRA_USERNAME) is required with jira.api_token (JIRA_API_TOKEN)")
        return JiraAuth.basic(jira.username, token)
    raise ConfigError(
        "no Jira credentials: set JIRA_USERNAME and JIRA_API_TOKEN (Cloud), or JIRA_PERSONAL_TOKEN "
        "(Data Center), or run with --sandbox to use the embedded Jira emulator"
    )
