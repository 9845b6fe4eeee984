"""Shared fixtures: the anyio backend and sandboxes to test against."""

from __future__ import annotations

import pytest


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def cloud_sandbox():
    """A Jira Cloud emulator on loopback, shared by the session (read-only tests only)."""
    from jiraplug.sandbox import SandboxServer

    with SandboxServer(flavour="cloud", seed=1, port=0) as sandbox:
        yield sandbox


@pytest.fixture(scope="session")
def dc_sandbox():
    """A Jira Data Center emulator on loopback, shared by the session (read-only tests only)."""
    from jiraplug.sandbox import SandboxServer

    with SandboxServer(flavour="dc", seed=1, port=0) as sandbox:
        yield sandbox


def sandbox_environ(sandbox) -> dict[str, str]:
    """Environment variables that point jiraplug at ``sandbox`` as its default user."""
    user = sandbox.default_user
    environ = {"JIRA_URL": sandbox.url, "JIRA_DEPLOYMENT": sandbox.flavour}
    if sandbox.flavour == "cloud":
        environ.update(JIRA_USERNAME=user.email, JIRA_API_TOKEN=user.api_token)
    else:
        environ.update(JIRA_PERSONAL_TOKEN=user.personal_token)
    return environ


from tests.otlp_receiver import otlp_receiver  # noqa: E402,F401  (fixture)
