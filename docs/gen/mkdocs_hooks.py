"""MkDocs hooks (mkdocs.yml `hooks:`): what the site adds to the Markdown files it is built from.

- Links from a page to the repository's source (``../plugins/cache/__init__.py``) work on the
  forge and in an editor; on the site they become links to the repository (``repo_url``).
- The benchmark history graphs: ``asv publish`` writes them at every build into
  ``asv_bench/html`` (gitignored), and they are served under ``benchmarks/history/``.
"""

from __future__ import annotations

import os
import posixpath
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from mkdocs.structure.files import File, Files

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
HISTORY_SRC = ROOT / "asv_bench" / "html"
HISTORY_DEST = "benchmarks/history"
_LINK = re.compile(r"\]\((?P<target>\.\./[^)#\s]+)(?P<anchor>#[^)\s]*)?\)")


def on_pre_build(config: Any) -> None:
    """Publish the committed asv results as HTML graphs (``asv publish``, a few seconds)."""
    asv = shutil.which("asv", path=os.path.dirname(sys.executable)) or shutil.which("asv")
    if asv is None:
        raise RuntimeError("the site's benchmark history needs asv: pip install -e '.[bench]'")
    done = subprocess.run([asv, "publish", "--html-dir", str(HISTORY_SRC)], cwd=ROOT, capture_output=True,
                          text=True, timeout=300)
    if done.returncode != 0 or not (HISTORY_SRC / "index.html").exists():
        raise RuntimeError(f"asv publish failed:\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def on_files(files: Files, config: Any) -> Files:
    """Serve the asv HTML under benchmarks/history/ (so links to it are checked like any page)."""
    for path in sorted(HISTORY_SRC.rglob("*")):
        if path.is_file():
            relative = path.relative_to(HISTORY_SRC).as_posix()
            files.append(File.generated(config, f"{HISTORY_DEST}/{relative}", abs_src_path=str(path)))
    return files


def on_page_markdown(markdown: str, page: Any, config: Any, files: Files) -> str:
    """Point links that leave docs/ at the repository's copy of the file."""
    page_dir = posixpath.dirname(page.file.src_uri)

    def to_repository(match: re.Match[str]) -> str:
        target = posixpath.normpath(posixpath.join("docs", page_dir, match["target"]))
        if target.startswith("docs/") or not (ROOT / target).exists():
            return match.group(0)
        kind = "tree" if (ROOT / target).is_dir() else "blob"
        return f"]({config['repo_url'].rstrip('/')}/{kind}/main/{target}{match['anchor'] or ''})"

    return _LINK.sub(to_repository, markdown)
