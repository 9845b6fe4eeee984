"""The converters against real bodies from the Jira emulator, over loopback HTTP.

The sandbox renders each seeded document twice, with its own independent writers: ADF
on Cloud REST v3 and wiki markup on Cloud REST v2. Read with our readers, both must give
the same Markdown. Bodies we write must be accepted and read back unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx2
import pytest

from jiraplug.jira.markup import adf_to_markdown, markdown_to_adf, markdown_to_wiki, wiki_to_markdown
from jiraplug.sandbox import SandboxServer
from tests.markup.adf_schema import assert_valid_adf

RICH = (
    "## Findings\n\nThe **cache** misses on `GET /issue` since [the deploy](https://example.com/deploys/42).\n\n"
    "> [!WARNING]\n> Rolling back needs a *maintenance window*.\n\n"
    "1. Drain the pool\n2. Restart\n   - workers\n   - schedulers\n\n"
    "| Step | Owner |\n| --- | --- |\n| drain | ops |\n\n"
    "```python\npool.drain(timeout=30)\n```"
)


def _client(sandbox: SandboxServer) -> httpx2.Client:
    user = sandbox.default_user
    if sandbox.flavour == "cloud":
        return httpx2.Client(base_url=sandbox.url, auth=(user.email, user.api_token), timeout=10)
    return httpx2.Client(base_url=sandbox.url, headers={"Authorization": f"Bearer {user.personal_token}"}, timeout=10)


def _seeded_pairs(client: httpx2.Client) -> Iterator[tuple[str, Any, str]]:
    found = client.get(
        "/rest/api/3/search/jql",
        params={"jql": "project is not EMPTY order by key", "maxResults": 40, "fields": "description,comment"},
    )
    found.raise_for_status()
    for issue in found.json()["issues"]:
        v2 = client.get(f"/rest/api/2/issue/{issue['key']}", params={"fields": "description,comment"})
        v2.raise_for_status()
        fields = v2.json()["fields"]
        yield issue["key"], issue["fields"]["description"], fields["description"]
        for adf_comment, wiki_comment in zip(issue["fields"]["comment"]["comments"], fields["comment"]["comments"], strict=True):
            yield issue["key"], adf_comment["body"], wiki_comment["body"]


def test_adf_and_wiki_renderings_of_the_same_documents_read_the_same(cloud_sandbox: SandboxServer) -> None:
    with _client(cloud_sandbox) as client:
        pairs = list(_seeded_pairs(client))
    assert len(pairs) >= 40
    structure = {"heading": 0, "list": 0, "code": 0, "link": 0, "bold": 0}
    for key, adf, wiki in pairs:
        from_adf, from_wiki = adf_to_markdown(adf), wiki_to_markdown(wiki)
        assert from_adf == from_wiki, key
        structure["heading"] += "\n#" in "\n" + from_adf
        structure["list"] += "\n1. " in "\n" + from_adf or "\n- " in "\n" + from_adf
        structure["code"] += "```" in from_adf
        structure["link"] += "](http" in from_adf or "<http" in from_adf
        structure["bold"] += "**" in from_adf
    assert all(structure.values()), structure  # the comparison covered real structure, not just text


def test_markdown_written_as_adf_is_accepted_and_reads_back() -> None:
    doc = markdown_to_adf(RICH)
    assert_valid_adf(doc)
    with SandboxServer(flavour="cloud", seed=3, port=0) as sandbox, _client(sandbox) as client:
        created = client.post("/rest/api/3/issue/MOB-1/comment", json={"body": doc})
        assert created.status_code == 201, created.text
        fetched = client.get(f"/rest/api/3/issue/MOB-1/comment/{created.json()['id']}")
        fetched.raise_for_status()
    assert adf_to_markdown(fetched.json()["body"]) == RICH


def test_markdown_written_as_wiki_is_accepted_and_reads_back() -> None:
    with SandboxServer(flavour="dc", seed=3, port=0) as sandbox, _client(sandbox) as client:
        name = sandbox.users[1].name
        markdown = RICH + f"\n\nPinging @[{name}](user:{name})."
        wiki = markdown_to_wiki(markdown)
        assert f"[~{name}]" in wiki
        created = client.post("/rest/api/2/issue/MOB-1/comment", json={"body": wiki})
        assert created.status_code == 201, created.text
        fetched = client.get(f"/rest/api/2/issue/MOB-1/comment/{created.json()['id']}")
        fetched.raise_for_status()
    # Wiki has no purple "note" panel or table of contents: what it can say comes back.
    assert wiki_to_markdown(fetched.json()["body"]) == markdown


@pytest.mark.parametrize("flavour", ["cloud", "dc"])
def test_every_seeded_description_converts_to_valid_adf(flavour: str, cloud_sandbox: SandboxServer, dc_sandbox: SandboxServer) -> None:
    sandbox = cloud_sandbox if flavour == "cloud" else dc_sandbox
    path = "/rest/api/3/search/jql" if flavour == "cloud" else "/rest/api/2/search"
    with _client(sandbox) as client:
        found = client.get(path, params={"jql": "project is not EMPTY order by key", "maxResults": 50, "fields": "description"})
        found.raise_for_status()
    bodies = [issue["fields"]["description"] for issue in found.json()["issues"]]
    bodies = [body for body in bodies if body]  # some issues have no description
    assert len(bodies) >= 20
    for body in bodies:
        markdown = adf_to_markdown(body) if flavour == "cloud" else wiki_to_markdown(body)
        assert markdown.strip()
        assert_valid_adf(markdown_to_adf(markdown))
