"""Resource templates, prompts and argument completion: the registries' entries handed to the MCP SDK.

Plugins add them through ``register_resources`` (``registry.add_template``) and
``register_prompts``; :func:`add_context` registers them on the ``MCPServer``. Their functions
run as the caller (``ServerMiddleware`` makes the caller's scope current for ``resources/read``,
``prompts/get`` and ``completion/complete``), and a :class:`UserFacingError` reaches the client
as an ``invalid params`` error carrying its message (the SDK would hide it).
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Iterable
from typing import Any

from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS, Completion

from jiraplug.server.registry import Completer, PromptDef, ResourceTemplateDef
from jiraplug.tool_errors import UserFacingError

MAX_COMPLETIONS = 100
"""The most values one ``completion/complete`` answer may carry (MCP)."""


def add_context(server: MCPServer[Any], templates: Iterable[ResourceTemplateDef], prompts: Iterable[PromptDef]) -> None:
    """Register the templates, the prompts and, if any of them completes an argument, the completion handler."""
    completers: dict[tuple[str, str], dict[str, Completer]] = {}
    for template in templates:
        _add_template(server, template)
        completers[("ref/resource", template.uri_template)] = dict(template.complete)
    for prompt in prompts:
        _add_prompt(server, prompt)
        completers[("ref/prompt", prompt.name)] = dict(prompt.complete)
    if any(completers.values()):
        server.completion()(_completion_handler(completers))


async def _settled(value: Any) -> Any:
    return await value if inspect.isawaitable(value) else value


def _as_mcp_error(exc: UserFacingError) -> MCPError:
    return MCPError(INVALID_PARAMS, str(exc))


def _add_template(server: MCPServer[Any], template: ResourceTemplateDef) -> None:
    async def read(**variables: str) -> str:
        try:
            value = await _settled(template.read(**variables))
        except UserFacingError as exc:
            raise _as_mcp_error(exc) from None
        return value if isinstance(value, str) else json.dumps(value, default=str, indent=1)

    # The SDK matches the URI's variables against the function's parameters.
    read.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, annotation=str) for name in template.variables])
    read.__annotations__ = {**{name: str for name in template.variables}, "return": str}
    read.__name__ = template.name
    server.resource(template.uri_template, name=template.name, description=template.description,
                    mime_type=template.mime_type)(read)


def _add_prompt(server: MCPServer[Any], prompt: PromptDef) -> None:
    @functools.wraps(prompt.fn)  # keeps the signature: the parameters are the prompt's arguments
    async def render(*args: Any, **kwargs: Any) -> Any:
        try:
            return await _settled(prompt.fn(*args, **kwargs))
        except UserFacingError as exc:
            raise _as_mcp_error(exc) from None

    server.add_prompt(Prompt.from_function(render, name=prompt.name, title=prompt.title,
                                           description=prompt.description))


def _completion_handler(completers: dict[tuple[str, str], dict[str, Completer]]) -> Any:
    async def complete(ref: Any, argument: Any, context: Any) -> Completion | None:
        target = (ref.type, ref.uri if ref.type == "ref/resource" else ref.name)
        completer = completers.get(target, {}).get(argument.name)
        if completer is None:
            return None  # the SDK answers an empty completion
        others = dict(getattr(context, "arguments", None) or {})
        try:
            values = [str(v) for v in await _settled(completer(argument.value or "", others))]
        except UserFacingError as exc:
            raise _as_mcp_error(exc) from None
        shown = values[:MAX_COMPLETIONS]
        return Completion(values=shown, total=len(values), has_more=len(values) > len(shown))

    return complete
