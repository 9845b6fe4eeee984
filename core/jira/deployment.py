"""Which Jira product a URL points at: Cloud (REST v3, ADF) or Data Center/Server (REST v2, wiki markup).

Configuration wins. Otherwise the host decides when it can (``*.atlassian.net`` and the
OAuth gateway are Cloud); for any other host the answer is ``None`` (ambiguous), and the
client asks Jira once, through ``serverInfo.deploymentType``, before its first request.
"""

from __future__ import annotations

import enum
from typing import Any

import httpx2

CLOUD_HOST_SUFFIXES = (".atlassian.net", ".jira.com")
CLOUD_HOSTS = frozenset({"api.atlassian.com"})


class Deployment(enum.StrEnum):
    """Which Jira product the client talks to."""

    CLOUD = "cloud"
    DC = "dc"


def detect_deployment(url: str, configured: str = "auto") -> Deployment | None:
    """``configured`` wins; else Cloud for Atlassian's hosts; else ``None`` (ask Jira)."""
    if configured != "auto":
        try:
            return Deployment(configured)
        except ValueError:
            raise ValueError(f"deployment {configured!r} is not one of auto, cloud, dc") from None
    host = (httpx2.URL(url).host or "").lower()
    if host in CLOUD_HOSTS or host.endswith(CLOUD_HOST_SUFFIXES):
        return Deployment.CLOUD
    return None


def deployment_from_server_info(info: Any) -> Deployment:
    """Read ``serverInfo.deploymentType``: ``Cloud``, else Data Center/Server (which may omit it)."""
    kind = str(info.get("deploymentType", "")) if isinstance(info, dict) else ""
    return Deployment.CLOUD if kind.lower() == "cloud" else Deployment.DC
