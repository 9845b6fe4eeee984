"""Errors that become MCP tool results with ``isError: true``.

The MCP SDK shows the text of ``ToolError`` subclasses to the client and hides the text of
every other exception, so every failure a caller can act on derives from
:class:`UserFacingError`. Write its message for the person (or model) reading it: what went
wrong, and what would work instead. Never put a secret in it.
"""

from __future__ import annotations

from mcp.server.mcpserver.exceptions import ToolError


class UserFacingError(ToolError):
    """A failure the caller can act on; its message is the tool error text."""
