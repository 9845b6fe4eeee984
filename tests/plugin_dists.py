"""Install small plugin distributions into a temporary directory with real entry-point metadata."""

from __future__ import annotations

import sys
import textwrap
from pathlib import Path


def make_distribution(
    root: Path, name: str, entry_points: dict[str, str], modules: dict[str, str], version: str = "1.0"
) -> Path:
    """Write modules plus ``<name>-<version>.dist-info`` (METADATA, entry_points.txt) under ``root``.

    This is the layout pip produces; ``importlib.metadata`` reads it like any installed
    distribution once ``root`` is on ``sys.path``.
    """
    root.mkdir(parents=True, exist_ok=True)
    for module, source in modules.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source), encoding="utf-8")
    info = root / f"{name.replace('-', '_')}-{version}.dist-info"
    info.mkdir()
    (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n", encoding="utf-8")
    lines = ["[jiraplug]"] + [f"{ep} = {target}" for ep, target in entry_points.items()]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def forget_modules(*names: str) -> None:
    for name in names:
        sys.modules.pop(name, None)
