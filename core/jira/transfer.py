"""Binary downloads with a size limit, following Jira's redirects only where they may go.

Jira Cloud answers ``GET /rest/api/3/attachment/content/{id}`` with a redirect to its media
store on another host; Data Center serves the file itself. :func:`bounded_exchange`
follows redirects by hand: each hop is first checked by the
:class:`~jiraplug.jira.redirects.RedirectPolicy` (the Jira site, or an Atlassian media host
at a public address, at most ``max_redirects`` hops), a hop to another origin carries no
``Authorization`` and none of the configured custom headers, and the final body is read
only up to the limit.
"""

from __future__ import annotations

import httpx2

from jiraplug.jira.errors import RedirectRefused, ResponseTooLarge
from jiraplug.jira.redirects import RedirectPolicy, describe_origin

BODY_LIMIT_KEY = "jiraplug.body_limit"
"""``request.extensions`` key: the largest body (bytes) the transport may read for this request."""
REDIRECT_POLICY_KEY = "jiraplug.redirect_policy"
"""``request.extensions`` key: the :class:`RedirectPolicy` for this request's redirects."""
_REDIRECTS = {301, 302, 303, 307, 308}
_ERROR_BODY_LIMIT = 64 * 1024  # an error page is read only this far, for its message
_ADDRESSES_TRIED = 4  # of a media host's checked addresses, when the first ones do not connect


async def bounded_exchange(
    http: httpx2.AsyncClient, request: httpx2.Request, limit: int, redirects: RedirectPolicy
) -> httpx2.Response:
    """Send ``request`` (following the redirects ``redirects`` allows) and read at most ``limit`` bytes.

    Raises :class:`ResponseTooLarge` when ``Content-Length`` announces more than ``limit``,
    or as soon as more than ``limit`` bytes have arrived, and :class:`RedirectRefused` for a
    redirect the policy refuses (before anything is sent there) or one hop too many. The
    returned response is fully read, with the history of redirects it followed.
    """
    history: list[httpx2.Response] = []
    url = request.url  # where the current response came from, as named (a media hop is sent to an address)
    response = await http.send(request, stream=True)
    while True:
        try:
            location = response.headers.get("location")
            redirected = response.status_code in _REDIRECTS and bool(location)
            if redirected:
                await response.aread()
            else:
                body = await _read_bounded(response, limit if response.status_code < 400 else _ERROR_BODY_LIMIT,
                                           enforce=response.status_code < 400)
        finally:
            await response.aclose()
        if not redirected:
            break
        if len(history) >= redirects.max_redirects:
            raise RedirectRefused(f"Jira redirected the download more than {redirects.max_redirects} times "
                                  f"(the last hop pointed to {describe_origin(url)}); it was not followed further")
        history.append(response)
        previous, url = url, _join(url, location or "")
        target = await redirects.target(url, came_from=previous)
        response = await _send_hop(http, _hop(url, request), target.addresses)
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


def _join(base: httpx2.URL, location: str) -> httpx2.URL:
    try:
        return base.join(location)
    except httpx2.InvalidURL:
        raise RedirectRefused("Jira redirected the download to a malformed URL; it was not followed") from None


def _hop(url: httpx2.URL, original: httpx2.Request) -> httpx2.Request:
    """The next request: the original headers on the original origin; only ``Accept`` elsewhere."""
    if url.origin == original.url.origin:
        headers = httpx2.Headers(original.headers)
        headers.pop("host", None)
    else:
        headers = httpx2.Headers({"Accept": original.headers.get("accept", "*/*")})
    hop = httpx2.Request("GET", url, headers=headers)
    hop.extensions = {k: v for k, v in original.extensions.items() if k == "timeout"}
    return hop


async def _send_hop(http: httpx2.AsyncClient, hop: httpx2.Request, addresses: tuple[str, ...]) -> httpx2.Response:
    """Send ``hop`` by name (the Jira site), or to the first of its checked ``addresses`` that connects."""
    if not addresses:
        return await http.send(hop, stream=True)
    tried = addresses[:_ADDRESSES_TRIED]
    for index, address in enumerate(tried):
        try:
            return await http.send(_pinned(hop, address), stream=True)
        except httpx2.ConnectError:
            if index == len(tried) - 1:
                raise
    raise AssertionError("unreachable")  # pragma: no cover


def _pinned(hop: httpx2.Request, address: str) -> httpx2.Request:
    """``hop`` sent to ``address``: the URL names the address, so nothing resolves the host name again.

    ``Host`` keeps the name for the server, and TLS verifies the certificate against the
    name (``sni_hostname``), so pinning weakens neither.
    """
    headers = httpx2.Headers(hop.headers)
    headers["Host"] = hop.url.netloc.decode("ascii")
    pinned = httpx2.Request(hop.method, hop.url.copy_with(host=address), headers=headers)
    pinned.extensions = dict(hop.extensions)
    if hop.url.scheme == "https":
        pinned.extensions["sni_hostname"] = hop.url.host
    return pinned


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
