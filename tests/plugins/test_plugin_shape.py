"""Every built-in performance plugin has the same shape (docs/plugins/README.md).

``PLUGIN_NAME`` (its entry-point name), ``RESOURCE_URI`` (the resource it registers),
``state_of(runtime)`` whose result has ``snapshot()`` (what the resource returns), its
settings model in ``<plugin>/settings.py`` subclassing ``jiraplug.PluginSettings``, no
clock of its own (it uses ``runtime.clock``), and no import of another built-in plugin.
"""

from __future__ import annotations

import ast
import importlib
import json
from pathlib import Path
from types import ModuleType

import pytest

import jiraplug
from jiraplug.clock import ManualClock
from jiraplug.server.registry import ResourceRegistry
from jiraplug.testing import run_jiraplug

pytestmark = pytest.mark.anyio

PERFORMANCE = ("cache", "pool", "ratelimit", "profiling", "alerting")
PLUGINS = Path(__file__).resolve().parents[2] / "plugins"
VOLATILE = {"memory"}  # the process's RSS moves between two reads


def plugin(name: str) -> ModuleType:
    return importlib.import_module(f"jiraplug.plugins.{name}")


@pytest.mark.parametrize("name", PERFORMANCE)
def test_the_module_has_the_shape(name: str) -> None:
    module = plugin(name)
    assert module.PLUGIN_NAME == name
    assert callable(module.state_of)
    settings = importlib.import_module(f"jiraplug.plugins.{name}.settings")
    model = module.plugin_settings()
    assert model.__module__ == settings.__name__ and issubclass(model, jiraplug.PluginSettings)
    registry = ResourceRegistry()
    module.register_resources(registry=registry)
    assert [resource.uri for resource in registry] == [module.RESOURCE_URI]
    # One way to inject a clock: the runtime's. No module-level clock to monkeypatch.
    assert not {"CLOCK", "TIMER", "WALL_CLOCK", "WEBHOOK_SLEEP"} & set(vars(module))


@pytest.mark.parametrize("name", PERFORMANCE)
def test_no_builtin_plugin_imports_another(name: str) -> None:
    """What one plugin needs from another comes through a hook or the runtime (e.g. profiling
    reads the cache's figures from its state on the runtime)."""
    others = [f"jiraplug.plugins.{other}" for other in PERFORMANCE if other != name]
    files = [PLUGINS / f"{name}.py"] if (PLUGINS / f"{name}.py").exists() else sorted((PLUGINS / name).rglob("*.py"))
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            targets = [alias.name for alias in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            for target in targets:
                assert not any(target == o or target.startswith(o + ".") for o in others), f"{path}: imports {target}"


async def test_each_state_snapshot_is_what_its_resource_returns() -> None:
    async with run_jiraplug(builtins=["issues", *PERFORMANCE], clock=ManualClock()) as jp:
        await jp.text("jira_get_issue", issue_key="PLAT-1", comment_limit=0)
        for name in PERFORMANCE:
            module = plugin(name)
            state = module.state_of(jp.runtime)
            assert state is jp.runtime.plugin_state(module.__name__)  # made once, kept on the runtime
            assert state.snapshot() is not None
            read = await jp.read(module.RESOURCE_URI)
            # The resource is the snapshot (a few keys may be added, none changed).
            expected = json.loads(json.dumps(state.snapshot(), default=str))
            assert {key: read[key] for key in expected if key not in VOLATILE} == \
                {key: value for key, value in expected.items() if key not in VOLATILE}, name

