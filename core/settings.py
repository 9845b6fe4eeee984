"""Typed settings, built from a TOML file and environment variables.

Where the configuration comes from, later sources winning:

1. the TOML file: ``--config PATH``, else ``$JIRAPLUG_CONFIG``, else ``./jiraplug.toml``
   when it exists;
2. environment variables: the well-known names in :data:`ENV_ALIASES` (``JIRA_URL``,
   ``JIRA_API_TOKEN``, ...) and, for any key, ``JIRAPLUG_<TABLE>__<KEY>``.

Core tables are ``[jira]`` and ``[server]``; ``[plugins]`` maps plugin names to
``true``/``false``; every other table belongs to the plugin of that name and is validated
by the model the plugin declares through the ``plugin_settings`` hook. Any invalid value
stops start-up with one :class:`~jiraplug.errors.ConfigError` naming the key, the value
(never a secret's value), where it came from and what was expected.
"""

from __future__ import annotations

import os
import re
import tomllib
import types
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, field_validator

from jiraplug.errors import ConfigError
from jiraplug.suggest import did_you_mean

DEFAULT_CONFIG_FILE = "jiraplug.toml"
CONFIG_ENV = "JIRAPLUG_CONFIG"
ENV_PREFIX = "JIRAPLUG_"
ENABLE_PLUGINS_ENV = "JIRAPLUG_ENABLE_PLUGINS"
DISABLE_PLUGINS_ENV = "JIRAPLUG_DISABLE_PLUGINS"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})


class StrictModel(BaseModel):
    """Base for settings tables: unknown keys are errors, values are checked on assignment."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)


class PluginSettings(StrictModel):
    """Base of a plugin's settings table (``[<plugin>]``), returned by its ``plugin_settings`` hook.

    Exported as ``jiraplug.PluginSettings``. An unknown key or a wrong value is an error
    naming the key, at start-up and on assignment. Give every field a default.
    """


class JiraSettings(StrictModel):
    """``[jira]``: where Jira is, how to authenticate, and how to reach it over the network."""

    url: str | None = Field(default=None, description="Base URL of Jira, e.g. https://example.atlassian.net")
    deployment: Literal["auto", "cloud", "dc"] = Field(
        default="auto", description="cloud (REST v3), dc (Data Center/Server, REST v2), or auto-detect"
    )
    username: str | None = Field(default=None, description="Email (Cloud) or username (DC) for Basic auth")
    api_token: SecretStr | None = Field(default=None, description="API token for Basic auth (secret)")
    api_token_file: Path | None = Field(default=None, description="File holding the API token")
    personal_token: SecretStr | None = Field(default=None, description="Personal access token, Bearer (secret)")
    personal_token_file: Path | None = Field(default=None, description="File holding the personal access token")
    oauth_access_token: SecretStr | None = Field(
        default=None, description="OAuth 2.0 (3LO) access token, Bearer, Cloud only; needs cloud_id (secret)"
    )
    cloud_id: str | None = Field(
        default=None, description="Cloud site id for OAuth: requests go to https://api.atlassian.com/ex/jira/{cloud_id}"
    )
    ssl_verify: bool = Field(default=True, description="Verify Jira's TLS certificate")
    ca_bundle: Path | None = Field(default=None, description="PEM file of CA certificates to trust for Jira")
    proxy: str | None = Field(
        default=None, description="Proxy URL for Jira only (overrides HTTPS_PROXY/HTTP_PROXY; NO_PROXY still applies)"
    )
    custom_headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Extra HTTP headers on every Jira request (env: Name=value,Name2=value2; values are secret)",
    )
    timeout_seconds: float = Field(default=30.0, gt=0, description="Timeout for one Jira HTTP request")

    def required_url(self) -> str:
        """:attr:`url`, or a :class:`ConfigError` saying how to set it."""
        if not self.url:
            raise ConfigError("jira.url (JIRA_URL) is not set: point it at your Jira, or run with --sandbox")
        return self.url

    @field_validator("api_token", "personal_token", "oauth_access_token")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return refuse_blank_secret(value)

    @field_validator("url")
    @classmethod
    def _check_url(cls, value: str | None) -> str | None:
        if value is None:
            return None
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("http", "https") or not parsed.hostname:
            raise ValueError("not an http(s) URL")
        if parsed.username or parsed.password:
            raise ValueError("the URL must not carry credentials; use username/api_token instead")
        return value.strip().rstrip("/")

    @field_validator("cloud_id")
    @classmethod
    def _check_cloud_id(cls, value: str | None) -> str | None:
        if value is not None and not _CLOUD_ID.fullmatch(value.strip()):
            raise ValueError("a cloud id is letters, digits and dashes (a UUID such as 1324a887-45db-...)")
        return value.strip() if value else value

    @field_validator("ca_bundle")
    @classmethod
    def _check_ca_bundle(cls, value: Path | None) -> Path | None:
        if value is not None and not value.expanduser().exists():
            raise ValueError("no such file or directory")
        return value.expanduser() if value is not None else None

    @field_validator("proxy")
    @classmethod
    def _check_proxy(cls, value: str | None) -> str | None:
        if not value:
            return None
        parsed = urlsplit(value.strip())
        if parsed.scheme not in ("http", "https", "socks5", "socks5h") or not parsed.hostname:
            raise ValueError("not a proxy URL (http://, https://, socks5:// or socks5h://host:port)")
        return value.strip()

    @field_validator("custom_headers", mode="before")
    @classmethod
    def _parse_custom_headers(cls, value: Any) -> Any:
        # From the environment the value is one string: "Name=value,Name2=value2".
        if isinstance(value, str):
            headers: dict[str, str] = {}
            for item in (part.strip() for part in value.split(",")):
                if not item:
                    continue
                name, sep, text = item.partition("=")
                if not sep or not name.strip():
                    raise ValueError(f"{name.strip()!r} has no '=' (or no name): write Name=value,Name2=value2")
                headers[name.strip()] = text.strip()
            return headers
        return value

    @field_validator("custom_headers")
    @classmethod
    def _check_custom_headers(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        for name, text in value.items():
            if not _HEADER_NAME.fullmatch(name):
                raise ValueError(f"{name!r} is not a valid HTTP header name")
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by jiraplug itself (use the credential settings)")
            if not text.get_secret_value().strip():
                raise ValueError(f"the value of header {name!r} is empty or blank")
            if not text.get_secret_value().isprintable():
                raise ValueError(f"the value of header {name!r} contains a line break or control character")
        return value


def refuse_blank_secret(value: SecretStr | None) -> SecretStr | None:
    """A secret that guards access may be unset, but never empty or blank.

    An empty token is what ``TOKEN=$(cat missing-file)`` produces, and an empty token would
    match a request that sends none: refused at start-up instead.
    """
    if value is not None and not value.get_secret_value().strip():
        raise ValueError("a secret must not be empty or blank (unset the key, or fix what fills it in: "
                         "an unset variable, an empty file)")
    return value


_CLOUD_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,127}")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
_RESERVED_HEADERS = frozenset({"authorization", "host", "content-length", "transfer-encoding"})


class ServerSettings(StrictModel):
    """``[server]``: how the MCP server is exposed."""

    transport: Literal["stdio", "http"] = Field(default="stdio", description="stdio, or http (streamable HTTP)")
    host: str = Field(default="127.0.0.1", description="HTTP bind address; a non-loopback one needs http_token")
    port: int = Field(default=8000, ge=0, le=65535, description="HTTP port")
    workers: int = Field(default=1, ge=1, le=64, description="HTTP worker processes sharing the port (--workers)")
    event_loop: Literal["auto", "asyncio", "uvloop"] = Field(
        default="auto", description="Event loop of the HTTP server (auto: uvloop when installed)"
    )
    http_token: SecretStr | None = Field(default=None, description="Bearer token required on /mcp (secret)")
    allowed_hosts: list[str] = Field(
        default_factory=list, description="Extra Host header values accepted (e.g. behind a reverse proxy)"
    )
    allowed_origins: list[str] = Field(default_factory=list, description="Extra Origin values accepted")
    stateless_http: bool = Field(default=False, description="Serve HTTP without MCP sessions")
    json_response: bool = Field(default=False, description="Answer HTTP POSTs with JSON instead of SSE")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="WARNING", description="Log level; logs go to stderr"
    )
    allowed_jira_urls: list[str] = Field(
        default_factory=list, description="Other Jira sites a request may pick with X-Jira-Url"
    )
    allow_configured_credentials: bool | None = Field(
        default=None,
        description="Let HTTP requests without X-Jira-Authorization use the configured credential "
        "(default: only when bound to loopback)",
    )
    max_request_bytes: int = Field(default=4 * 1024 * 1024, gt=0, description="Largest HTTP request body")
    operator_token: SecretStr | None = Field(
        default=None,
        description="Token in X-Jiraplug-Operator that marks a request as the operator's: server-wide "
        "figures, alerts and admin tools (secret)",
    )
    # Limits of a shared HTTP server (see docs/operations.md, "Limits").
    header_timeout_seconds: float = Field(
        default=10.0, gt=0, description="A request's headers must arrive within this time, else the connection closes"
    )
    body_timeout_seconds: float = Field(
        default=30.0, gt=0, description="A request's body must arrive within this time of its headers, else 408"
    )
    # Longer than the idle expiry of common clients (httpx 5 s, Node's undici 4 s, aiohttp 15 s), so
    # the client, not the server, retires an idle connection: with equal times a request sent just
    # as the server closes the connection is lost.
    keep_alive_timeout_seconds: float = Field(
        default=20.0, gt=0, description="An idle keep-alive connection is closed after this time"
    )
    max_sessions: int = Field(default=1000, gt=0, description="MCP sessions open at once, all callers together")
    max_sessions_per_caller: int = Field(
        default=20, gt=0, description="MCP sessions open at once per caller (per Jira credential sent)"
    )
    session_idle_timeout_seconds: float = Field(
        default=900.0, gt=0, description="An MCP session with no request in flight for this long is closed"
    )
    log_bodies: bool = Field(
        default=False, description="Let DEBUG logging write MCP message bodies (every user's Jira data)"
    )
    trace_query_strings: bool = Field(
        default=False, description="Put the query string (JQL, ...) of Jira requests in span attributes (url.full)"
    )

    @field_validator("http_token", "operator_token")
    @classmethod
    def _check_secret(cls, value: SecretStr | None) -> SecretStr | None:
        return refuse_blank_secret(value)


class ToolsSettings(StrictModel):
    """``[tools]``: which tools are offered, and the limits they work within."""

    read_only: bool = Field(default=False, description="Hide and refuse every tool that changes Jira")
    enabled_tools: list[str] = Field(default_factory=list, description="Allow-list of tool names (empty: all)")
    toolsets: list[str] = Field(default_factory=list, description="Toolsets (plugin names) to offer (empty: all)")
    projects_filter: list[str] = Field(
        default_factory=list, description="Project keys every search and issue access is restricted to"
    )
    max_text_chars: int = Field(
        default=131_072, gt=0, description="Longest Markdown text argument (a comment, a description...) accepted"
    )
    markup_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Time limit for converting rich text (Markdown <-> ADF or wiki markup)"
    )
    markup_workers: int = Field(default=2, ge=1, le=64, description="Long rich-text conversions running at once")


CORE_TABLES: dict[str, type[StrictModel]] = {"jira": JiraSettings, "server": ServerSettings, "tools": ToolsSettings}

# Environment names users already know from the most-used Jira MCP server.
ENV_ALIASES: dict[str, tuple[str, str]] = {
    "JIRA_URL": ("jira", "url"),
    "JIRA_DEPLOYMENT": ("jira", "deployment"),
    "JIRA_USERNAME": ("jira", "username"),
    "JIRA_API_TOKEN": ("jira", "api_token"),
    "JIRA_API_TOKEN_FILE": ("jira", "api_token_file"),
    "JIRA_PERSONAL_TOKEN": ("jira", "personal_token"),
    "JIRA_PERSONAL_TOKEN_FILE": ("jira", "personal_token_file"),
    "JIRA_SSL_VERIFY": ("jira", "ssl_verify"),
    "JIRA_TIMEOUT": ("jira", "timeout_seconds"),
    "JIRA_OAUTH_ACCESS_TOKEN": ("jira", "oauth_access_token"),
    "JIRA_CLOUD_ID": ("jira", "cloud_id"),
    "JIRA_CA_BUNDLE": ("jira", "ca_bundle"),
    "JIRA_PROXY": ("jira", "proxy"),
    "JIRA_CUSTOM_HEADERS": ("jira", "custom_headers"),
    "JIRAPLUG_HTTP_TOKEN": ("server", "http_token"),
    "JIRAPLUG_OPERATOR_TOKEN": ("server", "operator_token"),
    "READ_ONLY_MODE": ("tools", "read_only"),
    "ENABLED_TOOLS": ("tools", "enabled_tools"),
    "TOOLSETS": ("tools", "toolsets"),
    "JIRA_PROJECTS_FILTER": ("tools", "projects_filter"),
    "JIRAPLUG_UPLOAD_DIR": ("attachments", "upload_dir"),
}

# Keys that moved to another table: using the old one is an error that names the new one.
MOVED_KEYS: dict[str, str] = {
    "tools.upload_dir": "attachments.upload_dir",
    "tools.max_attachment_bytes": "attachments.max_attachment_bytes",
}


@dataclass
class Settings:
    """The effective configuration: core tables, plugin switches and plugin tables."""

    jira: JiraSettings = field(default_factory=JiraSettings)
    server: ServerSettings = field(default_factory=ServerSettings)
    tools: ToolsSettings = field(default_factory=ToolsSettings)
    plugin_switches: dict[str, bool] = field(default_factory=dict)
    raw_plugin_tables: dict[str, dict[str, Any]] = field(default_factory=dict)
    plugin_tables: dict[str, BaseModel] = field(default_factory=dict)
    sources: dict[str, str] = field(default_factory=dict)
    config_file: Path | None = None

    def plugin_config(self, name: str) -> Any:
        """The validated settings of plugin ``name`` (an instance of its declared model)."""
        try:
            return self.plugin_tables[name]
        except KeyError:
            raise KeyError(f"plugin {name!r} declared no settings or is not enabled") from None

    def is_plugin_enabled(self, name: str) -> bool:
        """Whether plugin ``name`` is switched on (every discovered plugin is, unless disabled)."""
        return self.plugin_switches.get(name, True)

    def bind_plugins(self, known: Iterable[str], models: Mapping[str, type[BaseModel] | None]) -> None:
        """Validate ``[plugins]`` and each enabled plugin's table against its declared model.

        ``known`` are the names of every discovered plugin, enabled or not; ``models`` maps
        each loaded plugin to its settings model. A table of a disabled plugin is kept
        unvalidated, since the plugin is never imported.
        """
        known = set(known)
        for name in self.plugin_switches:
            if name not in known:
                raise ConfigError(_unknown(f"plugins.{name}", name, known, "a plugin name", self.sources))
        for name in self.raw_plugin_tables:
            if name not in known:
                raise ConfigError(
                    _unknown(name, name, known | set(CORE_TABLES) | {"plugins"}, "a table name", self.sources)
                )
        for name, model in models.items():
            raw = self.raw_plugin_tables.get(name, {})
            if model is None:
                if raw:
                    key = next(iter(raw))
                    raise ConfigError(f"{_where(f'{name}.{key}', self.sources)}: plugin {name!r} has no settings")
                continue
            self.plugin_tables[name] = _validate(model, raw, name, self.sources)

    def redacted(self) -> dict[str, Any]:
        """The effective configuration as plain data, with every secret replaced by a marker."""
        out: dict[str, Any] = {
            "jira": _dump_redacted(self.jira),
            "server": _dump_redacted(self.server),
            "tools": _dump_redacted(self.tools),
            "plugins": dict(sorted(self.plugin_switches.items())),
        }
        for name, table in sorted(self.plugin_tables.items()):
            out[name] = _dump_redacted(table)
        for name, raw in sorted(self.raw_plugin_tables.items()):
            out.setdefault(name, {"(not validated: plugin disabled)": sorted(raw)})
        return out


def load_settings(config_path: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file and the environment into :class:`Settings`.

    Plugin tables are collected but validated later by :meth:`Settings.bind_plugins`,
    once the plugins that declare them are loaded.
    """
    environ = os.environ if environ is None else environ
    path = _find_config_file(config_path, environ)
    data = _read_toml(path) if path else {}
    source = str(path) if path else "defaults"
    sources: dict[str, str] = {}
    tables: dict[str, dict[str, Any]] = {}
    for table, value in data.items():
        if not isinstance(value, dict):
            raise ConfigError(
                f"{table} = {value!r} in {source}: expected a table ([{table}]); "
                f"top-level keys are tables such as [jira], [server], [plugins]"
            )
        tables[table] = dict(value)
        sources[table] = source
        for key in value:
            sources[f"{table}.{key}"] = source

    _apply_environment(tables, sources, environ)

    switches = _plugin_switches(tables.pop("plugins", {}), sources, environ)
    core = {name: _validate(model, tables.pop(name, {}), name, sources) for name, model in CORE_TABLES.items()}
    settings = Settings(
        jira=core["jira"],  # type: ignore[arg-type]
        server=core["server"],  # type: ignore[arg-type]
        tools=core["tools"],  # type: ignore[arg-type]
        plugin_switches=switches,
        raw_plugin_tables=tables,
        sources=sources,
        config_file=path,
    )
    _read_secret_files(settings.jira, sources)
    return settings


def _find_config_file(config_path: str | os.PathLike[str] | None, environ: Mapping[str, str]) -> Path | None:
    if config_path is not None:
        chosen, origin = Path(config_path), "--config"
    elif environ.get(CONFIG_ENV):
        chosen, origin = Path(environ[CONFIG_ENV]), CONFIG_ENV
    else:
        default = Path(DEFAULT_CONFIG_FILE)
        return default if default.is_file() else None
    if not chosen.is_file():
        raise ConfigError(f"{origin} = {str(chosen)!r}: no such file")
    return chosen


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None


def _apply_environment(tables: dict[str, dict[str, Any]], sources: dict[str, str], environ: Mapping[str, str]) -> None:
    for var, (table, key) in ENV_ALIASES.items():
        if var in environ:
            tables.setdefault(table, {})[key] = _env_value(table, key, environ[var])
            sources[f"{table}.{key}"] = f"${var}"
    for var, value in environ.items():
        if not var.startswith(ENV_PREFIX) or "__" not in var or var in ENV_ALIASES:
            continue
        table, _, key = var[len(ENV_PREFIX) :].partition("__")
        table, key = table.lower(), key.lower()
        if not table or not key:
            continue
        tables.setdefault(table, {})[key] = _env_value(table, key, value)
        sources[f"{table}.{key}"] = f"${var}"
        sources.setdefault(table, f"${var}")


def _env_value(table: str, key: str, value: str) -> Any:
    """Environment values are strings; split them for list-typed core keys."""
    model = CORE_TABLES.get(table)
    field_info = model.model_fields.get(key) if model else None
    if field_info is not None and _is_list(field_info.annotation):
        return [item.strip() for item in value.split(",") if item.strip()]
    return value


def _is_list(annotation: Any) -> bool:
    if typing.get_origin(annotation) is list:
        return True
    if isinstance(annotation, types.UnionType) or typing.get_origin(annotation) is typing.Union:
        return any(_is_list(arg) for arg in typing.get_args(annotation))
    return False


def _plugin_switches(raw: Any, sources: dict[str, str], environ: Mapping[str, str]) -> dict[str, bool]:
    switches: dict[str, bool] = {}
    for name, value in raw.items():
        if not isinstance(value, bool):
            raise ConfigError(f"{_where(f'plugins.{name}', sources)} = {value!r}: expected true or false")
        switches[name] = value
    for var, state in ((ENABLE_PLUGINS_ENV, True), (DISABLE_PLUGINS_ENV, False)):
        for name in environ.get(var, "").split(","):
            if name.strip():
                switches[name.strip()] = state
                sources[f"plugins.{name.strip()}"] = f"${var}"
    return switches


def _validate(model: type[BaseModel], raw: Mapping[str, Any], table: str, sources: Mapping[str, str]) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(_explain(exc, model, raw, table, sources)) from None


def _explain(
    exc: ValidationError, model: type[BaseModel], raw: Mapping[str, Any], table: str, sources: Mapping[str, str]
) -> str:
    """One line for the first problem (the one to fix first), naming key, value and expectation."""
    error = exc.errors()[0]
    loc = [str(part) for part in error["loc"]]
    key = loc[0] if loc else ""
    dotted = ".".join([table, *loc])
    where = _where(f"{table}.{key}", sources, dotted)
    if error["type"] == "extra_forbidden" and dotted in MOVED_KEYS:
        return _moved(where, MOVED_KEYS[dotted])
    if error["type"] == "extra_forbidden":
        return _unknown(dotted, key, set(model.model_fields), "a known key", sources, where=where)
    if error["type"] == "missing":
        return f"{where}: a value is required ({_describe(model, key)})"
    more = f" (and {len(exc.errors()) - 1} more problem(s))" if len(exc.errors()) > 1 else ""
    if not key:  # a check across keys (a model validator): its message names them; the table may hold secrets
        return f"{where}: {error['msg'].lower()}{more}"
    shown = "<secret>" if _is_secret(model, key) else repr(raw.get(key, error.get("input")))
    return f"{where} = {shown}: {error['msg'].lower()}; expected {_describe(model, key)}{more}"


def _unknown(
    dotted: str, name: str, known: Iterable[str], what: str, sources: Mapping[str, str], where: str | None = None
) -> str:
    known = sorted(known)
    where = where or _where(dotted, sources)
    listing = ", ".join(known) if known else "(none)"
    return f"{where}: unknown key {name!r}{did_you_mean(name, known)} (expected {what}: {listing})"


def _moved(where: str, new: str) -> str:
    table, _, key = new.partition(".")
    return (f"{where}: this key has moved to {new}: set {key} in the [{table}] table "
            f"(or ${ENV_PREFIX}{table.upper()}__{key.upper()}) instead")


def _where(key: str, sources: Mapping[str, str], shown: str | None = None) -> str:
    origin = sources.get(key)
    return f"{shown or key} (from {origin})" if origin else (shown or key)


def _describe(model: type[BaseModel], key: str) -> str:
    info = model.model_fields.get(key)
    if info is None:
        return "a valid value"
    annotation = info.annotation
    text = _type_name(annotation)
    extra = []
    for meta in info.metadata:
        for attr, sign in (("gt", ">"), ("ge", ">="), ("lt", "<"), ("le", "<=")):
            if getattr(meta, attr, None) is not None:
                extra.append(f"{sign} {getattr(meta, attr)}")
    return text + (f" ({', '.join(extra)})" if extra else "")


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    if origin is Literal:
        return "one of " + ", ".join(repr(a) for a in typing.get_args(annotation))
    if isinstance(annotation, types.UnionType) or origin is typing.Union:
        names = [_type_name(a) for a in typing.get_args(annotation) if a is not type(None)]
        return " or ".join(names)
    if origin is list:
        (item,) = typing.get_args(annotation) or (Any,)
        return f"a list of {_type_name(item)}"
    names = {bool: "true or false", int: "an integer", float: "a number", str: "a string", SecretStr: "a string",
             Path: "a file path"}
    return names.get(annotation, getattr(annotation, "__name__", str(annotation)))


def _is_secret(model: type[BaseModel], key: str) -> bool:
    info = model.model_fields.get(key)
    return info is not None and "SecretStr" in repr(info.annotation)


def _read_secret_files(jira: JiraSettings, sources: Mapping[str, str]) -> None:
    for file_key, secret_key in (("api_token_file", "api_token"), ("personal_token_file", "personal_token")):
        path = getattr(jira, file_key)
        if path is None or getattr(jira, secret_key) is not None:
            continue
        where = _where(f"jira.{file_key}", sources)
        try:
            secret = path.read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(f"{where} = {str(path)!r}: cannot read: {exc.strerror}") from None
        if not secret:
            raise ConfigError(f"{where} = {str(path)!r}: the file is empty or blank; expected the secret")
        setattr(jira, secret_key, SecretStr(secret))


def _dump_redacted(model: BaseModel) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key in type(model).model_fields:
        value = getattr(model, key)
        if isinstance(value, SecretStr):
            out[key] = "<redacted>" if value.get_secret_value() else ""
        elif isinstance(value, Path):
            out[key] = str(value)
        elif isinstance(value, BaseModel):
            out[key] = _dump_redacted(value)
        else:
            out[key] = value
    return out
