"""The built wheel: every sub-package under the package-dir mapping is in it, found rather than listed.

Builds a wheel from a copy of the source (so the work tree gets no build/ or egg-info) with
the current interpreter's setuptools. The install-and-run checks of the wheel in a clean venv
are .ci/check-dist.sh's job (they need the network for dependencies).
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tomllib
import zipfile
from email.parser import Parser
from pathlib import Path

import pytest

import jiraplug

ROOT = Path(__file__).resolve().parents[1]
MAPPING: dict[str, str] = tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["package-dir"]


def build_wheel(source: Path, out: Path) -> zipfile.ZipFile:
    proc = subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q", "-w", str(out), str(source)],
        capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (wheel,) = out.glob("jiraplug-*.whl")
    return zipfile.ZipFile(wheel)


def source_copy(tmp_path: Path) -> Path:
    copy = tmp_path / "src"
    copy.mkdir()
    for name in ("pyproject.toml", "setup.py", "README.md", "LICENSE", "MANIFEST.in", "CHANGELOG.md"):
        shutil.copy(ROOT / name, copy / name)
    for folder in MAPPING.values():
        shutil.copytree(ROOT / folder, copy / folder, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    return copy


def expected_files(source: Path) -> set[str]:
    """Every source file under each mapped folder, at its path inside the wheel."""
    files = set()
    for name, folder in MAPPING.items():
        base = source / folder
        for path in base.rglob("*"):
            if path.is_file() and "__pycache__" not in path.parts and path.suffix != ".pyc":
                files.add("/".join([*name.split("."), *path.relative_to(base).parts]))
    return files


@pytest.fixture(scope="module")
def tmp_source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    source = source_copy(tmp_path_factory.mktemp("wheel"))
    # A sub-package added after pyproject.toml was last edited must still be packaged.
    (source / "core" / "freshly_added").mkdir()
    (source / "core" / "freshly_added" / "__init__.py").write_text('"""A package nobody listed."""\n')
    (source / "plugins" / "toolsets" / "fresh_toolset").mkdir()
    (source / "plugins" / "toolsets" / "fresh_toolset" / "__init__.py").write_text("")
    return source


@pytest.fixture(scope="module")
def wheel(tmp_source: Path, tmp_path_factory: pytest.TempPathFactory) -> zipfile.ZipFile:
    return build_wheel(tmp_source, tmp_path_factory.mktemp("dist"))


def test_every_module_and_data_file_under_the_mapping_is_in_the_wheel(tmp_source: Path, wheel: zipfile.ZipFile) -> None:
    names = set(wheel.namelist())
    missing = sorted(expected_files(tmp_source) - names)
    assert not missing, f"not in the wheel: {missing}"
    assert "jiraplug/freshly_added/__init__.py" in names
    assert "jiraplug/plugins/toolsets/fresh_toolset/__init__.py" in names
    # Nothing under bare top-level names that would collide in site-packages.
    assert {name.split("/")[0] for name in names} == {"jiraplug", f"jiraplug-{jiraplug.__version__}.dist-info"}


def test_the_wheel_version_is_jiraplug_version(wheel: zipfile.ZipFile) -> None:
    metadata = Parser().parsestr(wheel.read(f"jiraplug-{jiraplug.__version__}.dist-info/METADATA").decode())
    assert metadata["Version"] == jiraplug.__version__
    assert metadata["License-Expression"] == "Apache-2.0"
    assert {"Homepage", "Documentation", "Changelog"} <= {url.split(",")[0] for url in metadata.get_all("Project-URL")}
    assert {"profiling", "http2"} <= set(metadata.get_all("Provides-Extra"))


def test_version_is_written_once_and_reported_by_the_cli() -> None:
    from importlib.metadata import version

    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert version("jiraplug") == jiraplug.__version__
    done = subprocess.run([sys.executable, "-m", "jiraplug", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"jiraplug {jiraplug.__version__}"
