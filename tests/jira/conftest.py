"""Building Jira clients for tests: through the real start-up path, or directly."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from typing import Any

import pytest

from jiraplug import telemetry
from jiraplug.bootstrap import bootstrap
from jiraplug.jira.http_options import HttpClientOptions
from jiraplug.jira.auth import JiraAuth
from jiraplug.jira.client import JiraClient
from jiraplug.jira.deployment import Deployment
from jiraplug.jira.middleware import JiraMiddleware
from jiraplug.runtime import Runtime
from tests.conftest import sandbox_environ


@pytest.fixture(autouse=True)
def _no_stray_config(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no ./jiraplug.toml from elsewhere
    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY", "http_proxy", "https_proxy", "all_proxy",
                 "no_proxy"):
        monkeypatch.delenv(name, raising=False)


def sandbox_auth(sandbox: Any) -> JiraAuth:
    """The sandbox's default user as a credential: Basic on Cloud, a PAT on Data Center."""
    user = sandbox.default_user
    if sandbox.flavour == "cloud":
        return JiraAuth.basic(user.email, user.api_token)
    return JiraAuth.bearer(user.personal_token)


@asynccontextmanager
async def direct_client(
    sandbox: Any,
    *,
    deployment: Deployment | None | str = "flavour",
    auth: JiraAuth | None = None,
    middlewares: Sequence[tuple[str, JiraMiddleware]] = (),
    options: HttpClientOptions | None = None,
) -> AsyncIterator[JiraClient]:
    """A client for ``sandbox`` built by hand (``deployment=None``: detect it)."""
    chosen = Deployment(sandbox.flavour) if deployment == "flavour" else deployment
    http = (options or HttpClientOptions()).build(base_url=sandbox.url, wrap_transport=telemetry.instrument_transport)
    client = JiraClient(http, base_url=sandbox.url, deployment=chosen,  # type: ignore[arg-type]
                        auth=auth or sandbox_auth(sandbox), middlewares=middlewares)
    try:
        yield client
    finally:
        await client.aclose()


@asynccontextmanager
async def configured_client(
    environ: Mapping[str, str], plugins: Mapping[str, object] | None = None
) -> AsyncIterator[JiraClient]:
    """A client built the way the server builds it: settings -> plugins -> ``Runtime.build_jira_client``."""
    app = bootstrap(environ=dict(environ), extra_plugins=plugins)
    client = Runtime(app.settings, app.plugins).build_jira_client()
    try:
        yield client
    finally:
        await client.aclose()


def environ_for(sandbox: Any, **overrides: str) -> dict[str, str]:
    """Environment variables pointing at ``sandbox`` as its default user, plus ``overrides``."""
    return {**sandbox_environ(sandbox), **overrides}
