"""Helpers shared by the sandbox tests (credentials, clients)."""

from __future__ import annotations

import base64

import httpx2
from jiraplug.sandbox import SandboxServer, SandboxUser


def basic(login: str, secret: str) -> dict[str, str]:
    """An ``Authorization: Basic`` header."""
    token = base64.b64encode(f"{login}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {token}"}


def auth_headers(flavour: str, user: SandboxUser) -> dict[str, str]:
    """The usual credentials per flavour: email + API token on Cloud, PAT on Data Center."""
    if flavour == "cloud":
        return basic(user.email, user.api_token)
    return {"Authorization": f"Bearer {user.personal_token}"}


def client_for(server: SandboxServer, user: SandboxUser | None = None) -> httpx2.Client:
    """A client authenticated as ``user`` (default: the default user)."""
    return httpx2.Client(base_url=server.url, headers=auth_headers(server.flavour, user or server.default_user),
                         timeout=10)


def api_version(flavour: str) -> str:
    """The REST version a client of ``flavour`` normally uses."""
    return "3" if flavour == "cloud" else "2"
