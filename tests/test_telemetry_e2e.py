"""One tool call, end to end: a real server process exports its spans and metrics over OTLP/HTTP
to a real receiver on loopback, with the Jira HTTP span nested under the MCP server span."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from mcp import Client, StdioServerParameters

from jiraplug.sandbox import SandboxServer
from tests.conftest import sandbox_environ

pytestmark = pytest.mark.anyio


async def test_tool_call_spans_and_metrics_arrive_with_links_and_no_secrets(otlp_receiver, tmp_path: Path) -> None:
    with SandboxServer(flavour="cloud", seed=3, port=0) as sandbox:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA", "OTEL_"))}
        env.update(sandbox_environ(sandbox))
        env.update(otlp_receiver.env())
        env["OTEL_SERVICE_NAME"] = "jiraplug-e2e"
        params = StdioServerParameters(command=sys.executable, args=["-m", "jiraplug", "serve"], env=env,
                                       cwd=str(tmp_path))
        async with Client(params, cache=None) as client:
            result = await client.call_tool("jira_get_issue", {"issue_key": "PLAT-2"})
            assert not result.is_error
        secrets = [sandbox.default_user.api_token]

    server_span = otlp_receiver.wait_for_span("tools/call jira_get_issue")
    assert server_span.kind == "SERVER"
    assert server_span.attributes["mcp.method.name"] == "tools/call"
    assert server_span.attributes["gen_ai.tool.name"] == "jira_get_issue"
    assert server_span.resource["service.name"] == "jiraplug-e2e"

    children = otlp_receiver.children_of(server_span)
    http_spans = [span for span in children if span.kind == "CLIENT"]
    # The issue and, alongside, its latest comments: both Jira requests nest under the call.
    assert len(http_spans) == 2, otlp_receiver.summary()
    assert sorted(span.attributes["url.full"].split("?")[0].rsplit("/", 1)[-1] for span in http_spans) == \
        ["PLAT-2", "comment"]
    jira = next(span for span in http_spans if "/comment" not in span.attributes["url.full"])
    assert jira.name == "GET" and jira.trace_id == server_span.trace_id
    assert jira.attributes["http.request.method"] == "GET"
    assert jira.attributes["http.response.status_code"] == 200
    assert jira.attributes["server.address"] == "127.0.0.1"
    assert "/rest/api/3/issue/PLAT-2" in jira.attributes["url.full"]

    operation = otlp_receiver.wait_for_metric("mcp.server.operation.duration")
    assert operation.unit == "s" and operation.type == "histogram"
    points = [p for p in operation.data_points if p.attributes.get("gen_ai.tool.name") == "jira_get_issue"]
    assert points and points[0].attributes["mcp.method.name"] == "tools/call" and points[0].count >= 1
    http_metric = otlp_receiver.wait_for_metric("http.client.request.duration")
    assert http_metric.unit == "s"

    exported = otlp_receiver.attribute_text()
    for secret in secrets:
        assert secret not in exported
        assert all(secret.encode() not in record.body for record in otlp_receiver.exports())
