"""Fixtures for the sandbox tests: shared servers per flavour, authenticated clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from sandbox_helpers import client_for


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="session")
def cloud() -> Iterator[SandboxServer]:
    """A Cloud sandbox (seed 1) shared by read-only tests."""
    with SandboxServer(flavour="cloud", seed=1, port=0) as server:
        yield server


@pytest.fixture(scope="session")
def dc() -> Iterator[SandboxServer]:
    """A Data Center sandbox (seed 1) shared by read-only tests."""
    with SandboxServer(flavour="dc", seed=1, port=0) as server:
        yield server


@pytest.fixture(params=["cloud", "dc"])
def server(request: pytest.FixtureRequest) -> SandboxServer:
    """Each shared server in turn."""
    return request.getfixturevalue(request.param)


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx2.Client]:
    with client_for(server) as c:
        yield c


@pytest.fixture
def cloud_client(cloud: SandboxServer) -> Iterator[httpx2.Client]:
    with client_for(cloud) as c:
        yield c


@pytest.fixture
def dc_client(dc: SandboxServer) -> Iterator[httpx2.Client]:
    with client_for(dc) as c:
        yield c


@pytest.fixture
def fresh_cloud() -> Iterator[SandboxServer]:
    """A private Cloud server, for tests that change knobs or count connections."""
    with SandboxServer(flavour="cloud", seed=1, port=0) as server:
        yield server
