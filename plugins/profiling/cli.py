"""``jiraplug stats`` and ``jiraplug profile``: read a running HTTP server with the MCP client.

Both talk to ``--url`` (the server's ``/mcp`` endpoint) as an ordinary MCP client, with
``Authorization: Bearer`` from ``--token`` or ``$JIRAPLUG_HTTP_TOKEN`` when the server
requires one, and as the server's operator with ``X-Jiraplug-Operator`` from
``--operator-token`` or ``$JIRAPLUG_OPERATOR_TOKEN`` (a shared server shows its figures only
to its operator). Tokens are never printed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from jiraplug.server.callers import OPERATOR_HEADER
from jiraplug.errors import StartupError

STATS_URI = "jiraplug://stats"
PROFILE_TOOL = "jiraplug_profile"


def add_commands(subparsers: Any) -> None:
    """Add ``stats`` and ``profile`` to the ``jiraplug`` command line."""
    stats = subparsers.add_parser(
        "stats", help="print the timing report of a running HTTP server (resource jiraplug://stats)",
        description="Read the timing report (jiraplug://stats) of a jiraplug server served over HTTP.",
    )
    _connection_arguments(stats)
    stats.add_argument("--json", action="store_true", help="print the report as JSON")
    stats.set_defaults(handler=stats_command)

    profile = subparsers.add_parser(
        "profile", help="sample a running HTTP server for N seconds into a flame graph (needs admin_tools)",
        description="Sample a running jiraplug server (HTTP) with pyinstrument through its admin tool "
        "jiraplug_profile ([profiling] admin_tools = true) and write an HTML flame graph or a "
        "speedscope file.",
    )
    _connection_arguments(profile)
    profile.add_argument("--seconds", type=float, default=10.0, help="how long to sample (default 10)")
    profile.add_argument("--output", required=True, type=Path,
                         help="FILE.html (flame graph) or FILE.speedscope.json / FILE.json (speedscope)")
    profile.set_defaults(handler=profile_command)


def _connection_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--url", required=True, help="the server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp")
    parser.add_argument("--token", help="bearer token of the server (default: $JIRAPLUG_HTTP_TOKEN)")
    parser.add_argument("--operator-token",
                        help="the server's operator token, server.operator_token (default: $JIRAPLUG_OPERATOR_TOKEN)")


def _check_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise StartupError(f"--url {url!r}: expected the server's MCP endpoint, e.g. http://127.0.0.1:8000/mcp")
    return url


def output_format(path: Path) -> str:
    """``html`` or ``speedscope``, from the output file name."""
    name = path.name.lower()
    if name.endswith(".html") or name.endswith(".htm"):
        return "html"
    if name.endswith(".json"):
        return "speedscope"
    raise StartupError(f"--output {str(path)!r}: expected a file ending in .html or .speedscope.json")


async def _with_client(url: str, headers: dict[str, str], work: Any, statuses: list[int], timeout: float) -> Any:
    import httpx2
    from mcp import Client
    from mcp.client.streamable_http import streamable_http_client

    async def remember(response: httpx2.Response) -> None:
        # The SDK reports an HTTP error status only as "an error response": keep it to explain.
        statuses.append(response.status_code)

    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(timeout),
                                  event_hooks={"response": [remember]}) as http:
        async with Client(streamable_http_client(url, http_client=http), cache=None,
                          read_timeout_seconds=timeout) as client:
            return await work(client)


def _run(url: str, headers: dict[str, str], work: Any, what: str, timeout: float = 30.0) -> Any:
    import anyio

    statuses: list[int] = []
    try:
        return anyio.run(_with_client, url, headers, work, statuses, timeout)
    except BaseException as exc:  # noqa: BLE001 - the SDK raises exception groups; show one line
        if isinstance(exc, KeyboardInterrupt):
            raise
        raise StartupError(f"{what} from {url} failed: {_describe(exc, statuses)}") from None


def _describe(exc: BaseException, statuses: list[int]) -> str:
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        exc = exc.exceptions[0]
    if isinstance(exc, StartupError):
        return str(exc)
    if 401 in statuses:
        return "the server answered 401 Unauthorized: pass its bearer token with --token or $JIRAPLUG_HTTP_TOKEN"
    if 404 in statuses:
        return "the server answered 404 Not Found: is --url the MCP endpoint (.../mcp)?"
    return f"{type(exc).__name__}: {str(exc) or 'no detail'}"


def _headers(args: argparse.Namespace) -> dict[str, str]:
    headers = {}
    token = args.token or os.environ.get("JIRAPLUG_HTTP_TOKEN")
    if token:
        headers["authorization"] = f"Bearer {token}"
    operator = args.operator_token or os.environ.get("JIRAPLUG_OPERATOR_TOKEN")
    if operator:
        headers[OPERATOR_HEADER] = operator
    return headers


def stats_command(args: argparse.Namespace) -> int:
    """Print the server's timing report."""
    from jiraplug.plugins.profiling.stats import format_report

    url = _check_url(args.url)

    async def read(client: Any) -> dict[str, Any]:
        result = await client.read_resource(STATS_URI)
        return json.loads(result.contents[0].text)

    report = _run(url, _headers(args), read, f"reading {STATS_URI}")
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0


def profile_command(args: argparse.Namespace) -> int:
    """Sample the server for ``--seconds`` and write the flame graph or speedscope file."""
    url = _check_url(args.url)
    fmt = output_format(args.output)
    if args.seconds <= 0:
        raise StartupError(f"--seconds {args.seconds!r}: expected a positive number")

    async def sample(client: Any) -> str:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        if PROFILE_TOOL not in tools:
            raise StartupError(
                f"the server does not offer {PROFILE_TOOL}: start it with [profiling] admin_tools = true "
                "(JIRAPLUG_PROFILING__ADMIN_TOOLS=true)"
            )
        result = await client.call_tool(PROFILE_TOOL, {"seconds": args.seconds, "format": fmt})
        text = result.content[0].text if result.content else ""
        if result.is_error:
            raise StartupError(f"{PROFILE_TOOL} failed: {text}")
        return text

    content = _run(url, _headers(args), sample, f"profiling for {args.seconds:g} s", timeout=args.seconds + 60)
    args.output.write_text(content, encoding="utf-8")
    print(f"jiraplug: wrote a {fmt} profile of {args.seconds:g} s to {args.output}", file=sys.stderr)
    return 0
