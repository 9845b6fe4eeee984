"""Attachments: upload, metadata, download, delete.

- ``POST /rest/api/{v}/issue/{key}/attachments``: multipart, field ``file`` (repeatable); needs
  ``X-Atlassian-Token: no-check`` (else 403 "XSRF check failed"); answers the list of new
  attachments. Files over :data:`UPLOAD_LIMIT` get 413.
- ``GET /rest/api/{v}/attachment/{id}`` (metadata with the ``content`` URL), ``/attachment/meta``,
  ``DELETE /rest/api/{v}/attachment/{id}``.
- Content: Cloud ``GET /rest/api/3/attachment/content/{id}`` answers 303 to a signed media URL
  (or the bytes with ``redirect=false``); both flavours serve ``/secure/attachment/{id}/{name}``.
"""

from __future__ import annotations

import hashlib
import hmac
import mimetypes
import posixpath
from urllib.parse import quote

from jiraplug.sandbox import ops
from jiraplug.sandbox.model import Attachment, Issue
from jiraplug.sandbox.web import Call, JiraError, SandboxContext, api, error_body, json_response, not_found_uri
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.routing import Route

__all__ = ["routes", "UPLOAD_LIMIT", "XSRF_FAILED", "MEDIA_PREFIX"]

UPLOAD_LIMIT = 10 * 1024 * 1024
XSRF_FAILED = "XSRF check failed"
MEDIA_PREFIX = "/sandbox-media"


def _find(call: Call) -> tuple[Issue, Attachment]:
    attachment_id = call.request.path_params["id"]
    found = call.store.attachment(attachment_id)
    if found is None or not call.user.can_browse(found[0].project_key):
        raise JiraError(404, f"The attachment with id '{attachment_id}' does not exist or you do not have "
                             "permission to see it.")
    return found


def _bytes_response(attachment: Attachment) -> Response:
    disposition = f"attachment; filename*=UTF-8''{quote(attachment.filename)}"
    return Response(attachment.content, media_type=attachment.mime_type,
                    headers={"Content-Disposition": disposition, "Cache-Control": "private, max-age=0"})


def _media_token(ctx: SandboxContext, attachment_id: str) -> str:
    key = f"jiraplug-sandbox-media-{ctx.seed}".encode()
    return hmac.new(key, attachment_id.encode(), hashlib.sha256).hexdigest()[:32]


@api
async def upload(call: Call) -> Response:
    """Add attachments to an issue."""
    token = call.request.headers.get("x-atlassian-token", "").strip().lower()
    if token not in ("no-check", "nocheck"):
        return PlainTextResponse(XSRF_FAILED, status_code=403)
    issue = call.issue(write="create attachments")
    content_type = call.request.headers.get("content-type", "")
    if not content_type.startswith("multipart/form-data"):
        raise JiraError(415, "Attachments must be sent as multipart/form-data with a 'file' part.")
    async with call.request.form(max_files=60) as form:
        parts = [p for p in form.getlist("file") if isinstance(p, UploadFile)]
        if not parts:
            raise JiraError(400, "No file was found in the 'file' part of the request.")
        files = []
        for part in parts:
            data = await part.read()
            name = posixpath.basename((part.filename or "").replace("\\", "/")) or "upload.bin"
            if len(data) > UPLOAD_LIMIT:
                raise JiraError(413, f"The file '{name}' is too large: {len(data)} bytes, the limit is "
                                     f"{UPLOAD_LIMIT} bytes.")
            mime = (part.content_type or "").split(";")[0].strip()
            if not mime or mime == "application/octet-stream":
                mime = mimetypes.guess_type(name)[0] or "application/octet-stream"
            files.append((name, mime, data))
    created = [ops.add_attachment(call.store, issue, call.user, name, mime, data) for name, mime, data in files]
    return json_response([call.render.attachment(a) for a in created])


@api
async def upload_settings(call: Call) -> Response:
    """``GET /attachment/meta``: attachments are on, with the upload limit."""
    return json_response({"enabled": True, "uploadLimit": UPLOAD_LIMIT})


@api
async def metadata(call: Call) -> Response:
    """``GET /attachment/{id}``."""
    _, attachment = _find(call)
    return json_response(call.render.attachment(attachment, metadata=True))


@api
async def delete(call: Call) -> Response:
    """``DELETE /attachment/{id}``: the uploader or an administrator; 204."""
    issue, attachment = _find(call)
    call.require_edit(issue.project_key, "delete attachments")
    if attachment.author is not call.user and not call.store.is_admin(call.user):
        raise JiraError(403, "You do not have permission to delete this attachment.")
    ops.delete_attachment(call.store, issue, attachment, call.user)
    return Response(status_code=204)


@api
async def cloud_content(call: Call) -> Response:
    """``GET /rest/api/3/attachment/content/{id}``: 303 to the media URL, or bytes (``redirect=false``)."""
    if call.flavour != "cloud":
        return not_found_uri(call.request)
    _, attachment = _find(call)
    if call.request.query_params.get("redirect", "true").lower() == "false":
        return _bytes_response(attachment)
    token = _media_token(call.ctx, attachment.id)
    location = f"{call.render.base}{MEDIA_PREFIX}/{attachment.id}/{quote(attachment.filename)}?token={token}"
    return RedirectResponse(location, status_code=303)


@api
async def secure_download(call: Call) -> Response:
    """``GET /secure/attachment/{id}/{filename}`` (authenticated)."""
    _, attachment = _find(call)
    if call.request.path_params["filename"] != attachment.filename:
        raise JiraError(404, "The attachment file name does not match.")
    return _bytes_response(attachment)


async def media(request: Request) -> Response:
    """The signed, credential-free download URL Cloud redirects to."""
    ctx: SandboxContext = request.app.state.sandbox
    attachment_id = request.path_params["id"]
    token = request.query_params.get("token", "")
    if not hmac.compare_digest(token, _media_token(ctx, attachment_id)):
        return json_response(error_body(["The media token is missing or invalid."]), 403)
    found = ctx.store.attachment(attachment_id)
    if found is None:
        return json_response(error_body(["The file does not exist."]), 404)
    return _bytes_response(found[1])


def routes() -> list[Route]:
    """The routes of this module."""
    api_base = "/rest/api/{version}"
    return [
        Route(f"{api_base}/issue/{{key}}/attachments", upload, methods=["POST"]),
        Route(f"{api_base}/attachment/meta", upload_settings, methods=["GET"]),
        Route(f"{api_base}/attachment/content/{{id}}", cloud_content, methods=["GET"]),
        Route(f"{api_base}/attachment/{{id}}", metadata, methods=["GET"]),
        Route(f"{api_base}/attachment/{{id}}", delete, methods=["DELETE"]),
        Route("/secure/attachment/{id}/{filename}", secure_download, methods=["GET"]),
        Route(f"{MEDIA_PREFIX}/{{id}}/{{filename}}", media, methods=["GET"]),
    ]
