"""Client family: request building, issue parsing and compact rendering, Markdown <-> ADF / wiki.

Inputs are real sandbox responses (fetched once in ``setup_cache``) and a Markdown corpus
exercising every construct the converters handle, so the figures track the code on the
live path rather than toy inputs.
"""

from __future__ import annotations

import json
from typing import Any

from .common import optional_attr, sandbox_samples

MARKUP = "jiraplug.jira.markup"

# One screen of the Markdown an assistant writes into Jira: every block and inline construct.
MARKDOWN_DOC = """\
# Incident follow-up: checkout latency

The **p99** of `POST /checkout` rose from *180 ms* to ~~900 ms~~ 1.2 s after the
[deploy of 14 May](https://example.com/deploys/4411). Owner: @alice.

## What we know

1. The new fraud check calls the scoring service **synchronously**.
2. Connection reuse dropped to 40%:
   - keep-alive was disabled by the proxy change
   - TLS handshakes doubled
3. No errors, only latency.

> Customers on mobile saw time-outs first.
> The status page was updated at 10:42.

```python
async def score(order):
    async with pool.acquire() as conn:
        return await conn.post("/score", json=order)
```

| Region | p50 | p99 |
|--------|-----|-----|
| eu     | 95  | 1200 |
| us     | 88  | 1150 |

- [x] roll back the proxy change
- [ ] add a budget alert on p99

---

See also PLAT-12 and the runbook.
"""

SIZES = {"1 screen": 1, "20 screens": 20}


class IssueParsing:
    """Decoding Jira's JSON and rendering the compact, LLM-facing issue view."""

    def setup_cache(self) -> dict[str, bytes]:
        return sandbox_samples()

    def setup(self, data: dict[str, bytes]) -> None:
        from jiraplug.jira.compact import compact_issue

        self.compact_issue = compact_issue
        self.issue = json.loads(data["issue"])
        self.page = json.loads(data["search"])
        self.base_url = data["base_url"].decode()
        compact_issue(self.issue, self.base_url)  # lazy imports (markup converters) happen here, untimed

    def time_decode_issue(self, data: dict[str, bytes]) -> None:
        json.loads(data["issue"])

    def time_compact_issue(self, data: dict[str, bytes]) -> None:
        self.compact_issue(self.issue, self.base_url)

    def time_decode_and_compact_search_page_50(self, data: dict[str, bytes]) -> None:
        page = json.loads(data["search"])
        [self.compact_issue(issue, self.base_url) for issue in page["issues"]]

    def track_search_page_bytes(self, data: dict[str, bytes]) -> int:
        return len(data["search"])

    track_search_page_bytes.unit = "bytes"  # type: ignore[attr-defined]


class ClientRequest:
    """The Jira client's own work per request: build, run the middleware chain, decode.

    The HTTP transport is an in-memory ``MockTransport`` answering a real sandbox issue, so
    the figure is the client's overhead, without network or server time. 100 requests per
    sample, so the event loop's start-up is amortised.
    """

    params = ["cloud", "dc"]
    param_names = ["deployment"]
    REQUESTS = 100

    def setup_cache(self) -> dict[str, bytes]:
        return sandbox_samples()

    def setup(self, data: dict[str, bytes], deployment: str) -> None:
        import httpx2

        from jiraplug.jira.auth import JiraAuth
        from jiraplug.jira.client import Deployment, JiraClient

        body = data["issue"]
        search = json.dumps({"issues": json.loads(data["search"])["issues"][:10], "isLast": True,
                             "total": 10}).encode()

        def answer(request: httpx2.Request) -> httpx2.Response:
            return httpx2.Response(200, content=search if "search" in request.url.path else body,
                                   headers={"content-type": "application/json"})

        base = "https://jira.example.test"
        self.make_client = lambda: JiraClient(
            httpx2.AsyncClient(base_url=base, transport=httpx2.MockTransport(answer)),
            base_url=base,
            deployment=Deployment(deployment),
            auth=JiraAuth.basic("bench@example.test", "not-a-secret") if deployment == "cloud"
            else JiraAuth.bearer("not-a-secret"),
        )

    def _run(self, work: Any) -> None:
        import anyio

        async def main() -> None:
            client = self.make_client()
            try:
                for _ in range(self.REQUESTS):
                    await work(client)
            finally:
                await client.aclose()

        anyio.run(main)

    def time_get_issue_x100(self, data: dict[str, bytes], deployment: str) -> None:
        self._run(lambda client: client.get_issue("PLAT-1", fields=["summary", "status", "description"]))

    def time_search_x100(self, data: dict[str, bytes], deployment: str) -> None:
        self._run(lambda client: client.search("project = PLAT", fields=["summary", "status"], limit=10))


class Markup:
    """Markdown <-> ADF (Cloud) and Markdown <-> wiki markup (Data Center).

    Skipped until ``jiraplug.jira.markup`` provides the converters.
    """

    params = list(SIZES)
    param_names = ["size"]

    def setup(self, size: str) -> None:
        self.markdown_to_adf = optional_attr(MARKUP, "markdown_to_adf")
        self.adf_to_markdown = optional_attr(MARKUP, "adf_to_markdown")
        self.markdown_to_wiki = optional_attr(MARKUP, "markdown_to_wiki")
        self.wiki_to_markdown = optional_attr(MARKUP, "wiki_to_markdown")
        self.markdown = "\n".join([MARKDOWN_DOC] * SIZES[size])
        self.adf = self.markdown_to_adf(self.markdown)
        self.wiki = self.markdown_to_wiki(self.markdown)

    def time_markdown_to_adf(self, size: str) -> None:
        self.markdown_to_adf(self.markdown)

    def time_adf_to_markdown(self, size: str) -> None:
        self.adf_to_markdown(self.adf)

    def time_markdown_to_wiki(self, size: str) -> None:
        self.markdown_to_wiki(self.markdown)

    def time_wiki_to_markdown(self, size: str) -> None:
        self.wiki_to_markdown(self.wiki)
