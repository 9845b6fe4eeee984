"""No import cycle at import time anywhere in the jiraplug package.

A cycle of module-level imports works until someone imports the modules in another order,
then fails with "partially initialized module". The graph is read from the source (no
import runs): every module-level ``import``/``from ... import`` between jiraplug modules,
except those under ``if TYPE_CHECKING:`` (annotations only). Imports inside functions are
deliberate lazy imports and run after every module is initialised.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"jiraplug": REPO / "core", "jiraplug.plugins": REPO / "plugins", "jiraplug.sandbox": REPO / "sandbox"}


def package_modules() -> dict[str, Path]:
    """Every module of the installed layout (pyproject's package-dir mapping) -> its file."""
    found: dict[str, Path] = {}
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join([package, *parts])] = path
    return found


def _type_checking_only(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _import_time_statements(body: list[ast.stmt]) -> Iterator[ast.Import | ast.ImportFrom]:
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, ast.If) and not _type_checking_only(node):
            yield from _import_time_statements(node.body)
            yield from _import_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, *(h.body for h in node.handlers), node.orelse, node.finalbody):
                yield from _import_time_statements(block)


def imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """The jiraplug modules ``name`` imports at import time."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    targets: set[str] = set()
    for node in _import_time_statements(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names)
            continue
        base = node.module or ""
        if node.level:
            anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
            base = ".".join([*anchor, *([base] if base else [])])
        submodules = [f"{base}.{alias.name}" for alias in node.names]
        # `from pkg import submodule` needs the submodule, not names defined by pkg itself.
        targets.update(sub for sub in submodules if sub in modules)
        if not all(sub in modules for sub in submodules):
            targets.add(base)
    return {target for target in targets if target in modules and target != name}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_no_module_level_import_cycle_in_the_package() -> None:
    modules = package_modules()
    graph = {name: imported_modules(name, path, modules) for name, path in modules.items()}
    assert "jiraplug.jira.client" in graph["jiraplug.runtime"]  # the reader sees real imports
    assert not cycles(graph), f"import cycles: {cycles(graph)}"


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}, "e": set()}
    assert cycles(graph) == [["a", "b", "c"]]


def test_the_jira_side_does_not_know_the_plugin_host() -> None:
    """The Jira client reports plugin errors through a callback, not by holding the host."""
    for path in (REPO / "core" / "jira").rglob("*.py"):
        assert "plugin_host" not in path.read_text(encoding="utf-8"), path
