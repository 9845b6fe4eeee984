"""docs/troubleshooting.md covers each error jiraplug.jira.errors maps, in the words the code uses."""

from __future__ import annotations

import httpx2
import pytest

from jiraplug.jira import errors
from tests.docs.gen import ROOT

PAGE = (ROOT / "docs" / "troubleshooting.md").read_text()


def quoted(message: str) -> bool:
    return f"> {message}\n" in PAGE


def response(status: int, method: str = "GET", path: str = "/rest/api/3/issue/PLAT-1", **kwargs) -> httpx2.Response:
    return httpx2.Response(status, request=httpx2.Request(method, f"https://jira.example.com{path}"), **kwargs)


@pytest.mark.parametrize("status", sorted(errors._STATUS_ADVICE))
def test_every_mapped_status_has_a_section_in_the_codes_words(status: int) -> None:
    assert f"\n### {status}\n" in PAGE
    assert f"> {errors._STATUS_ADVICE[status]} ({status}, " in PAGE


@pytest.mark.parametrize(("made", "operation"), [
    (response(400, "POST", "/rest/api/3/issue", json={"errorMessages": [],
                                                      "errors": {"summary": "You must specify a summary of the issue."}}),
     "issue.create"),
    (response(404, json={"errorMessages": ["Issue does not exist or you do not have permission to see it."]}),
     "issue.get PLAT-99999"),
    (response(410, path="/rest/api/3/search"), "search"),
    (response(429, json={}, headers={"retry-after": "30", "x-ratelimit-reset": "2026-12-04T10:00Z"}), "search"),
    (response(500), "..."),
    (response(301, headers={"location": "https://jira.example.com/..."}), "issue.get PLAT-1"),
])
def test_quoted_messages_are_what_jiraplug_says(made: httpx2.Response, operation: str) -> None:
    message = str(errors.error_from_response(made, operation))
    assert quoted(message), f"not quoted on the page: {message}"


def test_every_transport_failure_is_in_the_table() -> None:
    for phrase in ("did not answer in time", "could not be reached through the proxy",
                   "presented a TLS certificate that is not trusted", "could not be reached (connection failed)",
                   "closed the connection without a complete answer", "redirected too many times"):
        assert phrase in PAGE
    source = (ROOT / "core" / "jira" / "errors.py").read_text()
    for phrase in ("could not be reached through the proxy", "presented a TLS certificate that is not trusted",
                   "closed the connection without a complete answer", "redirected too many times"):
        assert phrase in source
