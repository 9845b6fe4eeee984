"""Check that an npm install holds exactly the versions pinned by a lockfile, on this platform.

Usage: python3 .ci/node_lock_check.py PINNED_LOCKFILE INSTALL_DIR

INSTALL_DIR is the folder `npm install` ran in; what it installed is read from
INSTALL_DIR/node_modules/.package-lock.json (npm's record of the tree on disk) and each
package's own package.json. The check passes when
  - every installed package is in the pinned lockfile at the same path and version, and
  - every pinned package that can install on this platform is installed.
Pinned or served entries that cannot install here (optional packages whose `os`, `cpu` or
`libc` exclude this machine, e.g. a Windows-only binding) are ignored: the registry adding
one must not fail CI, and they never run here. Exit 0 when it holds, 1 with one line per
difference when it does not, 2 on unreadable input.

A plain text diff of the lockfiles (what CI used before) also fails on such foreign entries,
which is why this check compares installed packages instead.
"""

from __future__ import annotations

import json
import platform
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterable, Mapping

Entries = Mapping[str, Mapping[str, Any]]


@dataclass(frozen=True)
class Platform:
    """The values npm compares a package's `os`, `cpu` and `libc` fields with."""

    os: str
    cpu: str
    libc: str | None  # only meaningful on linux: "glibc" or "musl"

    @classmethod
    def here(cls) -> "Platform":
        machine = platform.machine().lower()
        cpu = {"x86_64": "x64", "amd64": "x64", "aarch64": "arm64", "i686": "ia32"}.get(machine, machine)
        libc = None
        if sys.platform == "linux":
            name, _ = platform.libc_ver()
            libc = "glibc" if name == "glibc" else "musl"
        return cls(os=sys.platform, cpu=cpu, libc=libc)


LINUX_X64_GLIBC = Platform(os="linux", cpu="x64", libc="glibc")


def _allows(spec: str | list[str] | None, value: str | None) -> bool:
    """npm's rule for one of `os`/`cpu`/`libc`: "!x" excludes x; positive names form an allow-list."""
    if spec is None or value is None:
        return True
    items = [spec] if isinstance(spec, str) else list(spec)
    if not items or "any" in items:
        return True
    if f"!{value}" in items:
        return False
    positives = [item for item in items if not item.startswith("!")]
    return not positives or value in positives


def installs_on(entry: Mapping[str, Any], here: Platform) -> bool:
    """Whether npm would install this lockfile entry on `here`."""
    libc_ok = here.os != "linux" or _allows(entry.get("libc"), here.libc)
    return _allows(entry.get("os"), here.os) and _allows(entry.get("cpu"), here.cpu) and libc_ok


def _packages(entries: Entries) -> dict[str, Mapping[str, Any]]:
    """Lockfile entries that are packages in node_modules (not the root project, not links)."""
    return {path: entry for path, entry in entries.items()
            if path.startswith("node_modules/") and not entry.get("link")}


def differences(pinned: Entries, installed: Mapping[str, str], here: Platform) -> list[str]:
    """What differs between the pinned lockfile entries and the installed {path: version}.

    Returns one readable line per difference; empty when the install is exactly the pin.
    """
    problems: list[str] = []
    pinned_packages = _packages(pinned)
    for path, version in sorted(installed.items()):
        entry = pinned_packages.get(path)
        if entry is None:
            problems.append(f"{path} {version} is installed but not in the pinned lockfile")
        elif entry.get("version") != version:
            problems.append(f"{path} moved: pinned {entry.get('version')}, installed {version}")
    for path in sorted(expected_here(pinned, here)):
        if path not in installed:
            problems.append(f"{path} {pinned_packages[path].get('version')} is pinned for this platform but not installed")
    return problems


def _resolve(entries: Entries, from_path: str, name: str) -> str | None:
    """Node's lookup of `name` required from the package at `from_path`: nearest node_modules upwards."""
    base = from_path
    while True:
        candidate = f"{base}/node_modules/{name}" if base else f"node_modules/{name}"
        if candidate in entries:
            return candidate
        if not base:
            return None
        cut = base.rfind("/node_modules/")
        base = base[:cut] if cut >= 0 else ""


def expected_here(pinned: Entries, here: Platform) -> set[str]:
    """Pinned packages npm installs on `here`: reachable from the root through packages that install here.

    An optional package that cannot install here is skipped together with what only it needs
    (e.g. the helpers of a wasm32 binding), as npm does.
    """
    seen: set[str] = set()
    stack = [""]
    while stack:
        path = stack.pop()
        entry = pinned.get(path, {})
        optional_peers = {name for name, meta in entry.get("peerDependenciesMeta", {}).items() if meta.get("optional")}
        names = {*entry.get("dependencies", {}), *entry.get("optionalDependencies", {}),
                 *(set(entry.get("peerDependencies", {})) - optional_peers)}
        for name in names:
            target = _resolve(pinned, path, name)
            if target is None or target in seen or not installs_on(pinned[target], here):
                continue
            seen.add(target)
            stack.append(target)
    return seen


def installed_versions(install_dir: Path) -> dict[str, str]:
    """{path: version} of what npm installed, each version read from the package's own package.json."""
    record = json.loads((install_dir / "node_modules" / ".package-lock.json").read_text())
    versions: dict[str, str] = {}
    for path, entry in _packages(record.get("packages", {})).items():
        manifest = install_dir / path / "package.json"
        version = json.loads(manifest.read_text()).get("version") if manifest.exists() else entry.get("version")
        versions[path] = str(version)
    return versions


def main(argv: Iterable[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if len(args) != 2:
        print(__doc__.split("\n\n")[1], file=sys.stderr)
        return 2
    pinned_path, install_dir = Path(args[0]), Path(args[1])
    try:
        pinned = json.loads(pinned_path.read_text())["packages"]
        installed = installed_versions(install_dir)
    except (OSError, ValueError, KeyError) as exc:
        print(f"node-lock-check: cannot read the lockfile or the install: {exc}", file=sys.stderr)
        return 2
    here = Platform.here()
    problems = differences(pinned, installed, here)
    if problems:
        print(f"node-lock-check: the install in {install_dir} differs from {pinned_path} "
              f"on {here.os}-{here.cpu}{'-' + here.libc if here.libc else ''}:", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        print("  To move a pin on purpose, see the header of .ci/install-node-tools.sh.", file=sys.stderr)
        return 1
    print(f"node-lock-check: {len(installed)} installed packages match {pinned_path.name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
