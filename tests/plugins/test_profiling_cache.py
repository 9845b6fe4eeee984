"""The timing report's per-tool cache hit rate comes from the cache plugin's lookups."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jiraplug.sandbox import SandboxServer
from tests.tools.helpers import call, connect

pytestmark = pytest.mark.anyio


async def test_per_tool_cache_hit_rate_in_the_stats_resource() -> None:
    with SandboxServer(flavour="cloud", seed=5, port=0) as sandbox:
        async with connect(sandbox, JIRAPLUG_DISABLE_PLUGINS="ratelimit") as client:
            for _ in range(4):
                await call(client, "jira_get_issue", issue_key="PLAT-3")
            report: Any = json.loads((await client.read_resource("jiraplug://stats")).contents[0].text)
    entry = report["tools"]["jira_get_issue"]
    # One miss then three hits (the field list is fetched once as well, and hits on later calls).
    assert entry["count"] == 4
    assert 0.5 <= entry["cache_hit_rate"] < 1.0
