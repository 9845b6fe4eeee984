"""The hook reference of docs/plugin-hooks.md, generated from the hookspec docstrings.

``python -m jiraplug.hookdocs --write [PATH]`` rewrites the generated part of the page
(everything after :data:`MARKER`); without ``--write`` it prints that part. The docstrings
in :mod:`jiraplug.hookspecs`, and in the hookspec modules that built-in plugins declare
(``add_hookspecs``, e.g. ``plugins/alerting/hookspecs.py``), are the one text;
``tests/test_hook_docs.py`` fails when the page is stale.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata as metadata
import inspect
import re
import sys
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

from jiraplug import hookspecs
from jiraplug.plugin_host import BUILTIN_DISTRIBUTION, BUILTIN_PLUGINS, ENTRY_POINT_GROUP, PluginHost, hookspec_names

MARKER = "<!-- Generated from core/hookspecs.py by `python -m jiraplug.hookdocs --write`: edit the docstrings, not below. -->"

SECTIONS: dict[str, tuple[str, ...]] = {
    "Configuration": ("plugin_settings", "add_hookspecs"),
    "Tools, resources and prompts": ("register_tools", "register_resources", "register_prompts"),
    "The HTTP path toward Jira": ("configure_http_client", "jira_request_middleware"),
    "The MCP side": ("tool_call_middleware",),
    "Lifecycle": ("startup", "shutdown"),
    "Command line": ("register_commands",),
}
"""How the reference groups the core's hooks; every core hookspec is in exactly one section.
Hooks that built-in plugins declare follow, one section per declaring plugin."""

_ROLE = re.compile(r":(?:func|class|data|meth|mod|attr):`~?([^`]+)`")
_LITERAL = re.compile(r"``([^`]+)``")


@cache
def _builtin_host() -> PluginHost:
    host = PluginHost()
    host.discover(lambda name: name in BUILTIN_PLUGINS)
    return host


def declared_by_builtins() -> dict[str, dict[str, Callable[..., Any]]]:
    """Built-in plugin -> {hook: hookspec function} of the hooks it declares (``add_hookspecs``)."""
    found: dict[str, dict[str, Callable[..., Any]]] = {}
    for plugin, modules in _builtin_host().declared_hookspecs().items():
        for module in modules:
            for name in dir(module):
                fn = getattr(module, name)
                if callable(fn) and hasattr(fn, f"{hookspecs.PROJECT_NAME}_spec"):
                    found.setdefault(plugin, {})[name] = fn
    return found


def all_hookspecs() -> dict[str, Callable[..., Any]]:
    """Every documented hook: the core's and those the built-in plugins declare."""
    specs = {name: getattr(hookspecs, name) for name in hookspec_names()}
    for declared in declared_by_builtins().values():
        specs.update(declared)
    return specs


def signature_of(name: str) -> str:
    """``(args) -> return`` of a hookspec, as the reference heading shows it."""
    return str(inspect.signature(all_hookspecs()[name])).replace("'", "")


def docstring_markdown(doc: str) -> str:
    """A hookspec docstring as Markdown: inline literals, roles, and ``Example::`` blocks."""
    lines = inspect.cleandoc(doc).splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        if line.rstrip().endswith("::"):
            out.append(_inline(line.rstrip()[:-1]))
            i += 1
            block: list[str] = []
            while i < len(lines) and (not lines[i].strip() or lines[i].startswith("    ")):
                block.append(lines[i][4:])
                i += 1
            while block and not block[0].strip():
                block.pop(0)
            while block and not block[-1].strip():
                block.pop()
            out += ["", "```python", *block, "```", ""]
            continue
        out.append(_inline(line))
        i += 1
    return "\n".join(out).strip()


def _inline(text: str) -> str:
    return _LITERAL.sub(r"`\1`", _ROLE.sub(r"`\1`", text))


def builtin_examples() -> dict[str, list[tuple[str, str]]]:
    """hook -> [(built-in plugin, its source path in the repository)], in BUILTIN_PLUGINS order."""
    points = {ep.name: ep for ep in metadata.entry_points(group=ENTRY_POINT_GROUP)
              if ep.dist is not None and ep.dist.name == BUILTIN_DISTRIBUTION}
    found: dict[str, list[tuple[str, str]]] = {}
    marker = f"{hookspecs.PROJECT_NAME}_impl"
    for plugin in BUILTIN_PLUGINS:
        if plugin not in points:
            continue
        module = importlib.import_module(points[plugin].value)
        for hook in all_hookspecs():
            if hasattr(getattr(module, hook, None), marker):
                found.setdefault(hook, []).append((plugin, _source_path(module)))
    return found


def _source_path_of(module_name: str) -> str:
    return _source_path(importlib.import_module(module_name))


def _source_path(module: object) -> str:
    """``plugins/cache/__init__.py`` for ``jiraplug.plugins.cache`` (the repository layout)."""
    name = getattr(module, "__name__")
    is_package = hasattr(module, "__path__")
    for prefix, folder in (("jiraplug.plugins", "plugins"), ("jiraplug.sandbox", "sandbox"), ("jiraplug", "core")):
        if name == prefix or name.startswith(prefix + "."):
            rest = name[len(prefix):].lstrip(".").replace(".", "/")
            path = "/".join(part for part in (folder, rest) if part)
            return f"{path}/__init__.py" if is_package else f"{path}.py"
    raise ValueError(f"{name} is not a jiraplug module")


def reference() -> str:
    """The generated part of docs/plugin-hooks.md."""
    examples = builtin_examples()
    listed = [hook for hooks in SECTIONS.values() for hook in hooks]
    missing = sorted(set(hookspec_names()) - set(listed))
    if missing or len(listed) != len(set(listed)):
        raise ValueError(f"every hookspec must be in exactly one section of SECTIONS; missing: {missing}")
    specs = all_hookspecs()
    sections = {section: (None, hooks) for section, hooks in SECTIONS.items()}
    for plugin, declared in declared_by_builtins().items():
        sections[f"Declared by the `{plugin}` plugin"] = (plugin, tuple(sorted(declared)))
    parts = [MARKER, ""]
    for section, (declarer, hooks) in sections.items():
        parts += [f"## {section}", ""]
        if declarer is not None:
            module = declared_by_builtins()[declarer][hooks[0]].__module__
            parts += [f"These hooks exist while `{declarer}` is loaded ([`{_source_path_of(module)}`]"
                      f"(../{_source_path_of(module)})); mark an implementation `@hookimpl(optionalhook=True)` "
                      "so that the plugin also loads without it.", ""]
        for hook in hooks:
            parts += [f"### `{hook}{signature_of(hook)}`", "", docstring_markdown(specs[hook].__doc__ or "")]
            users = examples.get(hook, [])
            if users:
                links = ", ".join(f"[`{plugin}`](../{path})" for plugin, path in users)
                parts += ["", f"Built-in plugins that implement it: {links}."]
            parts.append("")
    return "\n".join(parts).rstrip() + "\n"


def page_with_reference(page: str) -> str:
    """``page`` with everything from :data:`MARKER` on replaced by :func:`reference`."""
    head, found, _ = page.partition(MARKER)
    if not found:
        raise ValueError(f"the page has no marker line: {MARKER}")
    return head + reference()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m jiraplug.hookdocs", description=__doc__.splitlines()[0])
    parser.add_argument("--write", nargs="?", const="docs/plugin-hooks.md", metavar="PATH",
                        help="rewrite the generated part of PATH (default: docs/plugin-hooks.md)")
    args = parser.parse_args(argv)
    if args.write is None:
        sys.stdout.write(reference())
        return 0
    path = Path(args.write)
    path.write_text(page_with_reference(path.read_text(encoding="utf-8")), encoding="utf-8")
    print(f"wrote the hook reference into {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
