"""Built-in toolset ``attachments``: list, download, upload and delete issue attachments.

Downloads come back as MCP content: images as ``ImageContent``, other files as an
``EmbeddedResource`` (text when the file is text, base64 otherwise), capped at
``attachments.max_attachment_bytes``. Uploads take base64 content, or a local file that
must lie inside ``attachments.upload_dir`` (``JIRAPLUG_UPLOAD_DIR``); without that setting
no local file is ever read. Both keys are this toolset's ``[attachments]`` table.

Tools name the issue as well as the attachment: Jira's attachment metadata does not say
which issue it belongs to, and ``JIRA_PROJECTS_FILTER`` is checked on the issue.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import stat
from pathlib import Path
from typing import Annotated, Any

import anyio.to_thread
from mcp.types import BlobResourceContents, EmbeddedResource, ImageContent, TextContent, TextResourceContents
from pydantic import Field

from jiraplug import PluginSettings, hookimpl
from jiraplug.jira.shapes import obj, objects, scalar, text
from jiraplug.server.registry import ToolRegistry
from jiraplug.tool_errors import UserFacingError
from jiraplug.server.toolcalls import current_call
from jiraplug.server.projects_filter import guard_issue
from jiraplug.server.toolkit import IssueKey, Limit, StartAt, jira, slice_page

AttachmentId = Annotated[str, Field(description="Attachment id, from jira_list_attachments")]
PLUGIN_NAME = "attachments"

# Images a client can show inline; anything else (SVG included) is sent as a resource.
INLINE_IMAGES = {"image/png", "image/jpeg", "image/gif", "image/webp"}
TEXT_TYPES = {"application/json", "application/xml", "application/yaml", "application/x-yaml",
              "application/javascript", "application/x-sh", "application/sql", "image/svg+xml"}


class AttachmentsSettings(PluginSettings):
    """``[attachments]``: how large a file the tools move, and where local uploads may come from."""

    max_attachment_bytes: int = Field(default=10 * 1024 * 1024, gt=0, description="Largest attachment moved")
    upload_dir: Path | None = Field(default=None, description="Only local files under this folder may be uploaded")


def _settings() -> AttachmentsSettings:
    return current_call().runtime.settings.plugin_config(PLUGIN_NAME)


def _max_bytes() -> int:
    return _settings().max_attachment_bytes


def _compact(raw: Any) -> dict[str, Any]:
    raw = obj(raw)
    out = {"id": text(raw.get("id")), "filename": scalar(raw.get("filename")), "size": scalar(raw.get("size")),
           "mime_type": scalar(raw.get("mimeType")), "created": scalar(raw.get("created")),
           "author": scalar(obj(raw.get("author")).get("displayName"))}
    return {key: value for key, value in out.items() if value is not None}


async def _attachments_of(key: str) -> list[dict[str, Any]]:
    client = await jira().ready()
    issue = await client.request(
        "GET", f"{client.api}/issue/{key}", operation="issue.get", params={"fields": "attachment"}, subject=key
    )
    return [dict(item) for item in objects(obj(obj(issue).get("fields")).get("attachment"))]


async def _attachment(key: str, attachment_id: str) -> dict[str, Any]:
    """The attachment ``attachment_id`` of issue ``key``; an error when the issue has no such attachment."""
    wanted = attachment_id.strip()
    attachments = await _attachments_of(key)
    for raw in attachments:
        if str(raw.get("id")) == wanted:
            return raw
    have = ", ".join(f"{a.get('id')} ({a.get('filename')})" for a in attachments) or "none"
    raise UserFacingError(f"issue {key} has no attachment {attachment_id!r}; its attachments: {have}")


async def jira_list_attachments(
    issue_key: IssueKey, start_at: StartAt = 0, limit: Limit = 50
) -> dict[str, Any]:
    """List an issue's attachments: id, filename, size, type."""
    key = guard_issue(issue_key)
    chunk, following = slice_page(await _attachments_of(key), start_at, limit)
    return {"issue_key": key, "attachments": [_compact(a) for a in chunk], "next_start_at": following}


async def _content(raw: dict[str, Any], cap: int) -> tuple[str, bytes, str | None]:
    """``(source URL, bytes, content type)`` of an attachment, refused over ``cap`` bytes."""
    client = await jira().ready()
    # Cloud and Data Center give different content URLs; the client keeps requests on the Jira site.
    source = raw.get("content") or f"{client.api}/attachment/content/{raw['id']}"
    data, content_type = await client.download(source, operation="attachment.download", max_bytes=cap)
    return source, data, content_type


async def jira_get_issue_images(
    issue_key: IssueKey, limit: Annotated[int, Field(ge=1, le=10)] = 5,
) -> list[TextContent | ImageContent]:
    """An issue's image attachments as images (size-limited; the rest are listed)."""
    key = guard_issue(issue_key)
    budget = _max_bytes()  # for all the images together: each is sent base64 to the model
    images = [a for a in await _attachments_of(key) if str(a.get("mimeType") or "").lower() in INLINE_IMAGES]
    shown: list[ImageContent] = []
    listed: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for raw in images:
        size = raw.get("size") if isinstance(raw.get("size"), int) else budget
        if len(shown) >= limit or size > budget:
            why = "over the image limit" if len(shown) >= limit else "over the size limit"
            skipped.append({**_compact(raw), "why": why})
            continue
        _, data, _ = await _content(raw, budget)
        budget -= len(data)
        listed.append(_compact(raw))
        shown.append(ImageContent(type="image", data=base64.b64encode(data).decode("ascii"),
                                  mime_type=str(raw["mimeType"]).lower()))
    info: dict[str, Any] = {"issue_key": key, "images": listed}
    if skipped:
        info["not_shown"] = skipped
        info["note"] = "use jira_download_attachment for one of these, or view them in Jira"
    if not images:
        info["note"] = "the issue has no image attachments (png, jpeg, gif, webp)"
    return [TextContent(type="text", text=json.dumps(info)), *shown]


async def jira_download_attachment(
    issue_key: IssueKey, attachment_id: AttachmentId
) -> list[TextContent | ImageContent | EmbeddedResource]:
    """Get an attachment's content: images inline, other files as an embedded resource."""
    client = await jira().ready()
    key = guard_issue(issue_key)
    raw = await _attachment(key, attachment_id)
    cap = _max_bytes()
    size = raw.get("size")
    if isinstance(size, int) and size > cap:
        raise UserFacingError(
            f"attachment {raw.get('filename')!r} is {size} bytes, over the {cap}-byte limit "
            "(attachments.max_attachment_bytes); download it in Jira instead"
        )
    source, data, content_type = await _content(raw, cap)
    mime = (raw.get("mimeType") or content_type or "application/octet-stream").split(";")[0].strip().lower()
    info = TextContent(type="text", text=json.dumps({"issue_key": key, **_compact(raw), "size": len(data)}))
    uri = source if "://" in source else f"{client.base_url}{source}"
    encoded = base64.b64encode(data).decode("ascii")
    if mime in INLINE_IMAGES:
        return [info, ImageContent(type="image", data=encoded, mime_type=mime)]
    text = _as_text(data, mime)
    if text is not None:
        resource: TextResourceContents | BlobResourceContents = TextResourceContents(uri=uri, mime_type=mime,
                                                                                     text=text)
    else:
        resource = BlobResourceContents(uri=uri, mime_type=mime, blob=encoded)
    return [info, EmbeddedResource(type="resource", resource=resource)]


def _as_text(data: bytes, mime: str) -> str | None:
    if not (mime.startswith("text/") or mime in TEXT_TYPES or mime.endswith(("+json", "+xml"))):
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


async def jira_upload_attachment(
    issue_key: IssueKey,
    filename: Annotated[str | None, Field(description="Name in Jira; default: the local file's name")] = None,
    content_base64: Annotated[str | None, Field(description="File content, base64")] = None,
    path: Annotated[str | None, Field(description="Local file inside the server's upload folder")] = None,
) -> dict[str, Any]:
    """Attach a file to an issue, from base64 content or a file in the upload folder."""
    client = await jira().ready()
    key = guard_issue(issue_key)
    if (content_base64 is None) == (path is None):
        raise UserFacingError("give exactly one of content_base64 (the file, base64-encoded) or path")
    cap = _max_bytes()
    if content_base64 is not None:
        if not filename:
            raise UserFacingError("filename is required with content_base64, e.g. report.pdf")
        content = _decode(content_base64, cap)
    else:
        root = _settings().upload_dir
        local, content = await anyio.to_thread.run_sync(_read_upload, root, path or "", cap)
        filename = filename or local.name
    name = _check_filename(filename or "")
    created = await client.upload(
        f"{client.api}/issue/{key}/attachments", name, content, operation="attachment.upload",
        touches=(f"issue:{key}",),
    )
    items = created if isinstance(created, list) else [created]
    return {"issue_key": key, "attachments": [_compact(a) for a in items if isinstance(a, dict)]}


def _decode(value: str, cap: int) -> bytes:
    # Reject before decoding what is clearly too large: base64 is 4 characters per 3 bytes.
    if len(value) > (cap // 3 + 1) * 4 + 4:
        raise UserFacingError(f"the content is over the {cap}-byte limit (attachments.max_attachment_bytes)")
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise UserFacingError("content_base64 is not valid base64 (standard alphabet, with = padding)") from None
    if len(data) > cap:
        raise UserFacingError(f"the content is {len(data)} bytes, over the {cap}-byte limit")
    return data


def _check_filename(filename: str) -> str:
    name = filename.strip()
    if not name or name in {".", ".."} or any(ch in name for ch in "/\\\0") or not name.isprintable():
        raise UserFacingError(f"filename {filename!r} is not a plain file name; expected e.g. report.pdf")
    return name


def _read_upload(root: Path | None, path: str, cap: int) -> tuple[Path, bytes]:
    """Read a local file for upload, only from inside ``root`` (``attachments.upload_dir``; in a worker thread)."""
    if root is None:
        raise UserFacingError(
            "uploading local files is switched off: the server has no upload folder (JIRAPLUG_UPLOAD_DIR); "
            "send the file as content_base64 instead"
        )
    base = Path(root).expanduser().resolve()
    # One answer for a missing file and for any path outside the folder: the tool must not
    # tell a caller which server paths exist.
    not_there = UserFacingError(f"no file {path!r} in the upload folder (only files inside it may be uploaded)")
    try:
        candidate = Path(path).expanduser()
        candidate = candidate if candidate.is_absolute() else base / candidate
        # resolve() follows every symlink, so a link inside the folder pointing out of it is caught below.
        # Decide "outside" before looking at existence, so nothing outside the folder is probed.
        if not candidate.resolve().is_relative_to(base):
            raise not_there
        real = candidate.resolve(strict=True)
    except (OSError, RuntimeError, ValueError):  # ValueError: a NUL byte in the path
        raise not_there from None
    if not real.is_relative_to(base):
        raise not_there
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer (a regular file ignores the flag).
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise UserFacingError(f"cannot read {path!r}: {exc.strerror}") from None
    info = os.fstat(fd)
    if not stat.S_ISREG(info.st_mode):
        os.close(fd)
        raise UserFacingError(f"{path!r} is not a regular file")
    with os.fdopen(fd, "rb") as handle:
        if info.st_size > cap:
            raise UserFacingError(f"{path!r} is {info.st_size} bytes, over the {cap}-byte limit")
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise UserFacingError(f"{path!r} is over the {cap}-byte limit")
    return real, data


async def jira_delete_attachment(issue_key: IssueKey, attachment_id: AttachmentId) -> dict[str, Any]:
    """Delete an attachment from an issue."""
    client = await jira().ready()
    key = guard_issue(issue_key)
    raw = await _attachment(key, attachment_id)
    await client.request(
        "DELETE", f"{client.api}/attachment/{raw['id']}", operation="attachment.delete",
        touches=(f"issue:{key}",), subject=str(raw["id"]),
    )
    return {"issue_key": key, "deleted": _compact(raw)}


@hookimpl
def plugin_settings() -> type[AttachmentsSettings]:
    return AttachmentsSettings


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    registry.add(jira_list_attachments, title="List attachments", read_only=True, idempotent=True)
    registry.add(jira_download_attachment, title="Download attachment", read_only=True, idempotent=True)
    registry.add(jira_get_issue_images, title="Issue images", read_only=True, idempotent=True)
    registry.add(jira_upload_attachment, title="Upload attachment")
    registry.add(jira_delete_attachment, title="Delete attachment", destructive=True, idempotent=True)
