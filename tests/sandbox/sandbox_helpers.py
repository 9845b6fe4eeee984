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


def client_for(server: SandboxServer, user: SandboxUser | None = None, **kwargs: object) -> httpx2.Client:
    """A client authenticated as ``user`` (default: the default user); ``kwargs`` go to ``httpx2.Client``."""
    return httpx2.Client(base_url=server.url, headers=auth_headers(server.flavour, user or server.default_user),
                         timeout=10, **kwargs)  # type: ignore[arg-type]


def api_version(flavour: str) -> str:
    """The REST version a client of ``flavour`` normally uses."""
    return "3" if flavour == "cloud" else "2"


def rest(server: SandboxServer) -> str:
    """The REST base path a client of the server's flavour uses (``/rest/api/3`` or ``/rest/api/2``)."""
    return f"/rest/api/{api_version(server.flavour)}"


def rich(server: SandboxServer, text: str) -> object:
    """``text`` as the body format the flavour writes: an ADF paragraph on Cloud v3, wiki markup on DC."""
    if server.flavour == "cloud":
        return {"type": "doc", "version": 1, "content": [{"type": "paragraph", "content": [{"type": "text",
                                                                                              "text": text}]}]}
    return text


def user_ref(server: SandboxServer, user: SandboxUser | None) -> dict[str, object] | None:
    """How a request names a user: ``{"accountId"}`` on Cloud, ``{"name"}`` on Data Center."""
    if user is None:
        return None
    return {"accountId": user.account_id} if server.flavour == "cloud" else {"name": user.name}


def user_named(server: SandboxServer, name: str) -> SandboxUser:
    """A sandbox user by user name (``alice``, ``bob``, ``carol``, ``dave``, ``erin``)."""
    return next(u for u in server.users if u.name == name)


def create_issue(client: httpx2.Client, server: SandboxServer, project: str = "PLAT", issuetype: str = "Task",
                 summary: str = "Sandbox test issue", **fields: object) -> str:
    """Create an issue through the API and return its key (the request must succeed)."""
    payload = {"fields": {"project": {"key": project}, "issuetype": {"name": issuetype}, "summary": summary,
                          **fields}}
    response = client.post(f"{rest(server)}/issue", json=payload)
    assert response.status_code == 201, response.text
    return str(response.json()["key"])
