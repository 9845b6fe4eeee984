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
from tests.redis_server import RedisServer, skip_without_redis

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


async def test_redis_operations_are_client_spans_under_the_call_and_timed_with_their_errors(
        otlp_receiver, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With the shared cache in a real Redis, each of its operations is a CLIENT span under the
    tool call's span and a point of db.client.operation.duration; with Redis gone, the failed
    operation carries error.type and the call still succeeds."""
    skip_without_redis()
    password = "redis-secret-not-for-telemetry"
    with SandboxServer(flavour="cloud", seed=3, port=0) as sandbox, RedisServer(password=password) as redis:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA", "OTEL_"))}
        env.update(sandbox_environ(sandbox), **otlp_receiver.env(), OTEL_SERVICE_NAME="jiraplug-redis",
                   JIRAPLUG_CACHE__BACKEND="redis", JIRAPLUG_CACHE__REDIS_URL=redis.url)
        params = StdioServerParameters(command=sys.executable, args=["-m", "jiraplug", "serve"], env=env,
                                       cwd=str(tmp_path))
        async with Client(params, cache=None) as client:
            assert not (await client.call_tool("jira_get_issue", {"issue_key": "PLAT-2"})).is_error
            redis.stop()
            assert not (await client.call_tool("jira_get_issue", {"issue_key": "PLAT-4"})).is_error

    call = otlp_receiver.wait_for_span("tools/call jira_get_issue")
    lookups = [span for span in otlp_receiver.children_of(call) if span.name == "redis cache.lookup"]
    assert lookups, otlp_receiver.summary()
    lookup = lookups[0]
    assert lookup.kind == "CLIENT"
    assert lookup.attributes["db.system.name"] == "redis"
    assert lookup.attributes["server.address"] == "127.0.0.1"
    assert lookup.attributes["server.port"] == redis.port
    assert lookup.attributes["jiraplug.redis.operation"] == "cache.lookup"

    duration = otlp_receiver.wait_for_metric("db.client.operation.duration")
    assert duration.unit == "s" and duration.type == "histogram"
    operations = {(p.attributes["jiraplug.redis.operation"], p.attributes.get("error.type"))
                  for p in duration.data_points}
    assert ("cache.lookup", None) in operations and ("cache.store", None) in operations, operations
    failed = otlp_receiver.wait_for(lambda: [
        p for m in otlp_receiver.find_metrics("db.client.operation.duration") for p in m.data_points
        if p.attributes.get("error.type")] or None)
    assert {p.attributes["error.type"] for p in failed} <= {"timeout", "ConnectionError"}, failed
    assert any(span.name.startswith("redis ") and span.attributes.get("error.type")
               for span in otlp_receiver.spans())
    assert password not in otlp_receiver.attribute_text()
