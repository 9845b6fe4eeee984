"""The ``attachments`` toolset through the MCP client, against the sandbox (Cloud and Data Center)."""

from __future__ import annotations

import base64
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from mcp.types import BlobResourceContents, EmbeddedResource, ImageContent, TextContent, TextResourceContents

from jiraplug.sandbox import SandboxServer
from jiraplug.sandbox.model import Attachment, Issue
from tests.tools.helpers import call, call_error, connect, tool_names

pytestmark = pytest.mark.anyio

WRITE_TOOLS = {"jira_upload_attachment", "jira_delete_attachment"}


@pytest.fixture(scope="module", params=["cloud", "dc"])
def sandbox(request: pytest.FixtureRequest) -> Iterator[SandboxServer]:
    """A sandbox of each flavour for this module's writes (tests touch different objects)."""
    with SandboxServer(flavour=request.param, seed=2, port=0) as server:
        yield server


def with_attachment(sandbox: SandboxServer, mime: str, project: str | None = None) -> tuple[Issue, Attachment]:
    for issue in sandbox.state.issues:
        for attachment in issue.attachments:
            if attachment.mime_type == mime and (project is None or issue.project_key == project):
                return issue, attachment
    raise AssertionError(f"the sandbox has no {mime} attachment")


def plain_issue(sandbox: SandboxServer, project: str = "PLAT") -> Issue:
    return next(i for i in sandbox.state.issues if i.project_key == project)


async def test_list_attachments(sandbox: SandboxServer) -> None:
    issue, _ = with_attachment(sandbox, "image/png")
    async with connect(sandbox) as client:
        listed = await call(client, "jira_list_attachments", issue_key=issue.key)
    assert [(a["id"], a["filename"], a["size"], a["mime_type"]) for a in listed["attachments"]] == [
        (a.id, a.filename, a.size, a.mime_type) for a in issue.attachments
    ]
    assert listed["next_start_at"] is None


async def test_download_image_text_and_binary(sandbox: SandboxServer) -> None:
    png_issue, png = with_attachment(sandbox, "image/png")
    json_issue, doc = with_attachment(sandbox, "application/json")
    target = plain_issue(sandbox)
    blob = bytes(range(256)) * 4
    async with connect(sandbox) as client:
        image = await client.call_tool("jira_download_attachment", {"issue_key": png_issue.key,
                                                                      "attachment_id": png.id})
        text = await client.call_tool("jira_download_attachment", {"issue_key": json_issue.key,
                                                                     "attachment_id": doc.id})
        uploaded = await call(client, "jira_upload_attachment", issue_key=target.key, filename="dump.bin",
                              content_base64=base64.b64encode(blob).decode())
        binary = await client.call_tool("jira_download_attachment", {
            "issue_key": target.key, "attachment_id": uploaded["attachments"][0]["id"]})
    assert not image.is_error and isinstance(image.content[1], ImageContent)
    assert base64.b64decode(image.content[1].data) == png.content and image.content[1].mime_type == "image/png"
    info = json.loads(image.content[0].text)
    assert isinstance(image.content[0], TextContent) and info["filename"] == png.filename
    resource = text.content[1]
    assert isinstance(resource, EmbeddedResource) and isinstance(resource.resource, TextResourceContents)
    assert resource.resource.text == doc.content.decode() and resource.resource.mime_type == "application/json"
    raw = binary.content[1]
    assert isinstance(raw, EmbeddedResource) and isinstance(raw.resource, BlobResourceContents)
    assert base64.b64decode(raw.resource.blob) == blob


async def test_size_cap_refuses_big_files_both_ways(sandbox: SandboxServer) -> None:
    issue, png = with_attachment(sandbox, "image/png")
    cap = png.size - 1
    before = len(issue.attachments)
    async with connect(sandbox, JIRAPLUG_ATTACHMENTS__MAX_ATTACHMENT_BYTES=str(cap)) as client:
        down = await call_error(client, "jira_download_attachment", issue_key=issue.key, attachment_id=png.id)
        up = await call_error(client, "jira_upload_attachment", issue_key=issue.key, filename="big.png",
                              content_base64=base64.b64encode(png.content).decode())
    assert f"over the {cap}-byte limit" in down and "attachments.max_attachment_bytes" in down
    assert f"over the {cap}-byte limit" in up
    assert len(sandbox.state.issue_by_key(issue.key).attachments) == before


async def test_upload_base64_and_delete(sandbox: SandboxServer) -> None:
    issue = plain_issue(sandbox, "MOB")
    before = {a.id for a in issue.attachments}
    async with connect(sandbox) as client:
        uploaded = await call(client, "jira_upload_attachment", issue_key=issue.key, filename="notes.txt",
                              content_base64=base64.b64encode("héllo\n".encode()).decode())
        bad = await call_error(client, "jira_upload_attachment", issue_key=issue.key, filename="x.txt",
                               content_base64="not base64!")
        both = await call_error(client, "jira_upload_attachment", issue_key=issue.key, filename="x.txt",
                                content_base64="aGk=", path="x.txt")
        sneaky = await call_error(client, "jira_upload_attachment", issue_key=issue.key, filename="../x.txt",
                                  content_base64="aGk=")
        new_id = uploaded["attachments"][0]["id"]
        stored = sandbox.state.attachment(new_id)
        wrong_issue = await call_error(client, "jira_delete_attachment", issue_key="MOB-1" if issue.key != "MOB-1"
                                       else "MOB-2", attachment_id=new_id)
        deleted = await call(client, "jira_delete_attachment", issue_key=issue.key, attachment_id=new_id)
    assert stored is not None and stored[1].content == "héllo\n".encode() and stored[1].filename == "notes.txt"
    assert uploaded["attachments"][0]["filename"] == "notes.txt"
    assert "not valid base64" in bad and "exactly one of" in both and "not a plain file name" in sneaky
    assert f"no attachment {new_id!r}" in wrong_issue
    assert deleted["deleted"]["id"] == new_id and sandbox.state.attachment(new_id) is None
    assert {a.id for a in sandbox.state.issue_by_key(issue.key).attachments} == before


async def test_upload_from_the_upload_folder_only(sandbox: SandboxServer, tmp_path: Path) -> None:
    issue = plain_issue(sandbox, "OPS")
    folder = tmp_path / "uploads"
    (folder / "sub").mkdir(parents=True)
    (folder / "sub" / "report.csv").write_text("a,b\n1,2\n")
    secret = tmp_path / "secret.txt"
    secret.write_text("do not send")
    os.symlink(secret, folder / "link.txt")
    count = len(issue.attachments)
    async with connect(sandbox, JIRAPLUG_UPLOAD_DIR=str(folder)) as client:
        good = await call(client, "jira_upload_attachment", issue_key=issue.key, path="sub/report.csv")
        refused = [
            await call_error(client, "jira_upload_attachment", issue_key=issue.key, path="../secret.txt"),
            await call_error(client, "jira_upload_attachment", issue_key=issue.key, path=str(secret)),
            await call_error(client, "jira_upload_attachment", issue_key=issue.key, path="link.txt"),
        ]
        missing = await call_error(client, "jira_upload_attachment", issue_key=issue.key, path="nope.txt")
        folder_itself = await call_error(client, "jira_upload_attachment", issue_key=issue.key, path="sub")
    async with connect(sandbox) as client:
        unset = await call_error(client, "jira_upload_attachment", issue_key=issue.key, path="sub/report.csv")
    attachments = sandbox.state.issue_by_key(issue.key).attachments
    assert good["attachments"][0]["filename"] == "report.csv"
    assert len(attachments) == count + 1 and attachments[-1].content == b"a,b\n1,2\n"
    assert all("no file" in text and "only files inside it" in text for text in refused), refused
    assert not any(a.content == b"do not send" for a in attachments)
    assert "no file" in missing and "not a regular file" in folder_itself
    assert "switched off" in unset and "content_base64" in unset


async def test_projects_filter_and_read_only_mode(sandbox: SandboxServer) -> None:
    issue, png = with_attachment(sandbox, "image/png", project="PLAT")
    async with connect(sandbox, JIRA_PROJECTS_FILTER="MOB") as client:
        refused = [
            await call_error(client, "jira_list_attachments", issue_key=issue.key),
            await call_error(client, "jira_download_attachment", issue_key=issue.key, attachment_id=png.id),
            await call_error(client, "jira_delete_attachment", issue_key=issue.key, attachment_id=png.id),
            await call_error(client, "jira_upload_attachment", issue_key=issue.key, filename="a.txt",
                             content_base64="aGk="),
        ]
    async with connect(sandbox, READ_ONLY_MODE="true") as client:
        names = await tool_names(client)
    assert all("outside the projects" in text for text in refused), refused
    assert sandbox.state.attachment(png.id) is not None
    assert {"jira_list_attachments", "jira_download_attachment"} <= names and not WRITE_TOOLS & names


async def test_issue_images_come_back_as_images_within_the_size_limit(sandbox: SandboxServer) -> None:
    """Two images upload to a plain issue; with room for one, the other is listed with a note."""
    _, png = with_attachment(sandbox, "image/png")
    issue = plain_issue(sandbox, "MOB")
    encoded = base64.b64encode(png.content).decode()
    async with connect(sandbox) as client:
        for name in ("one.png", "two.png"):
            await call(client, "jira_upload_attachment", issue_key=issue.key, filename=name, content_base64=encoded)
        both = await client.call_tool("jira_get_issue_images", {"issue_key": issue.key})
    async with connect(sandbox, JIRAPLUG_ATTACHMENTS__MAX_ATTACHMENT_BYTES=str(png.size + 1)) as client:
        one = await client.call_tool("jira_get_issue_images", {"issue_key": issue.key})
    assert not both.is_error and [type(c) for c in both.content] == [TextContent, ImageContent, ImageContent]
    assert base64.b64decode(both.content[1].data) == png.content and both.content[1].mime_type == "image/png"
    info = json.loads(one.content[0].text)
    assert [type(c) for c in one.content] == [TextContent, ImageContent]
    assert [i["filename"] for i in info["images"]] == ["one.png"]
    assert [(i["filename"], i["why"]) for i in info["not_shown"]] == [("two.png", "over the size limit")]
    assert "jira_download_attachment" in info["note"]
