"""jiraplug: a Jira MCP server built as a small core plus plugins.

The public API for plugin authors lives here. Importing this package is cheap on
purpose (no MCP SDK, no HTTP stack), so plugins and the CLI start fast.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from jiraplug.hookspecs import hookimpl

if TYPE_CHECKING:
    from jiraplug.settings import PluginSettings
    from jiraplug.server.toolcalls import CallScope

__version__ = "0.1.0"

__all__ = ["PluginSettings", "__version__", "current_call", "hookimpl"]


def current_call() -> CallScope:
    """The tool call being served: ``current_call().jira`` is the Jira client to use."""
    from jiraplug.server.toolcalls import current_call as _current_call

    return _current_call()


def __getattr__(name: str) -> object:
    # PluginSettings needs pydantic: imported on first use, so `import jiraplug` stays cheap.
    if name == "PluginSettings":
        from jiraplug.settings import PluginSettings

        return PluginSettings
    raise AttributeError(f"module 'jiraplug' has no attribute {name!r}")
