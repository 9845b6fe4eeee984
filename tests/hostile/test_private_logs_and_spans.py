"""Users' Jira data stays out of logs and spans unless the operator asks for it.

A real ``jiraplug serve --transport http`` process with DEBUG logging exports to a real OTLP
receiver on loopback; a 2025-era client (answers streamed as SSE, which sse-starlette logs
at DEBUG) reads an issue and runs a JQL search on the Data Center flavour (the JQL travels in
the query string).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from mcp import Client

from tests.otlp_receiver import OTLPReceiver
from tests.test_http import serving

pytestmark = pytest.mark.anyio

JQL = "project = PLAT ORDER BY key ASC"


async def read_and_search(base: str) -> str:
    """Read PLAT-1 and search with :data:`JQL`; the issue's summary (text of Jira's answer)."""
    async with Client(f"{base}/mcp", cache=None, mode="legacy") as client:
        issue = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-1"})
        search = await client.call_tool("jira_search", {"jql": JQL, "limit": 2})
    assert not issue.is_error and not search.is_error, (issue.content, search.content)
    return json.loads(issue.content[0].text)["summary"]


def search_urls(receiver: OTLPReceiver) -> list[str]:
    spans = receiver.wait_for(lambda: [s for s in receiver.spans() if s.kind == "CLIENT"
                                       and "/rest/api/2/search" in s.attributes.get("url.full", "")] or None)
    return [s.attributes["url.full"] for s in spans]


async def test_debug_logs_and_spans_carry_no_jira_data_by_default(otlp_receiver: OTLPReceiver,
                                                                   tmp_path: Path) -> None:
    (tmp_path / "default").mkdir()
    with serving(tmp_path / "default", "--sandbox-flavour", "dc", JIRAPLUG_SERVER__LOG_LEVEL="DEBUG",
                 **otlp_receiver.env()) as base:
        summary = await read_and_search(base)
        urls = search_urls(otlp_receiver)
    log = (tmp_path / "default" / "server.log").read_text()
    assert "DEBUG" in log  # DEBUG logging is on...
    assert summary not in log  # ...but no answer body reached it
    assert "jql=" not in log and "ORDER BY" not in log and "ORDER+BY" not in log
    assert urls and all(url.endswith("/rest/api/2/search") for url in urls), urls


async def test_bodies_and_query_strings_when_the_operator_asks(otlp_receiver: OTLPReceiver, tmp_path: Path) -> None:
    (tmp_path / "asked").mkdir()
    with serving(tmp_path / "asked", "--sandbox-flavour", "dc", JIRAPLUG_SERVER__LOG_LEVEL="DEBUG",
                 JIRAPLUG_SERVER__LOG_BODIES="true", JIRAPLUG_SERVER__TRACE_QUERY_STRINGS="true",
                 **otlp_receiver.env()) as base:
        summary = await read_and_search(base)
        urls = search_urls(otlp_receiver)
    assert summary in (tmp_path / "asked" / "server.log").read_text()
    assert urls and all("jql=" in url for url in urls), urls
