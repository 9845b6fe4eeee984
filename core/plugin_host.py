"""A typed wrapper over pluggy's ``PluginManager``.

The rest of jiraplug calls hooks through :class:`PluginHost` methods, never through the
untyped ``pm.hook.*`` relay. The host also isolates plugins: a plugin that fails to
import, or raises inside a hook, is recorded against its name (shown by
``jiraplug plugins``), logged, marked on the current span, and skipped; the server keeps
serving with the others.
"""

from __future__ import annotations

import importlib.metadata as metadata
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterable, Iterator
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import pluggy
from opentelemetry import trace

from jiraplug import hookspecs
from jiraplug.errors import StartupError
from jiraplug.suggest import did_you_mean

if TYPE_CHECKING:
    from pydantic import BaseModel

    from jiraplug.jira.http_options import HttpClientOptions
    from jiraplug.jira.middleware import JiraMiddleware
    from jiraplug.server.registry import PromptRegistry, ResourceRegistry, ToolRegistry
    from jiraplug.runtime import Runtime
    from jiraplug.settings import Settings
    from jiraplug.server.toolcalls import ToolCallMiddleware

log = logging.getLogger("jiraplug.plugins")

ENTRY_POINT_GROUP = "jiraplug"
BUILTIN_DISTRIBUTION = "jiraplug"

BUILTIN_PLUGINS: tuple[str, ...] = (
    # Toolsets: their tools are registered, and listed by tools/list, in this order.
    "issues", "comments", "transitions", "worklogs", "attachments", "links", "watchers", "agile",
    "projects", "users", "jql", "service_desk", "reports", "development", "forms",
    # MCP-native context: resource templates, prompts and their argument completion.
    "context",
    # Middleware plugins, outermost first on both chains (see docs/architecture.md):
    "profiling",  # tool call: outermost, so its timings are what the client waits for
    "cache",      # Jira request: outermost, so a hit costs no alert sample, slot or budget
    "alerting",   # tool call: inside profiling. Jira request: outside pool and ratelimit, so
                  # their refusals count; each attempt (retries too) is read from the transport
    "pool",       # per-host slot held from the first attempt to the final answer
    "ratelimit",  # budget, Retry-After, retries, breaker: innermost, every attempt is real
    # Commands: `jiraplug sandbox` and `jiraplug demo` (register_commands).
    "sandbox", "demo",
)
"""The built-in plugins in the order their hooks are called (like pytest's ``default_plugins``).

Never the alphabet of entry-point names: renaming a plugin must not reorder a chain.
pluggy's ``tryfirst``/``trylast`` on a built-in's middleware hook only says which group it
joins relative to third-party middleware (see the table in docs/architecture.md); among
themselves the built-ins always follow this tuple.
"""


@dataclass
class PluginInfo:
    """What ``jiraplug plugins`` shows about one plugin."""

    name: str
    module: str
    distribution: str | None = None
    version: str | None = None
    enabled: bool = True
    loaded: bool = False
    hooks: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    @property
    def builtin(self) -> bool:
        return self.distribution == BUILTIN_DISTRIBUTION

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "distribution": self.distribution,
            "version": self.version,
            "builtin": self.builtin,
            "enabled": self.enabled,
            "loaded": self.loaded,
            "hooks": self.hooks,
            "error": "; ".join(self.errors) or None,
        }


class PluginHost:
    """Discovers, loads and calls jiraplug plugins."""

    def __init__(self) -> None:
        self._pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
        self._pm.add_hookspecs(hookspecs)
        self._info: dict[str, PluginInfo] = {}
        self._declared: dict[str, list[object]] = {}  # plugin -> the hookspec modules it added
        self._declaring: str | None = None

    # ----------------------------------------------------------------- loading

    @property
    def plugins(self) -> list[PluginInfo]:
        """Every discovered or registered plugin, in discovery order."""
        return list(self._info.values())

    def info(self, name: str) -> PluginInfo:
        return self._info[name]

    def discover(self, is_enabled: Callable[[str], bool]) -> None:
        """Find plugins in the ``jiraplug`` entry-point group and import the enabled ones.

        A disabled plugin is recorded but never imported. An import failure is recorded
        against the plugin and logged; the others still load.
        """
        found: list[tuple[metadata.EntryPoint, PluginInfo]] = []
        for ep in sorted(metadata.entry_points(group=ENTRY_POINT_GROUP), key=_discovery_order):
            dist = ep.dist
            info = PluginInfo(
                name=ep.name,
                module=ep.value,
                distribution=dist.name if dist else None,
                version=dist.version if dist else None,
                enabled=is_enabled(ep.name),
            )
            if ep.name in self._info:
                other = self._info[ep.name]
                raise StartupError(
                    f"two plugins are named {ep.name!r}: {ep.value} (from {info.distribution}) and "
                    f"{other.module} (from {other.distribution}); uninstall one of them"
                )
            self._info[ep.name] = info
            found.append((ep, info))
        # pluggy calls the last registered implementation first. Registering the built-ins
        # backwards makes BUILTIN_PLUGINS the call order (first = outermost middleware);
        # third-party plugins come after them, so unmarked ones are called before the
        # built-ins and tryfirst/trylast place them outside or inside all of them.
        builtins = [item for item in found if item[1].builtin]
        others = [item for item in found if not item[1].builtin]
        for ep, info in [*reversed(builtins), *others]:
            if not info.enabled:
                continue
            try:
                plugin = ep.load()
            except Exception as exc:  # noqa: BLE001 - a broken plugin must not stop the server
                self._fail(info, f"failed to import {ep.value}: {type(exc).__name__}: {exc}")
                continue
            self._register(plugin, info)

    def register(self, plugin: object, name: str, *, distribution: str | None = None) -> None:
        """Register a plugin object directly (tests, embedding applications)."""
        if name in self._info:
            raise StartupError(f"a plugin named {name!r} is already registered")
        info = PluginInfo(name=name, module=getattr(plugin, "__name__", repr(plugin)), distribution=distribution)
        self._info[name] = info
        self._register(plugin, info)

    def _register(self, plugin: object, info: PluginInfo) -> None:
        try:
            self._pm.register(plugin, name=info.name)
        except pluggy.PluginValidationError as exc:
            raise StartupError(f"plugin {info.name!r} ({info.module}): {_one_line(exc)}") from None
        self._add_hookspecs_of(info)
        self._check_hook_names(info)
        info.loaded = True
        info.hooks = sorted(self._hook_names_of(info.name))

    def _add_hookspecs_of(self, info: PluginInfo) -> None:
        """``add_hookspecs`` of the plugin just registered: the hooks it declares for others."""
        self._declaring = info.name
        try:
            self._call("add_hookspecs", only=info.name, host=self)
        except StartupError:
            self._pm.unregister(name=info.name)
            raise
        finally:
            self._declaring = None

    def add_hookspecs(self, module_or_class: object) -> None:
        """Declare the hookspecs of ``module_or_class`` (for a plugin's ``add_hookspecs`` hook).

        Implementations registered before are checked against the new specs; a mismatch
        stops start-up naming the hook.
        """
        declaring = self._declaring or "?"
        try:
            self._pm.add_hookspecs(module_or_class)
        except pluggy.PluginValidationError as exc:
            raise StartupError(f"hooks declared by plugin {declaring!r}: {_one_line(exc)}") from None
        self._declared.setdefault(declaring, []).append(module_or_class)

    def declared_hookspecs(self) -> dict[str, list[object]]:
        """The hookspec modules each loaded plugin added (``add_hookspecs``), by plugin name."""
        return {name: list(modules) for name, modules in self._declared.items()}

    def hook_names(self) -> list[str]:
        """Every hook a plugin may implement now: the core's and those loaded plugins declared."""
        return sorted(name for name, caller in self._pm.hook.__dict__.items()
                      if isinstance(caller, pluggy.HookCaller) and caller.spec is not None)

    def _check_hook_names(self, info: PluginInfo) -> None:
        """Refuse hook wrappers and unknown hooks (unless marked ``optionalhook``)."""
        known = self.hook_names()
        for hook_caller in self._pm.hook.__dict__.values():
            if not isinstance(hook_caller, pluggy.HookCaller):
                continue
            for impl in hook_caller.get_hookimpls():
                if impl.plugin_name != info.name:
                    continue
                if impl.wrapper or impl.hookwrapper:
                    self._pm.unregister(name=info.name)
                    raise StartupError(
                        f"plugin {info.name!r} ({info.module}) implements {hook_caller.name!r} as a hook "
                        "wrapper, which jiraplug does not call (its hooks are called one by one, in "
                        "isolation); to wrap requests or tool calls, return a middleware from "
                        "jira_request_middleware or tool_call_middleware"
                    )
                if hook_caller.spec is None and not impl.optionalhook:
                    self._pm.unregister(name=info.name)
                    raise StartupError(
                        f"plugin {info.name!r} ({info.module}) implements unknown hook "
                        f"{hook_caller.name!r}{did_you_mean(hook_caller.name, known)} (known hooks: {', '.join(known)}; mark a hook "
                        "of another plugin's that may be absent with @hookimpl(optionalhook=True))"
                    )

    def _hook_names_of(self, name: str) -> Iterator[str]:
        for hook_caller in self._pm.hook.__dict__.values():
            if isinstance(hook_caller, pluggy.HookCaller):
                if any(impl.plugin_name == name for impl in hook_caller.get_hookimpls()):
                    yield hook_caller.name

    def _fail(self, info: PluginInfo, message: str) -> None:
        info.errors.append(message)
        log.error("plugin %s: %s", info.name, message)
        span = trace.get_current_span()
        if span.is_recording():
            span.add_event("jiraplug.plugin.error", {"jiraplug.plugin.name": info.name, "error.message": message})
            span.set_status(trace.StatusCode.ERROR, f"plugin {info.name} failed")

    def report_error(self, plugin_name: str, where: str, exc: BaseException) -> None:
        """Record that ``plugin_name`` raised ``exc`` in ``where`` (a hook or middleware)."""
        info = self._info.get(plugin_name) or self._info.setdefault(plugin_name, PluginInfo(plugin_name, "?"))
        self._fail(info, f"{where} raised {type(exc).__name__}: {exc}")

    # ------------------------------------------------------------ calling hooks

    def _call(self, hook: str, *, each: Callable[[str], AbstractContextManager[Any]] | None = None,
              only: str | None = None, **kwargs: Any) -> list[tuple[str, Any]]:
        """The one call path: every implementation of ``hook`` in call order, failures isolated.

        Returns ``(plugin name, result)`` for implementations that returned without
        raising; one that raises is reported against its plugin and skipped, except for a
        :class:`StartupError`, which stops start-up as intended. ``each(plugin)`` is a
        context entered around each implementation (e.g. recording who registers a tool);
        ``only`` calls one plugin's implementation.
        """
        caller: pluggy.HookCaller = getattr(self._pm.hook, hook)
        results: list[tuple[str, Any]] = []
        # pluggy calls the last registered (and tryfirst) implementation first.
        for impl in reversed(caller.get_hookimpls()):
            if only is not None and impl.plugin_name != only:
                continue
            with each(impl.plugin_name) if each else nullcontext():
                try:
                    result = impl.function(*(kwargs[arg] for arg in impl.argnames))
                except StartupError:
                    raise
                except Exception as exc:  # noqa: BLE001 - isolation is the point
                    self.report_error(impl.plugin_name, f"hook {hook}", exc)
                    continue
            results.append((impl.plugin_name, result))
        return results

    async def _await(self, hook: str, *, reverse: bool = False, **kwargs: Any) -> None:
        """:meth:`_call`, then await what each implementation returned (in reverse if asked)."""
        results = self._call(hook, **kwargs)
        for name, result in reversed(results) if reverse else results:
            if inspect.isawaitable(result):
                try:
                    await result
                except Exception as exc:  # noqa: BLE001
                    self.report_error(name, f"hook {hook}", exc)

    def settings_models(self) -> dict[str, type[BaseModel] | None]:
        """``plugin_settings``: each loaded plugin's settings model (or None)."""
        models: dict[str, type[BaseModel] | None] = {info.name: None for info in self._info.values() if info.loaded}
        models.update(self._call("plugin_settings"))
        return models

    def register_tools(self, registry: ToolRegistry, settings: Settings) -> None:
        """``register_tools``: each plugin adds its tools, recorded under the plugin's name."""
        self._call("register_tools", each=registry.owned_by, registry=registry, settings=settings)

    def register_resources(self, registry: ResourceRegistry, settings: Settings) -> None:
        """``register_resources``: each plugin adds its resources."""
        self._call("register_resources", each=registry.owned_by, registry=registry, settings=settings)

    def register_prompts(self, registry: PromptRegistry, settings: Settings) -> None:
        """``register_prompts``: each plugin adds its prompts."""
        self._call("register_prompts", each=registry.owned_by, registry=registry, settings=settings)

    def register_commands(self, subparsers: Any) -> None:
        """``register_commands``: plugins add subcommands to the CLI."""
        self._call("register_commands", subparsers=subparsers)

    def configure_http_client(self, options: HttpClientOptions, settings: Settings) -> None:
        """``configure_http_client``: plugins adjust the options in place."""
        self._call("configure_http_client", options=options, settings=settings)

    def jira_request_middlewares(self, runtime: Runtime) -> list[tuple[str, JiraMiddleware]]:
        """``jira_request_middleware``: ``(plugin, middleware)`` pairs, outermost first."""
        return self._chain("jira_request_middleware", runtime)

    def tool_call_middlewares(self, runtime: Runtime) -> list[tuple[str, ToolCallMiddleware]]:
        """``tool_call_middleware``: ``(plugin, middleware)`` pairs, outermost first."""
        return self._chain("tool_call_middleware", runtime)

    def _chain(self, hook: str, runtime: Runtime) -> list[tuple[str, Any]]:
        """A middleware chain in pluggy order, with the built-ins' slots refilled in BUILTIN_PLUGINS order.

        pluggy orders a ``trylast`` group first-registered-first and the others
        last-registered-first, so no registration order alone yields the tuple's order in
        every group; third-party middleware keeps the slot pluggy gave it.
        """
        chain = [(name, mw) for name, mw in self._call(hook, runtime=runtime) if mw]
        slots = [i for i, (name, _) in enumerate(chain) if self._info[name].builtin]
        ordered = sorted((chain[i] for i in slots), key=lambda pair: _builtin_position(pair[0]))
        for slot, pair in zip(slots, ordered):
            chain[slot] = pair
        return chain

    async def startup(self, runtime: Runtime) -> None:
        """``startup``: run every plugin's start-up code, awaiting what it returns."""
        await self._await("startup", runtime=runtime)

    async def shutdown(self, runtime: Runtime) -> None:
        """``shutdown``: run every plugin's shutdown code, in reverse order."""
        await self._await("shutdown", reverse=True, runtime=runtime)

    def call(self, hook: str, **kwargs: Any) -> list[tuple[str, Any]]:
        """Call a hook a plugin declared (``add_hookspecs``): ``(plugin, result)`` of each implementation.

        The same isolating path as the core's hooks. A hook that no loaded plugin declared
        has no implementations to call: the answer is ``[]``.
        """
        if not isinstance(getattr(self._pm.hook, hook, None), pluggy.HookCaller):
            return []
        return self._call(hook, **kwargs)

    async def call_async(self, hook: str, **kwargs: Any) -> None:
        """:meth:`call`, awaiting what each implementation returns (failures reported, not raised)."""
        if isinstance(getattr(self._pm.hook, hook, None), pluggy.HookCaller):
            await self._await(hook, **kwargs)


def _one_line(exc: Exception) -> str:
    return "; ".join(line.strip() for line in str(exc).splitlines() if line.strip())


def _is_hookspec(obj: object) -> bool:
    return callable(obj) and hasattr(obj, f"{hookspecs.PROJECT_NAME}_spec")


def _builtin_position(name: str) -> int:
    return BUILTIN_PLUGINS.index(name) if name in BUILTIN_PLUGINS else len(BUILTIN_PLUGINS)


def _discovery_order(ep: metadata.EntryPoint) -> tuple[int, int, str]:
    """Built-ins in BUILTIN_PLUGINS order, then third-party plugins by name."""
    if ep.dist is not None and ep.dist.name == BUILTIN_DISTRIBUTION:
        return (0, _builtin_position(ep.name), ep.name)
    return (1, 0, ep.name)


def hookspec_names() -> Iterable[str]:
    """Names of the core's hooks (``core/hookspecs.py``); plugins may declare more (:meth:`PluginHost.hook_names`)."""
    return sorted(name for name in dir(hookspecs) if _is_hookspec(getattr(hookspecs, name)))
