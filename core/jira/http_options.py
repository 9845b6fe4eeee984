"""Options for the HTTP client toward Jira, adjustable by the ``configure_http_client`` hook.

:meth:`HttpClientOptions.build` makes the ``httpx2.AsyncClient``. Every transport it
creates (the direct one and one per proxy) is passed through ``wrap_transport`` (the
telemetry wrapper), so a proxied request is traced like a direct one. httpx2 itself
ignores ``HTTP(S)_PROXY`` once a custom transport is given; proxies from the environment
are therefore mounted here, explicitly, following the same rules (``NO_PROXY`` included).
"""

from __future__ import annotations

import http.cookiejar

import ssl
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import httpx2

    from jiraplug.settings import JiraSettings

TransportWrapper = Callable[["httpx2.AsyncBaseTransport"], "httpx2.AsyncBaseTransport"]


@dataclass
class HttpClientOptions:
    """How the ``httpx2.AsyncClient`` toward Jira is built.

    Defaults are httpx2's own limits, with TLS, proxy, headers and timeout from ``[jira]``.
    ``proxy`` (``jira.proxy`` / ``JIRA_PROXY``) overrides the environment's proxies for
    Jira; ``NO_PROXY`` applies to both. ``trust_env`` reads ``HTTP(S)_PROXY``, ``NO_PROXY``
    and ``SSL_CERT_FILE``/``SSL_CERT_DIR``. ``ca_bundle`` adds a PEM file (or directory) of
    trusted CAs; ``verify=False`` switches TLS verification off.
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
    ca_bundle: str | None = None
    proxy: str | None = None
    trust_env: bool = True
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_settings(cls, jira: JiraSettings) -> HttpClientOptions:
        """Options from ``[jira]``: TLS verification, CA bundle, proxy, custom headers, timeout."""
        return cls(
            verify=jira.ssl_verify,
            ca_bundle=str(jira.ca_bundle) if jira.ca_bundle else None,
            proxy=jira.proxy,
            headers={name: value.get_secret_value() for name, value in jira.custom_headers.items()},
            read_timeout_seconds=jira.timeout_seconds,
            write_timeout_seconds=jira.timeout_seconds,
        )

    def ssl_context(self) -> ssl.SSLContext:
        """One TLS context for every transport (building one costs milliseconds of CPU)."""
        import httpx2

        if self.verify is False:
            return httpx2.create_ssl_context(verify=False)
        if isinstance(self.verify, str):  # a CA path given the old httpx way
            return _context_with_cas(self.verify)
        if self.ca_bundle:
            return _context_with_cas(self.ca_bundle)
        return httpx2.create_ssl_context(verify=True, trust_env=self.trust_env)

    def proxy_routes(self) -> dict[str, str | None]:
        """URL pattern -> proxy URL (``None``: go direct), as httpx2 mounts take them.

        From ``HTTP_PROXY``/``HTTPS_PROXY``/``ALL_PROXY``/``NO_PROXY`` (when ``trust_env``),
        with ``proxy`` replacing the environment's proxies but not its ``NO_PROXY``.
        """
        env = _environment_proxies() if self.trust_env else {}
        if not self.proxy:
            return env
        if env == {} and self.trust_env and _no_proxy_everything():
            return {}
        return {"all://": self.proxy, **{pattern: None for pattern, url in env.items() if url is None}}

    def build(
        self,
        *,
        base_url: str,
        wrap_transport: TransportWrapper | None = None,
    ) -> httpx2.AsyncClient:
        """Create the client; ``wrap_transport`` wraps every transport it uses (telemetry)."""
        import httpx2

        limits = httpx2.Limits(
            max_connections=self.max_connections,
            max_keepalive_connections=self.max_keepalive_connections,
            keepalive_expiry=self.keepalive_expiry_seconds,
        )
        context = self.ssl_context()

        def transport(proxy: str | None) -> httpx2.AsyncBaseTransport:
            made: httpx2.AsyncBaseTransport = httpx2.AsyncHTTPTransport(
                verify=context, http2=self.http2, limits=limits, proxy=proxy, trust_env=self.trust_env
            )
            if proxy is not None:
                made = _ProxyTransport(made, proxy)
            return wrap_transport(made) if wrap_transport is not None else made

        # A pattern mounted to None falls back to the direct transport.
        mounts = {pattern: None if proxy is None else transport(proxy)
                  for pattern, proxy in self.proxy_routes().items()}
        timeout = httpx2.Timeout(
            connect=self.connect_timeout_seconds,
            read=self.read_timeout_seconds,
            write=self.write_timeout_seconds,
            pool=self.pool_timeout_seconds,
        )
        return httpx2.AsyncClient(
            base_url=base_url,
            transport=transport(None),
            mounts=mounts,
            timeout=timeout,
            headers=self.headers,
            cookies=_no_cookies(),
            trust_env=self.trust_env,
        )


class _RefuseEveryCookie(http.cookiejar.DefaultCookiePolicy):
    def set_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False

    def return_ok(self, cookie: http.cookiejar.Cookie, request: Any) -> bool:
        return False


def _no_cookies() -> http.cookiejar.CookieJar:
    """A cookie jar that keeps nothing.

    One HTTP client carries every user's requests on a shared server. Jira answers set session
    cookies (Data Center's ``JSESSIONID``), and Seraph serves a request that sends one back as
    that session's user, whatever its ``Authorization`` says: kept cookies would lend one user's
    rights to the next. Each request carries its own credential, so nothing needs a cookie.
    """
    return http.cookiejar.CookieJar(policy=_RefuseEveryCookie())


class _ProxyTransport:
    """Names the proxy when the connection to it fails (a bare ``ConnectError`` would blame Jira)."""

    def __init__(self, inner: httpx2.AsyncBaseTransport, proxy: str) -> None:
        import httpx2

        self._inner = inner
        url = httpx2.URL(proxy)
        self.proxy = f"{url.scheme}://{url.host}" + (f":{url.port}" if url.port else "")  # no credentials

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        import httpx2

        try:
            return await self._inner.handle_async_request(request)
        except httpx2.ConnectError as exc:
            raise httpx2.ProxyError(f"cannot connect to the proxy {self.proxy}: {exc}", request=request) from exc

    async def aclose(self) -> None:
        await self._inner.aclose()

    async def __aenter__(self) -> _ProxyTransport:
        await self._inner.__aenter__()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self._inner.__aexit__(*exc_info)


def _context_with_cas(path: str) -> ssl.SSLContext:
    import os

    if os.path.isdir(path):
        return ssl.create_default_context(capath=path)
    return ssl.create_default_context(cafile=path)


def _environment_proxies() -> dict[str, str | None]:
    """httpx2's own reading of the proxy variables (the mounts it would make without our transport)."""
    try:
        from httpx2._utils import get_environment_proxies
    except ImportError:  # pragma: no cover - a future httpx2 moved it: schemes only, NO_PROXY per request
        found = urllib.request.getproxies_environment()
        return {f"{scheme}://": found[scheme] for scheme in ("all", "http", "https") if found.get(scheme)}
    return get_environment_proxies()


def _no_proxy_everything() -> bool:
    no_proxy = urllib.request.getproxies_environment().get("no", "")
    return "*" in (host.strip() for host in no_proxy.split(","))
