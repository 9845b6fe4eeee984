"""The inbound side: the MCP server, tool calls, and the streamable HTTP app.

- :mod:`.build`: assemble the ``MCPServer`` from settings and plugins (``build_server``).
- :mod:`.toolcalls`: the tool-call middleware chain, the SDK seam, ``current_call``.
- :mod:`.context`: resource templates, prompts and argument completion handed to the SDK.
- :mod:`.registry`, :mod:`.schemas`, :mod:`.toolkit`: what tools are and the helpers they share.
- :mod:`.callers`, :mod:`.projects_filter`: who a request comes from and what it may reach.
- :mod:`.http_app`, :mod:`.timeouts`, :mod:`.sessions`, :mod:`.asgi`, :mod:`.drain`: serving
  over HTTP, its limits and its graceful stop.

This package imports nothing itself, so importing one of its modules does not import the rest.
"""
