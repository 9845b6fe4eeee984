"""Start-up: load the configuration, discover plugins, validate their settings."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from jiraplug.plugin_host import PluginHost
from jiraplug.settings import Settings, load_settings

if TYPE_CHECKING:
    from jiraplug.sandbox import SandboxServer


@dataclass
class App:
    """Settings plus the loaded plugins: everything needed to build a server."""

    settings: Settings
    plugins: PluginHost


def bootstrap(
    config_path: str | os.PathLike[str] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    extra_plugins: Mapping[str, object] | None = None,
) -> App:
    """Load settings, import the enabled plugins and validate every plugin's table.

    ``extra_plugins`` registers plugin objects directly (tests, embedding applications).
    Raises :class:`~jiraplug.errors.StartupError` (or its ``ConfigError``) with a clear
    message when anything is wrong.
    """
    settings = load_settings(config_path, environ)
    plugins = PluginHost()
    plugins.discover(settings.is_plugin_enabled)
    for name, plugin in (extra_plugins or {}).items():
        if settings.is_plugin_enabled(name):
            plugins.register(plugin, name)
    settings.bind_plugins(known=[p.name for p in plugins.plugins], models=plugins.settings_models())
    return App(settings, plugins)


def attach_sandbox(settings: Settings, flavour: Literal["cloud", "dc"] = "cloud", seed: int = 1) -> SandboxServer:
    """Start the embedded Jira emulator on loopback and point ``settings`` at it.

    The caller stops the returned server. Credentials are the sandbox's own fake ones.
    """
    from pydantic import SecretStr

    from jiraplug.sandbox import SandboxServer

    sandbox = SandboxServer(flavour=flavour, seed=seed, port=0)
    sandbox.start()
    user = sandbox.default_user
    jira = settings.jira
    jira.url = sandbox.url
    jira.deployment = flavour
    jira.api_token = None
    jira.personal_token = None
    if flavour == "cloud":
        jira.username, jira.api_token = user.email, SecretStr(user.api_token)
    else:
        jira.username, jira.personal_token = None, SecretStr(user.personal_token)
    return sandbox
