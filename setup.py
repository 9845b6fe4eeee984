"""Package discovery under pyproject.toml's package-dir mapping; everything else is in pyproject.toml.

setuptools' ``packages.find`` looks for folders named like their import names, and ours are
not (``core/`` is ``jiraplug``). So each mapped folder is searched here and its sub-packages
get the mapped prefix: ``core/jira/markup`` becomes ``jiraplug.jira.markup``.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from setuptools import find_packages, setup

HERE = Path(__file__).parent


def mapped_packages() -> list[str]:
    """Every package under each ``[tool.setuptools] package-dir`` entry, by import name."""
    mapping = tomllib.loads((HERE / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]
    found = set(mapping)
    for name, folder in mapping.items():
        found.update(f"{name}.{sub}" for sub in find_packages(str(HERE / folder)))
    return sorted(found)


setup(packages=mapped_packages())
