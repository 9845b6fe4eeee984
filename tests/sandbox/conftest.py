"""Fixtures for the sandbox tests: shared servers per flavour, authenticated clients."""

from __future__ import annotations

from collections.abc import Iterator

import httpx2
import pytest
from jiraplug.sandbox import SandboxServer
from sandbox_spec_tools import spec_checked_client


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


# The clients below validate every JSON response against the flavour's OpenAPI spec
# (see sandbox_spec_tools.spec_checked_client); raw clients come from client_for().


@pytest.fixture
def client(server: SandboxServer) -> Iterator[httpx2.Client]:
    with spec_checked_client(server) as c:
        yield c


@pytest.fixture
def cloud_client(cloud: SandboxServer) -> Iterator[httpx2.Client]:
    with spec_checked_client(cloud) as c:
        yield c


@pytest.fixture
def dc_client(dc: SandboxServer) -> Iterator[httpx2.Client]:
    with spec_checked_client(dc) as c:
        yield c


@pytest.fixture
def fresh_cloud() -> Iterator[SandboxServer]:
    """A private Cloud server, for tests that change knobs or count connections."""
    with SandboxServer(flavour="cloud", seed=1, port=0) as server:
        yield server


# --------------------------------------------------------------------------- writable servers
# Tests that write get their own servers (one per module and flavour), never the shared ones.
# Each test creates the issues it changes, so tests in a module do not depend on each other.


@pytest.fixture(scope="module")
def wcloud() -> Iterator[SandboxServer]:
    """A writable Cloud sandbox for one test module."""
    with SandboxServer(flavour="cloud", seed=1, port=0) as server:
        yield server


@pytest.fixture(scope="module")
def wdc() -> Iterator[SandboxServer]:
    """A writable Data Center sandbox for one test module."""
    with SandboxServer(flavour="dc", seed=1, port=0) as server:
        yield server


@pytest.fixture(params=["cloud", "dc"])
def wserver(request: pytest.FixtureRequest) -> SandboxServer:
    """Each writable server in turn."""
    return request.getfixturevalue("w" + request.param)


@pytest.fixture
def jira(wserver: SandboxServer) -> Iterator[httpx2.Client]:
    """The default user's client on the writable server; every JSON response is checked against the spec."""
    with spec_checked_client(wserver) as c:
        yield c
