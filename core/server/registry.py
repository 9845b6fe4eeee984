"""Registries that plugins fill through the ``register_tools``, ``register_resources`` and
``register_prompts`` hooks.

Each entry remembers the plugin that added it (its *toolset*), so tools can be filtered
per plugin and a duplicate name is reported with both owners. Resource templates live in the
resource registry (MCP lists and reads them as resources); prompts have their own registry, as
tools do. Argument completion (``completion/complete``) is declared with the template or prompt
whose arguments it completes, since that is what a completion request names.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from jiraplug.errors import StartupError

if TYPE_CHECKING:
    from jiraplug.runtime import Runtime

F = TypeVar("F", bound=Callable[..., Any])

Completer = Callable[[str, Mapping[str, str]], "Awaitable[list[str]] | list[str]"]
"""Completes one argument: ``complete(typed_so_far, other_arguments) -> candidate values``.

It runs as the caller (``jiraplug.current_call()``), like a tool; at most 100 values are sent.
"""


@dataclass(frozen=True)
class ToolAnnotationsSpec:
    """MCP tool annotations (hints for clients), kept free of SDK imports."""

    title: str | None = None
    read_only: bool = False
    destructive: bool = False
    idempotent: bool = False
    open_world: bool = True


@dataclass
class ToolDef:
    """One tool: its function and how it is presented to MCP clients."""

    name: str
    fn: Callable[..., Any]
    plugin: str
    description: str | None = None
    annotations: ToolAnnotationsSpec = field(default_factory=ToolAnnotationsSpec)
    structured_output: bool | None = None
    operator_only: bool = False


@dataclass
class ResourceDef:
    """One MCP resource: a URI and the function that reads it, given the runtime serving the read."""

    uri: str
    read: Callable[[Runtime], Any]
    plugin: str
    name: str | None = None
    description: str | None = None
    mime_type: str = "application/json"
    operator_only: bool = False


@dataclass
class ResourceTemplateDef:
    """A family of MCP resources: an RFC 6570 URI template and the function reading one of them.

    ``read(**variables)`` runs as the caller (``jiraplug.current_call()`` is theirs), like a tool.
    """

    uri_template: str
    read: Callable[..., Any]
    plugin: str
    variables: tuple[str, ...]
    name: str
    description: str | None = None
    mime_type: str = "text/markdown"
    complete: Mapping[str, Completer] = field(default_factory=dict)


@dataclass
class PromptDef:
    """One MCP prompt: its function (its parameters are the prompt's arguments) and their completers."""

    name: str
    fn: Callable[..., Any]
    plugin: str
    title: str | None = None
    description: str | None = None
    complete: Mapping[str, Completer] = field(default_factory=dict)


class _OwnedRegistry:
    def __init__(self) -> None:
        self._owner = "?"

    @contextmanager
    def owned_by(self, plugin: str) -> Iterator[None]:
        """Attribute what is added inside the block to ``plugin`` (used by the plugin host)."""
        previous, self._owner = self._owner, plugin
        try:
            yield
        finally:
            self._owner = previous


class ToolRegistry(_OwnedRegistry):
    """Collects tools from plugins.

    Example (in a plugin)::

        @hookimpl
        def register_tools(registry):
            @registry.tool(title="Say hello", read_only=True)
            async def hello(name: str) -> str:
                "Greet someone."
                return f"Hello {name}"
    """

    def __init__(self) -> None:
        super().__init__()
        self._tools: dict[str, ToolDef] = {}

    def add(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        title: str | None = None,
        read_only: bool = False,
        destructive: bool = False,
        idempotent: bool = False,
        open_world: bool = True,
        structured_output: bool | None = None,
        operator_only: bool = False,
    ) -> ToolDef:
        """Add ``fn`` as a tool. Its docstring is the description unless one is given.

        ``operator_only``: an admin tool about the server itself. It is listed (``tools/list``)
        and served to the server's operator only, and it runs without Jira (no credential,
        no deployment detection), so it works on a server without a Jira credential of its own.
        """
        name = name or fn.__name__
        if name in self._tools:
            other = self._tools[name].plugin
            raise StartupError(f"tool {name!r} is registered twice: by plugin {other!r} and by {self._owner!r}")
        annotations = ToolAnnotationsSpec(title, read_only, destructive, idempotent, open_world)
        tool = ToolDef(name, fn, self._owner, description, annotations, structured_output, operator_only)
        self._tools[name] = tool
        return tool

    def tool(self, name: str | None = None, **options: Any) -> Callable[[F], F]:
        """Decorator form of :meth:`add`."""

        def decorator(fn: F) -> F:
            self.add(fn, name=name, **options)
            return fn

        return decorator

    def __iter__(self) -> Iterator[ToolDef]:
        return iter(self._tools.values())

    def __len__(self) -> int:
        return len(self._tools)

    def __contains__(self, name: object) -> bool:
        return name in self._tools


class ResourceRegistry(_OwnedRegistry):
    """Collects MCP resources from plugins.

    Example (in a plugin)::

        @hookimpl
        def register_resources(registry):
            def read(runtime):
                "Requests counted by this plugin."
                return state_of(runtime).snapshot()

            registry.add("myplugin://stats", read, name="myplugin stats")
    """

    def __init__(self) -> None:
        super().__init__()
        self._resources: dict[str, ResourceDef] = {}
        self._templates: dict[str, ResourceTemplateDef] = {}

    def add(
        self,
        uri: str,
        read: Callable[[Runtime], Any] | Callable[[], Any],
        *,
        name: str | None = None,
        description: str | None = None,
        mime_type: str = "application/json",
        operator_only: bool = False,
    ) -> ResourceDef:
        """Add a resource at ``uri``; ``read(runtime)`` returns str or JSON-serialisable data (sync or async).

        ``read`` is called with the :class:`~jiraplug.runtime.Runtime` of the server that serves
        the read, so it finds the plugin's state there (``state_of(runtime)``); a ``read``
        that takes no argument is called without it (like a hook, it takes what it needs).

        ``operator_only``: the resource describes the whole server (every user's calls), so a
        shared server refuses it to requests that bring their own Jira credential.
        """
        if uri in self._resources:
            raise StartupError(
                f"resource {uri!r} is registered twice: by {self._resources[uri].plugin!r} and by {self._owner!r}"
            )
        reader = read if _takes_an_argument(read) else _ignoring_the_runtime(read)
        resource = ResourceDef(uri, reader, self._owner, name, description or (read.__doc__ or "").strip(), mime_type,
                               operator_only)
        self._resources[uri] = resource
        return resource

    def add_template(
        self,
        uri_template: str,
        read: Callable[..., Any],
        *,
        name: str | None = None,
        description: str | None = None,
        mime_type: str = "text/markdown",
        complete: Mapping[str, Completer] | None = None,
    ) -> ResourceTemplateDef:
        """Add a resource template such as ``jira://issue/{key}``; ``read(key=...)`` returns str or JSON data.

        ``read`` takes the template's variables as keyword arguments and runs as the caller
        (``jiraplug.current_call()``: their Jira client, the projects filter), like a tool; raise
        ``UserFacingError`` for what the client should read. ``complete`` maps a variable to its
        :data:`Completer` (``completion/complete``).
        """
        from mcp.shared.uri_template import UriTemplate

        variables = tuple(UriTemplate.parse(uri_template).variable_names)
        unknown = sorted(set(complete or {}) - set(variables))
        if not variables or unknown:
            raise StartupError(f"resource template {uri_template!r} of plugin {self._owner!r}: "
                               + (f"completers for unknown variables {unknown}" if unknown else "no {variables}"))
        if uri_template in self._templates:
            other = self._templates[uri_template].plugin
            raise StartupError(f"resource template {uri_template!r} is registered twice: by {other!r} and by "
                               f"{self._owner!r}")
        template = ResourceTemplateDef(uri_template, read, self._owner, variables, name or read.__name__,
                                       description or (read.__doc__ or "").strip(), mime_type, dict(complete or {}))
        self._templates[uri_template] = template
        return template

    def templates(self) -> list[ResourceTemplateDef]:
        """The resource templates added, in order."""
        return list(self._templates.values())

    def __iter__(self) -> Iterator[ResourceDef]:
        return iter(self._resources.values())


class PromptRegistry(_OwnedRegistry):
    """Collects MCP prompts from plugins (``register_prompts``).

    Example (in a plugin)::

        @hookimpl
        def register_prompts(registry):
            async def triage(issue_key: str) -> str:
                "Triage an issue."
                return f"Triage {issue_key}: ..."

            registry.add(triage, complete={"issue_key": complete_issue_key})
    """

    def __init__(self) -> None:
        super().__init__()
        self._prompts: dict[str, PromptDef] = {}

    def add(
        self,
        fn: Callable[..., Any],
        *,
        name: str | None = None,
        title: str | None = None,
        description: str | None = None,
        complete: Mapping[str, Completer] | None = None,
    ) -> PromptDef:
        """Add ``fn`` as a prompt: its parameters are the arguments, its docstring the description.

        ``fn`` returns the messages (a string is one user message; see the MCP SDK's
        ``MCPServer.prompt``) and runs as the caller, like a tool. ``complete`` maps an argument
        to its :data:`Completer`.
        """
        name = name or fn.__name__
        if name in self._prompts:
            raise StartupError(f"prompt {name!r} is registered twice: by {self._prompts[name].plugin!r} and by "
                               f"{self._owner!r}")
        unknown = sorted(set(complete or {}) - set(inspect.signature(fn).parameters))
        if unknown:
            raise StartupError(f"prompt {name!r} of plugin {self._owner!r}: completers for unknown arguments {unknown}")
        prompt = PromptDef(name, fn, self._owner, title, description or (fn.__doc__ or "").strip(),
                           dict(complete or {}))
        self._prompts[name] = prompt
        return prompt

    def __iter__(self) -> Iterator[PromptDef]:
        return iter(self._prompts.values())


def _takes_an_argument(fn: Callable[..., Any]) -> bool:
    try:
        return bool(inspect.signature(fn).parameters)
    except (TypeError, ValueError):  # a builtin without a signature: give it the runtime
        return True


def _ignoring_the_runtime(read: Callable[[], Any]) -> Callable[[Runtime], Any]:
    def reader(_runtime: Runtime) -> Any:
        return read()

    return reader
