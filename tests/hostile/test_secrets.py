"""No configured secret escapes (issue 9 item 7).

A representative session runs against server processes, over stdio and over streamable HTTP,
with OTLP export to a real receiver, DEBUG logging to captured stderr, successful calls,
404s, a 401 from a wrong Jira token, a refused MCP bearer token, an alert that fires and is
posted to a webhook, every resource read, and ``jiraplug config``, ``config --json`` and
``plugins --json``. Every captured byte (stdout, stderr, tool results and errors, HTTP
answers, raw OTLP bodies and every span and metric attribute) is then scanned for each
secret and its base64 forms, including the base64 of ``email:token`` that Basic auth sends.
The webhook's own ``Authorization`` header is the one place its token may appear (checked
to be there, so the scan is known to have had something to find). A second test does the
same in process over the ``otel_memory`` spans and metrics and the log records.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import httpx2
import pytest
from mcp import Client, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

from jiraplug.bootstrap import bootstrap
from jiraplug.sandbox import SandboxServer
from jiraplug.server.build import build_server
from tests.hostile.harness import secret_forms
from tests.hostile.processes import clean_env, http_server, jiraplug_command, run_cli

pytestmark = pytest.mark.anyio

API_TOKEN = "jpl-api-token-3c9f1e7a5b"
WRONG_TOKEN = "jpl-wrong-token-77d0aa41"
HTTP_TOKEN = "jpl-mcp-bearer-0b6e2d19"
WEBHOOK_TOKEN = "jpl-webhook-token-5fe3c8a2"
WEBHOOK_PATH_SECRET = "jpl-hook-path-91ab7c"
OPERATOR_TOKEN = "jpl-operator-3d8e41f0"
HEADER_VALUE = "jpl-custom-header-4d2e9f"
EMAIL = "alice@example.com"


class _Webhook(BaseHTTPRequestHandler):
    received: list[tuple[dict[str, str], bytes]]

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802 - http.server API
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.server.received.append(({k.lower(): v for k, v in self.headers.items()}, body))  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()


@pytest.fixture
def webhook() -> Iterator[ThreadingHTTPServer]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Webhook)
    server.received = []  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def sandbox() -> Iterator[SandboxServer]:
    """A fresh cloud sandbox whose default user has this test's distinctive API token."""
    with SandboxServer(flavour="cloud", seed=1, port=0) as sandbox:
        users = sandbox.state.users
        users[0] = dataclasses.replace(users[0], api_token=API_TOKEN)
        assert users[0].email == EMAIL
        yield sandbox


def _environ(sandbox: SandboxServer, webhook: ThreadingHTTPServer, token: str = API_TOKEN) -> dict[str, str]:
    return {
        "JIRA_URL": sandbox.url, "JIRA_DEPLOYMENT": "cloud", "JIRA_USERNAME": EMAIL, "JIRA_API_TOKEN": token,
        "JIRAPLUG_HTTP_TOKEN": HTTP_TOKEN, "JIRAPLUG_OPERATOR_TOKEN": OPERATOR_TOKEN, "JIRA_CUSTOM_HEADERS": f"X-Canary={HEADER_VALUE}",
        "JIRAPLUG_ALERTING__WEBHOOK_URL": f"http://127.0.0.1:{webhook.server_port}/{WEBHOOK_PATH_SECRET}",
        "JIRAPLUG_ALERTING__WEBHOOK_TOKEN": WEBHOOK_TOKEN, "JIRAPLUG_ALERTING__MIN_SAMPLES": "1",
        "JIRAPLUG_ALERTING__FOR_SECONDS": "0", "JIRAPLUG_ALERTING__CHECK_INTERVAL_SECONDS": "0.2",
        "JIRAPLUG_ALERTING__WEBHOOK_RETRIES": "0", "JIRAPLUG_SERVER__LOG_LEVEL": "DEBUG",
    }


SECRETS = secret_forms([API_TOKEN, WRONG_TOKEN, HTTP_TOKEN, WEBHOOK_TOKEN, WEBHOOK_PATH_SECRET, HEADER_VALUE,
                        OPERATOR_TOKEN], EMAIL)


def _leaks(captured: dict[str, bytes]) -> list[str]:
    return [f"{secret!r} in {where}" for where, data in captured.items() for secret in SECRETS
            if secret.encode() in data]


async def _session(client: Client) -> list[str]:
    """The calls of a representative session; returns every result and error as JSON text."""
    out = [json.dumps([t.model_dump(mode="json") for t in (await client.list_tools()).tools])]
    calls = [
        ("jira_get_issue", {"issue_key": "MOB-1"}), ("jira_get_issue", {"issue_key": "PLAT-99999"}),
        ("jira_search", {"jql": "project = MOB ORDER BY key", "limit": 3}), ("jira_get_user", {"user": "nobody"}),
        ("jira_add_comment", {"issue_key": "MOB-2", "body": "checked"}), ("jira_get_issue", {"issue_key": 5}),
        ("jira_get_current_user", {}), ("jira_get_comments", {"issue_key": "MOB-404"}),
    ]
    for tool, arguments in calls:
        out.append((await client.call_tool(tool, arguments)).model_dump_json())
    for resource in (await client.list_resources()).resources:
        out.append((await client.read_resource(resource.uri)).model_dump_json())
    return out


async def test_a_full_session_over_stdio_and_http_leaks_no_secret(
    sandbox: SandboxServer, webhook: ThreadingHTTPServer, otlp_receiver, tmp_path: Path  # type: ignore[no-untyped-def]
) -> None:
    env = clean_env(**_environ(sandbox, webhook), **otlp_receiver.env(), OTEL_SERVICE_NAME="jiraplug-secrets",
                    OTEL_SEMCONV_STABILITY_OPT_IN="http")
    captured: dict[str, bytes] = {}

    # stdio: the session, then one with a wrong Jira token (401)
    for label, token in (("stdio", API_TOKEN), ("stdio-401", WRONG_TOKEN)):
        errlog = tmp_path / f"{label}.stderr"
        params = StdioServerParameters(command=jiraplug_command()[0], args=[*jiraplug_command()[1:], "serve"],
                                       env={**env, "JIRA_API_TOKEN": token}, cwd=str(tmp_path))
        with open(errlog, "w") as stderr:
            async with Client(stdio_client(params, errlog=stderr), cache=None) as client:
                if token == API_TOKEN:
                    results = await _session(client)
                else:
                    unauthorized = await client.call_tool("jira_get_issue", {"issue_key": "MOB-1"})
                    assert unauthorized.is_error and "401" in unauthorized.content[0].text
                    results = [unauthorized.model_dump_json()]
        captured[f"{label} results"] = "\n".join(results).encode()
        captured[f"{label} stderr"] = errlog.read_bytes()

    # streamable HTTP, bearer-protected: refused without and with a wrong token, then the session
    with http_server(env, tmp_path) as server:
        async with httpx2.AsyncClient() as raw:
            for headers in ({}, {"Authorization": "Bearer not-it"}):
                answer = await raw.post(server.url, json={"jsonrpc": "2.0", "id": 1, "method": "ping"}, headers=headers)
                assert answer.status_code == 401
                captured[f"http 401 {headers}"] = answer.content + str(answer.headers).encode()
            captured["healthz"] = (await raw.get(server.url.replace("/mcp", "/healthz"))).content
        bearer = httpx2.AsyncClient(headers={"Authorization": f"Bearer {HTTP_TOKEN}"}, timeout=30)
        async with bearer, Client(streamable_http_client(server.url, http_client=bearer), cache=None) as client:
            results = await _session(client)
        # A caller's own Jira credential (X-Jira-Authorization) that Jira refuses: a 401 tool error.
        basic = base64.b64encode(f"{EMAIL}:{WRONG_TOKEN}".encode()).decode()
        caller = httpx2.AsyncClient(headers={"Authorization": f"Bearer {HTTP_TOKEN}",
                                             "X-Jira-Authorization": f"Basic {basic}"}, timeout=30)
        async with caller, Client(streamable_http_client(server.url, http_client=caller), cache=None) as client:
            refused = await client.call_tool("jira_get_issue", {"issue_key": "MOB-1"})
        assert refused.is_error and "401" in refused.content[0].text, refused.content
        # The operator's figures: read with the operator token, refused with a wrong one.
        figures = []
        for token in (OPERATOR_TOKEN, OPERATOR_TOKEN[::-1]):
            operator = httpx2.AsyncClient(headers={"Authorization": f"Bearer {HTTP_TOKEN}", "X-Jira-Authorization":
                                                   f"Basic {basic}", "X-Jiraplug-Operator": token}, timeout=30)
            async with operator, Client(streamable_http_client(server.url, http_client=operator), cache=None) as client:
                try:
                    figures.append((await client.read_resource("jiraplug://stats")).model_dump_json())
                except MCPError as exc:
                    figures.append(str(exc))
        assert 'tools' in figures[0] and "is for its operator" in figures[1], figures
        captured["http results"] = "\n".join([*results, refused.model_dump_json(), *figures]).encode()
        server.terminate()
        assert server.wait(20) == 0, server.describe()
        captured["http stdout"], captured["http stderr"] = server.output()

    for args in (["config"], ["config", "--json"], ["plugins", "--json"]):
        done = run_cli(args, env=env, cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        captured[f"jiraplug {' '.join(args)}"] = (done.stdout + done.stderr).encode()
    assert "<redacted>" in captured["jiraplug config --json"].decode()

    exports = otlp_receiver.exports()
    assert {e.signal for e in exports} >= {"traces", "metrics"}
    captured["otlp bodies"] = b"\n".join(e.body + json.dumps(e.headers).encode() for e in exports)
    captured["otlp attributes"] = otlp_receiver.attribute_text().encode()

    # The alert fired and reached the webhook with its token, which is the one place it belongs.
    assert webhook.received, "no alert reached the webhook: the webhook token was never exercised"  # type: ignore[attr-defined]
    for headers, body in webhook.received:  # type: ignore[attr-defined]
        assert headers["authorization"] == f"Bearer {WEBHOOK_TOKEN}"
        captured["webhook body"] = captured.get("webhook body", b"") + body
    # Sanity: the capture holds the session's work (so an empty capture cannot pass).
    assert b"MOB-1" in captured["stdio results"] and b"404" in captured["http results"]
    assert b"DEBUG" in captured["stdio stderr"] and b"DEBUG" in captured["http stderr"]
    assert not _leaks(captured), "\n".join(_leaks(captured))


async def test_in_process_spans_metrics_and_logs_carry_no_secret(
    sandbox: SandboxServer, webhook: ThreadingHTTPServer, otel_memory, caplog  # type: ignore[no-untyped-def]
) -> None:
    caplog.set_level(logging.DEBUG)
    app = bootstrap(environ=_environ(sandbox, webhook))
    async with Client(build_server(app.settings, app.plugins), cache=None) as client:
        results = await _session(client)
    bad = bootstrap(environ=_environ(sandbox, webhook, token=WRONG_TOKEN))
    async with Client(build_server(bad.settings, bad.plugins), cache=None) as client:
        unauthorized = await client.call_tool("jira_get_issue", {"issue_key": "MOB-1"})
    assert unauthorized.is_error and "401" in unauthorized.content[0].text

    spans = otel_memory.spans()
    assert any(s.name == "tools/call jira_get_issue" for s in spans)
    span_text = "\n".join(
        json.dumps([s.name, dict(s.attributes or {}), [(e.name, dict(e.attributes or {})) for e in s.events],
                    s.status.description, dict(s.resource.attributes)], default=str) for s in spans)
    metric_text = json.dumps({name: [dict(p.attributes or {}) for p in points]
                              for name, points in otel_memory.metrics().items()}, default=str)
    log_text = "\n".join(f"{r.name} {r.getMessage()} {r.args!r}" for r in caplog.records)
    captured = {"results": "\n".join([*results, unauthorized.model_dump_json()]).encode(),
                "spans": span_text.encode(), "metrics": metric_text.encode(), "logs": log_text.encode()}
    assert "http.client.request.duration" in metric_text or "http.client.duration" in metric_text
    assert not _leaks(captured), "\n".join(_leaks(captured))
