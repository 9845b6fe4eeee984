"""Options for the HTTP client toward Jira, adjustable by the ``configure_http_client`` hook."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import httpx2

    from jiraplug.settings import JiraSettings


@dataclass
class HttpClientOptions:
    """How the ``httpx2.AsyncClient`` toward Jira is built.

    Defaults are httpx2's own limits, with TLS verification and timeout from ``[jira]``.
    """

    max_connections: int | None = 100
    max_keepalive_connections: int | None = 20
    keepalive_expiry_seconds: float | None = 5.0
    connect_timeout_seconds: float = 10.0
    read_timeout_seconds: float = 30.0
    write_timeout_seconds: float = 30.0
    pool_timeout_seconds: float = 30.0
    http2: bool = False
    verify: bool | str = True
    proxy: str | None = None
    trust_env: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, jira: JiraSettings) -> HttpClientOptions:
        return cls(
            verify=jira.ssl_verify,
            read_timeout_seconds=jira.timeout_seconds,
            write_timeout_seconds=jira.timeout_seconds,
        )

    def build(self, *, base_url: str, wrap_transport=None) -> httpx2.AsyncClient:  # type: ignore[no-untyped-def]
        """Create the client. ``wrap_transport`` may wrap the transport (telemetry)."""
        import httpx2

        limits = httpx2.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
            keepalive_expiry=self.keepalive_expiry_seconds,
        )
        transport: httpx2.AsyncBaseTransport = httpx2.AsyncHTTPTransport(
            verify=self.verify, http2=self.http2, limits=limits, proxy=self.proxy, trust_env=self.trust_env
        )
        if wrap_transport is not None:
            transport = wrap_transport(transport)
        timeout = httpx2.Timeout(
            connect=self.connect_timeout_seconds,
            read=self.read_timeout_seconds,
            write=self.write_timeout_seconds,
            pool=self.pool_timeout_seconds,
        )
        return httpx2.AsyncClient(
            base_url=base_url, transport=transport, timeout=timeout, headers=self.headers, trust_env=self.trust_env
        )
