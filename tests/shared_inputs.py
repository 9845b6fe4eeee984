"""Where the inputs kept outside the repository are: ``../shared/specs`` (Atlassian's specs, the ADF schema).

CI lays ``shared/`` beside the checkout. A clone made elsewhere to try CI (``git clone -q .
/tmp/ci-try``) finds it beside the repository it was cloned from, through its ``origin``
remote when that is a local path. ``JIRAPLUG_SHARED_SPECS`` names the folder outright.
"""

from __future__ import annotations

import os
import subprocess
from functools import cache
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BESIDE = REPO.parent / "shared" / "specs"


@cache
def shared_specs() -> Path:
    """The specs folder: the environment's, the one beside this checkout, or the one beside its origin."""
    named = os.environ.get("JIRAPLUG_SHARED_SPECS")
    if named:
        return Path(named)
    if BESIDE.is_dir():
        return BESIDE
    origin = _local_origin()
    if origin is not None and (origin.parent / "shared" / "specs").is_dir():
        return origin.parent / "shared" / "specs"
    return BESIDE  # missing: callers name this path in their message


def _local_origin() -> Path | None:
    """The repository this one was cloned from, when it is a folder on this machine."""
    try:
        url = subprocess.run(["git", "-C", str(REPO), "config", "--get", "remote.origin.url"],
                             capture_output=True, text=True, timeout=10, check=False).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return None
    path = Path(url.removeprefix("file://"))  # a remote URL is no folder here
    return path.resolve() if url and path.is_dir() else None
