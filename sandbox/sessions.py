"""Data Center's HTTP session cookie, as Seraph hands it out and honours it.

A Jira Data Center answer to an authenticated REST request sets ``JSESSIONID`` (and an
``atlassian.xsrf.token``). A later request that sends that cookie back is served as the
session's user: Seraph looks at the HTTP session before the ``Authorization`` header. So a
client that keeps cookies and sends requests for several users through one cookie jar makes
Jira answer one user's request as another user; the sandbox behaves the same way, which lets
the tests see that leak.
"""

from __future__ import annotations

import secrets
import threading
from http.cookies import CookieError, SimpleCookie

from jiraplug.sandbox.model import SandboxUser

__all__ = ["Sessions", "SESSION_COOKIE"]

SESSION_COOKIE = "JSESSIONID"


class Sessions:
    """One session per user (bounded by the number of users), looked up by its cookie."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, SandboxUser] = {}
        self._id_of: dict[str, str] = {}

    def user_of(self, cookie_header: str | None) -> SandboxUser | None:
        """The user whose session the request's ``Cookie`` header names, if any."""
        if not cookie_header:
            return None
        try:
            cookies = SimpleCookie(cookie_header)
        except CookieError:
            return None
        morsel = cookies.get(SESSION_COOKIE)
        if morsel is None:
            return None
        with self._lock:
            return self._by_id.get(morsel.value)

    def set_cookie_headers(self, user: SandboxUser) -> list[tuple[bytes, bytes]]:
        """The ``Set-Cookie`` headers of an answer to ``user`` (their session, an XSRF token)."""
        with self._lock:
            session = self._id_of.get(user.name)
            if session is None:
                session = secrets.token_hex(16).upper()
                self._id_of[user.name] = session
                self._by_id[session] = user
        xsrf = f"{secrets.token_hex(2).upper()}-{secrets.token_hex(2).upper()}|{secrets.token_hex(20)}|lin"
        return [(b"set-cookie", f"{SESSION_COOKIE}={session}; Path=/; HttpOnly".encode()),
                (b"set-cookie", f"atlassian.xsrf.token={xsrf}; Path=/".encode())]
