"""Every module of the package can be imported first: no import cycle at import time.

A cycle of import-time imports works until someone imports its modules in another order,
then fails with "partially initialized module" (as a package ``__init__`` that imports its
submodules can cause). The test imports each jiraplug module first, in a fresh subprocess
state (every ``jiraplug`` module forgotten before the next), which is the ground truth that
a reading of the source can only approximate.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
PACKAGES = {"jiraplug": REPO / "core", "jiraplug.plugins": REPO / "plugins", "jiraplug.sandbox": REPO / "sandbox"}

IMPORT_EACH_FIRST = """
import importlib, sys, traceback
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "jiraplug" or m.startswith("jiraplug.")]:
        del sys.modules[loaded]
    try:
        importlib.import_module(name)
    except Exception as exc:
        failed.append(f"{name}: {type(exc).__name__}: {exc}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def package_modules() -> list[str]:
    """Every module of the installed layout (pyproject's package-dir mapping)."""
    found: list[str] = []
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = list(path.relative_to(root).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts.pop()
            if parts[:1] == ["__main__"]:
                continue  # running it starts the CLI
            found.append(".".join([package, *parts]))
    return found


def _import_each_first(modules: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-c", IMPORT_EACH_FIRST, *modules], capture_output=True, text=True,
                          timeout=300, cwd=REPO)


def test_every_module_imports_when_imported_first() -> None:
    modules = package_modules()
    assert "jiraplug.server.build" in modules and "jiraplug.sandbox.routes.issue" in modules
    done = _import_each_first(modules)
    assert done.returncode == 0, f"modules that fail when imported first:\n{done.stdout}{done.stderr[-2000:]}"


def test_the_check_catches_a_cycle(tmp_path: Path) -> None:
    """Two modules importing a name from each other at import time fail when either comes first."""
    (tmp_path / "jiraplug_cycle_a.py").write_text("from jiraplug_cycle_b import B\nA = 1\n")
    (tmp_path / "jiraplug_cycle_b.py").write_text("from jiraplug_cycle_a import A\nB = 2\n")
    script = IMPORT_EACH_FIRST.replace('m == "jiraplug" or m.startswith("jiraplug.")', 'm.startswith("jiraplug_cycle")')
    done = subprocess.run([sys.executable, "-c", script, "jiraplug_cycle_a"], capture_output=True, text=True,
                          timeout=60, cwd=tmp_path, env={"PYTHONPATH": str(tmp_path)})
    assert done.returncode == 1 and "partially initialized module" in done.stdout


def test_the_jira_side_does_not_know_the_plugin_host() -> None:
    """The Jira client reports plugin errors through a callback, not by holding the host."""
    for path in (REPO / "core" / "jira").rglob("*.py"):
        assert "plugin_host" not in path.read_text(encoding="utf-8"), path
