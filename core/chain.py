"""One composer for both middleware chains: Jira requests and tool calls.

A *handler* takes one argument (an ``httpx2.Request``, a ``ToolCall``) and returns an
awaitable answer. A *middleware* wraps one handler into another. :func:`compose` stacks
``(plugin, middleware)`` pairs around the innermost handler, the first pair outermost, and
isolates each so that a plugin bug costs that plugin's part of one call, not the call:

- a middleware factory that raises is reported and left out of the chain;
- an exception from a middleware that is not the call's own outcome (``passes``) is
  reported, and ``recover`` decides how the call goes on without that middleware. It is
  where each chain keeps its promise: a Jira write is never sent twice, a tool never
  runs twice.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, TypeVar

A = TypeVar("A")
R = TypeVar("R")

Handler = Callable[[A], Awaitable[R]]
ReportError = Callable[[str, str, BaseException], None]
"""``report(plugin, where, exc)``: record that a plugin failed (``PluginHost.report_error``)."""
Recover = Callable[[str, A, Handler[A, R]], Awaitable[R]]
"""``recover(plugin, argument, inner)``: finish a call whose middleware raised."""


def compose(
    middlewares: Sequence[tuple[str, Callable[[Handler[A, R]], Handler[A, R]]]],
    innermost: Handler[A, R],
    *,
    hook: str,
    passes: tuple[type[BaseException], ...],
    recover: Recover[A, R],
    report: ReportError | None = None,
    inner_view: Callable[[Handler[A, R]], Handler[A, R]] | None = None,
) -> Handler[A, R]:
    """Stack ``middlewares`` around ``innermost``; the first pair is outermost.

    ``hook`` names the chain in reports. ``inner_view``, when given, wraps the handler each
    middleware receives (e.g. to remember the answers it obtained).
    """
    handler = innermost
    for plugin, middleware in reversed(middlewares):
        handler = _isolated(plugin, middleware, handler, hook, passes, recover, report, inner_view)
    return handler


def _isolated(
    plugin: str,
    middleware: Callable[[Handler[A, R]], Handler[A, R]],
    inner: Handler[A, R],
    hook: str,
    passes: tuple[type[BaseException], ...],
    recover: Recover[A, R],
    report: ReportError | None,
    inner_view: Callable[[Handler[A, R]], Handler[A, R]] | None,
) -> Handler[A, R]:
    try:
        wrapped = middleware(inner_view(inner) if inner_view else inner)
    except Exception as exc:  # noqa: BLE001 - a broken factory must not break calls
        if report:
            report(plugin, f"{hook} (building)", exc)
        return inner

    async def handler(argument: Any) -> Any:
        try:
            return await wrapped(argument)
        except passes:
            raise
        except Exception as exc:  # noqa: BLE001 - isolation is the point
            if report:
                report(plugin, hook, exc)
            return await recover(plugin, argument, inner)

    return handler
