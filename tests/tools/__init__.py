"""Tool tests: every tool through an MCP client against the sandbox."""
