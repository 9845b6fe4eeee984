"""Binary downloads with a size limit, following Jira's redirects without leaking the credential.

Jira Cloud answers ``GET /rest/api/3/attachment/content/{id}`` with a redirect to its media
store on another host; Data Center serves the file itself. :func:`bounded_exchange`
follows up to :data:`MAX_REDIRECTS` redirects by hand so that a hop to another origin
carries no ``Authorization`` and none of the configured custom headers, and reads the body
only up to the limit.
"""

from __future__ import annotations

import httpx2

from jiraplug.jira.errors import ResponseTooLarge

BODY_LIMIT_KEY = "jiraplug.body_limit"
"""``request.extensions`` key: the largest body (bytes) the transport may read for this request."""
MAX_REDIRECTS = 5
_REDIRECTS = {301, 302, 303, 307, 308}
_ERROR_BODY_LIMIT = 64 * 1024  # an error page is read only this far, for its message


async def bounded_exchange(http: httpx2.AsyncClient, request: httpx2.Request, limit: int) -> httpx2.Response:
    """Send ``request`` (following redirects) and read at most ``limit`` bytes of the final body.

    Raises :class:`ResponseTooLarge` when ``Content-Length`` announces more than ``limit``,
    or as soon as more than ``limit`` bytes have arrived. The returned response is fully
    read, with the history of redirects it followed.
    """
    history: list[httpx2.Response] = []
    current = request
    while True:
        response = await http.send(current, stream=True)
        try:
            location = response.headers.get("location")
            if response.status_code in _REDIRECTS and location and len(history) < MAX_REDIRECTS:
                await response.aread()
                history.append(response)
                current = _follow(current, response.url.join(location), request)
                continue
            body = await _read_bounded(response, limit if response.status_code < 400 else _ERROR_BODY_LIMIT,
                                       enforce=response.status_code < 400)
        finally:
            await response.aclose()
        headers = [(k, v) for k, v in response.headers.multi_items()
                   if k.lower() not in {"content-encoding", "content-length", "transfer-encoding"}]
        return httpx2.Response(
            response.status_code,
            headers=[*headers, ("content-length", str(len(body)))],
            content=body,
            request=request,
            extensions=dict(response.extensions),
            history=history,
        )


def _follow(previous: httpx2.Request, url: httpx2.URL, original: httpx2.Request) -> httpx2.Request:
    """The next hop: the same headers on the same origin; only ``Accept`` elsewhere."""
    if url.scheme not in ("http", "https"):
        raise httpx2.UnsupportedProtocol(f"redirect to unsupported scheme {url.scheme!r}", request=previous)
    if previous.url.scheme == "https" and url.scheme == "http":
        raise httpx2.UnsupportedProtocol("refusing a redirect from https to plain http", request=previous)
    if url.origin == original.url.origin:
        headers = httpx2.Headers(original.headers)
        headers.pop("host", None)
    else:
        headers = httpx2.Headers({"Accept": original.headers.get("accept", "*/*")})
    hop = httpx2.Request("GET", url, headers=headers)
    hop.extensions = {k: v for k, v in original.extensions.items() if k == "timeout"}
    return hop


async def _read_bounded(response: httpx2.Response, limit: int, *, enforce: bool) -> bytes:
    declared = response.headers.get("content-length")
    if enforce and declared and declared.isdigit() and int(declared) > limit:
        raise ResponseTooLarge(
            f"the file is {describe_size(int(declared))}, above the {describe_size(limit)} limit; "
            "it was not downloaded",
            size=int(declared), limit=limit,
        )
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        size += len(chunk)
        if size > limit:
            if not enforce:
                chunks.append(chunk[: len(chunk) - (size - limit)])
                break
            raise ResponseTooLarge(
                f"the file is larger than the {describe_size(limit)} limit; the download was stopped",
                size=None, limit=limit,
            )
        chunks.append(chunk)
    return b"".join(chunks)


def describe_size(size: int | None) -> str:
    """``1536`` -> ``"1.5 KiB"``."""
    if size is None:
        return "of unknown size"
    value = float(size)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if value < 1024 or unit == "GiB":
            return f"{int(value)} bytes" if unit == "bytes" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{size} bytes"  # pragma: no cover
