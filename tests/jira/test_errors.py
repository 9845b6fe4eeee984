"""Jira's failures become errors a person can act on: from the sandbox's real answers, and from
the shapes the specs and public reports document that the sandbox does not produce."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from jiraplug.jira.http_options import HttpClientOptions
from jiraplug.jira.auth import JiraAuth
from jiraplug.jira.errors import JiraError, JiraUnavailable, error_from_exception, error_from_response
from jiraplug.sandbox import Knobs, SandboxServer
from tests.jira.conftest import direct_client

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module", params=["cloud", "dc"])
def faulty(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox of each flavour whose knobs the tests turn (reset after each use)."""
    with SandboxServer(flavour=request.param, seed=3, port=0) as sandbox:
        yield sandbox


@pytest.fixture
def sandbox(faulty: SandboxServer) -> Iterator[SandboxServer]:
    yield faulty
    faulty.set_knobs(Knobs())


async def test_missing_issue_names_the_issue_and_jira_words(sandbox: SandboxServer) -> None:
    async with direct_client(sandbox) as jira:
        with pytest.raises(JiraError) as caught:
            await jira.get_issue("PLAT-99999")
    error = caught.value
    assert error.status == 404 and "issue.get PLAT-99999" in str(error)
    assert "Issue does not exist or you do not have permission to see it." in str(error)


async def test_rejected_fields_are_named_with_their_field_names(sandbox: SandboxServer) -> None:
    async with direct_client(sandbox) as jira:
        with pytest.raises(JiraError) as missing:
            await jira.request("POST", f"{jira.api}/issue", operation="issue.create",
                               json_body={"fields": {"project": {"key": "PLAT"}, "issuetype": {"name": "Task"}}})
        story_points = next(f["id"] for f in await jira.field_list() if f["name"] == "Story Points")
        with pytest.raises(JiraError) as wrong_type:
            await jira.request("POST", f"{jira.api}/issue", operation="issue.create", json_body={"fields": {
                "project": {"key": "PLAT"}, "issuetype": {"name": "Task"}, "summary": "x", story_points: "many"}})
    assert missing.value.status == 400 and set(missing.value.field_errors) == {"summary"}
    assert "summary: You must specify a summary of the issue." in str(missing.value)
    assert f"{story_points} (Story Points):" in str(wrong_type.value)


async def test_bad_credentials_are_explained_without_the_secret(sandbox: SandboxServer) -> None:
    user = sandbox.default_user
    secret = "definitely-wrong-secret"
    auth = JiraAuth.basic(user.email if sandbox.flavour == "cloud" else user.name, secret) \
        if sandbox.flavour == "cloud" else JiraAuth.bearer(secret)
    async with direct_client(sandbox, auth=auth) as jira:
        with pytest.raises(JiraError) as caught:
            await jira.myself()
    text = str(caught.value)
    assert caught.value.status == 401 and secret not in text
    # Cloud answers in plain text, Data Center in JSON: both are quoted, with what was sent.
    jira_words = "Client must be authenticated" if sandbox.flavour == "cloud" else "You are not authenticated"
    assert jira_words in text
    assert ("JIRA_API_TOKEN" if sandbox.flavour == "cloud" else "JIRA_PERSONAL_TOKEN") in text


async def test_removed_search_api_says_what_to_use(cloud_sandbox: Any) -> None:
    # A Cloud site wrongly configured as Data Center hits the removed /rest/api/2/search.
    async with direct_client(cloud_sandbox, deployment="dc") as jira:
        with pytest.raises(JiraError) as caught:
            await jira.search("project = PLAT")
    assert caught.value.status == 410
    assert "POST /rest/api/3/search/jql" in str(caught.value) and "JIRA_DEPLOYMENT=cloud" in str(caught.value)


async def test_rate_limit_reports_retry_after(sandbox: SandboxServer) -> None:
    sandbox.set_knobs(Knobs(rate_limit_rps=0.5, rate_limit_burst=1))
    async with direct_client(sandbox) as jira:
        await jira.myself()
        with pytest.raises(JiraError) as caught:
            await jira.myself()
    error = caught.value
    assert error.status == 429 and error.retry_after is not None and error.retry_after > 0
    assert "rate limiting" in str(error) and f"retry after {error.retry_after:g} s" in str(error).lower()


async def test_server_errors_say_they_are_temporary(sandbox: SandboxServer) -> None:
    sandbox.set_knobs(Knobs(error_rate=1.0))
    async with direct_client(sandbox) as jira:
        with pytest.raises(JiraError) as caught:
            await jira.myself()
    text = str(caught.value).lower()
    assert caught.value.status in (500, 502, 503) and ("retry later" in text or "retry after" in text)


async def test_timeout_names_the_limit_and_the_setting(sandbox: SandboxServer) -> None:
    sandbox.set_knobs(Knobs(latency_ms=3000))
    options = HttpClientOptions(read_timeout_seconds=0.2)
    async with direct_client(sandbox, options=options) as jira:
        with pytest.raises(JiraUnavailable) as caught:
            await jira.myself()
    assert "did not answer in time within 0.2 s" in str(caught.value) and "JIRA_TIMEOUT" in str(caught.value)


async def test_dropped_connection_is_reported_as_such(sandbox: SandboxServer) -> None:
    sandbox.set_knobs(Knobs(drop_rate=1.0))
    async with direct_client(sandbox) as jira:
        with pytest.raises(JiraUnavailable) as caught:
            await jira.myself()
    assert "closed the connection without a complete answer" in str(caught.value)


async def test_unreachable_jira_is_a_connection_error() -> None:
    with SandboxServer(flavour="dc", seed=1, port=0) as gone:
        url = gone.url
    options = HttpClientOptions(connect_timeout_seconds=2)
    http = options.build(base_url=url)
    from jiraplug.jira.client import JiraClient
    from jiraplug.jira.deployment import Deployment

    jira = JiraClient(http, base_url=url, deployment=Deployment.DC, auth=JiraAuth.bearer("x"))
    try:
        with pytest.raises(JiraUnavailable, match=r"Jira at 127\.0\.0\.1 could not be reached \(connection failed\)"):
            await jira.myself()
    finally:
        await jira.aclose()


# ---------------------------------------------------------------------------- documented shapes


def answer(status: int, body: bytes | str = b"", *, path: str = "/rest/api/3/issue", **headers: str) -> httpx2.Response:
    request = httpx2.Request("GET", f"https://acme.atlassian.net{path}")
    content = body.encode() if isinstance(body, str) else body
    return httpx2.Response(status, content=content, headers=headers, request=request)


@pytest.mark.parametrize(
    ("response", "expected"),
    [
        (answer(400, '{"errorMessages":"Field \'foo\' does not exist.","errors":{}}'),
         "Jira rejected the request (400, op): Field 'foo' does not exist."),
        (answer(400, '{"errorMessages":[],"errors":{"customfield_10011":"Epic Name is required."}}'),
         "customfield_10011 (Epic Name): Epic Name is required."),
        (answer(403, '{"errorMessages":["You do not have permission to create issues in this project."]}'),
         "lacks permission for this (403, op): You do not have permission to create issues in this project."),
        (answer(404, '{"message":"Board does not exist or you do not have permission to see it.","status-code":404}'),
         "Not found in Jira (or the configured user may not see it) (404, op): Board does not exist"),
        (answer(410, '{"errorMessages":["removed"]}', path="/rest/api/3/expression/eval"),
         "use POST /rest/api/3/expression/evaluate"),
        (answer(429, "", **{"Retry-After": "7", "X-RateLimit-Reset": "2026-11-20T10:00Z"}),
         "retry after 7 s (the limit resets at 2026-11-20T10:00Z)"),
        (answer(503, "<html><body>Service Unavailable</body></html>", **{"Retry-After": "3"}),
         "Jira had an internal error (503, op); retry after 3 s"),
        (answer(502, "<!DOCTYPE html><html>bad gateway</html>"), "(502, op); this is usually temporary"),
        (answer(401, '{"errorMessages":["Login failed"]}', **{"X-Seraph-LoginReason": "AUTHENTICATION_DENIED"}),
         "requires a CAPTCHA"),
        (answer(302, "", Location="https://acme.atlassian.net/login.jsp?token=abc"),
         "Jira redirected op (302) to https://acme.atlassian.net/login.jsp: check JIRA_URL"),
    ],
)
def test_documented_error_shapes_become_actionable_messages(response: httpx2.Response, expected: str) -> None:
    error = error_from_response(response, "op", credential="Basic auth as 'u'",
                                field_names={"customfield_10011": "Epic Name"})
    assert expected in str(error)
    assert "<html" not in str(error).lower() and "token=abc" not in str(error)


def test_retry_after_is_parsed_and_zero_is_kept_as_zero() -> None:
    assert error_from_response(answer(429, "", **{"Retry-After": "0"}), "op").retry_after == 0.0
    assert error_from_response(answer(429, "", **{"Retry-After": "Wed, 21 Oct 2026 07:28:00 GMT"}), "op").retry_after \
        is None


def test_certificate_failures_point_at_the_ca_bundle_setting() -> None:
    import ssl

    request = httpx2.Request("GET", "https://jira.example.com/rest/api/2/myself")
    cause = ssl.SSLCertVerificationError("certificate verify failed: unable to get local issuer certificate")
    try:
        raise httpx2.ConnectError("[SSL: CERTIFICATE_VERIFY_FAILED]", request=request) from cause
    except httpx2.ConnectError as exc:
        error = error_from_exception(exc, "myself.get", "https://jira.example.com")
    assert "JIRA_CA_BUNDLE" in str(error) and "JIRA_SSL_VERIFY=false" in str(error)
