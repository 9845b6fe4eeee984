"""Start-up errors: printed by the CLI as one clear line, without a traceback.

Errors raised while serving a tool call live in :mod:`jiraplug.tool_errors` (they derive
from the MCP SDK's ``ToolError``, which is costly to import, so they are kept apart).
"""

from __future__ import annotations


class StartupError(Exception):
    """The server cannot start; the message says why and what to change."""


class ConfigError(StartupError):
    """The configuration is invalid; the message names the key, the value and what was expected."""
