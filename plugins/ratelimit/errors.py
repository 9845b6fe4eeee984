"""Tool errors raised by the ``ratelimit`` plugin.

They subclass the core's :class:`~jiraplug.jira.errors.JiraError` /
:class:`~jiraplug.jira.errors.JiraUnavailable`, so code that handles those categories
handles these too, and the MCP client reads their message as the tool error.
"""

from __future__ import annotations

import datetime as dt
import math

from jiraplug.jira.errors import JiraError, JiraUnavailable
from jiraplug.jira.middleware import RequestInfo


def _clock_time(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%H:%M:%S UTC")


class RateLimitedTooLong(JiraError):
    """Jira asked to wait longer than ``max_retry_after_seconds``; the call was not retried."""

    def __init__(self, status: int, operation: str, wait_seconds: float, retry_at: float,
                 limit_seconds: float) -> None:
        what = "is rate limiting requests" if status == 429 else "is overloaded"
        # Rounded up, but not for float noise: a pause of 3600 s seen 10 s later is "3590 s".
        wait = max(1, math.ceil(round(wait_seconds, 3)))
        super().__init__(
            f"Jira {what} ({status}, {operation}) and asks to wait {wait} s, longer than this server "
            f"waits (ratelimit.max_retry_after_seconds = {limit_seconds:g}); the request was not sent again. "
            f"Retry after {_clock_time(retry_at)} (in {wait} s)",
            status=status,
        )
        self.retry_at = retry_at


class CircuitOpen(JiraUnavailable):
    """Recent requests to this Jira failed on the server side; calls fail fast for a while."""

    def __init__(self, host: str, failures: int, outcomes: int, retry_in: float, retry_at: float,
                 operation: str) -> None:
        recent = "the last request" if outcomes <= 1 else f"{failures} of the last {outcomes} requests"
        super().__init__(
            f"Jira at {host} is failing ({recent} failed with a server error or no answer), so "
            f"jiraplug is not sending requests there for now ({operation} not sent); "
            f"retry after {_clock_time(retry_at)} (in {max(1, round(retry_in))} s)"
        )
        self.retry_at = retry_at


class WriteOutcomeUnknown(JiraUnavailable):
    """A write failed in a way that leaves open whether Jira applied it; it was not repeated."""

    def __init__(self, info: RequestInfo, what_happened: str) -> None:
        super().__init__(
            f"{info.operation} may have been applied by Jira: {what_happened}. It was not sent again, "
            f"so nothing is done twice. Check before retrying: {check_advice(info)}"
        )


def check_advice(info: RequestInfo) -> str:
    """How to find out whether a write took effect, from what it touches."""
    issues = [tag.split(":", 1)[1] for tag in info.touches if tag.startswith("issue:") and "*" not in tag]
    projects = [tag.split(":", 1)[1] for tag in info.touches if tag.startswith("project:") and "*" not in tag]
    if "create" in info.operation and projects:
        project = projects[0]
        return (f"search for it, e.g. jira_search with JQL 'project = {project} AND created >= -15m "
                f"ORDER BY created DESC', before creating it again")
    if issues:
        keys = ", ".join(issues[:3])
        return f"get the issue ({keys}) with jira_get_issue and see whether the change is there"
    if projects:
        return f"look at project {projects[0]} (e.g. jira_search) and see whether the change is there"
    return "read the affected item back (e.g. jira_get_issue or jira_search) and see whether the change is there"
