"""The example plugin tests itself with jiraplug.testing: a real MCP client, the embedded sandbox."""

from __future__ import annotations

import pytest

import jiraplug_hello
from jiraplug.testing import run_jiraplug

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_the_tool_greets_with_the_configured_greeting_and_counts_requests() -> None:
    async with run_jiraplug({"hello": jiraplug_hello}, builtins=["issues"],
                            environ={"JIRAPLUG_HELLO__GREETING": "Hi"}) as jp:
        assert await jp.text("hello_whoami") == (
            f"Hi, {jp.sandbox.default_user.display_name}! Jira requests seen by the hello plugin: 1"
        )
        # The middleware wraps the requests of other plugins' tools too: it saw every
        # request the sandbox received.
        await jp.text("jira_get_issue", issue_key="PLAT-1", comment_limit=0)
        assert (await jp.text("hello_whoami")).endswith("seen by the hello plugin: 3")
        assert len(jp.sandbox.request_log) == 3


async def test_each_server_run_counts_on_its_own() -> None:
    for _ in range(2):  # no module global: a second run starts from zero
        async with run_jiraplug({"hello": jiraplug_hello}, builtins=False) as jp:
            assert (await jp.text("hello_whoami")).endswith("seen by the hello plugin: 1")
            assert await jp.tool_names() == ["hello_whoami"]
