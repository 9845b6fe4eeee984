"""The upload tool is no oracle for which server paths exist outside the upload folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from jiraplug.sandbox import SandboxServer
from tests.tools.helpers import call_error, connect

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def sandbox() -> SandboxServer:
    with SandboxServer(flavour="cloud", seed=3, port=0) as server:
        yield server


async def test_existing_and_missing_paths_outside_the_folder_get_one_answer(sandbox: SandboxServer,
                                                                              tmp_path: Path) -> None:
    folder = tmp_path / "uploads"
    folder.mkdir()
    (tmp_path / "exists.txt").write_text("a file outside the upload folder")
    probes = {
        "existing file outside": str(tmp_path / "exists.txt"),
        "missing file outside": str(tmp_path / "missing.txt"),
        "existing folder outside": str(tmp_path),
        "missing folder outside": str(tmp_path / "nowhere" / "x.txt"),
        "existing system file": "/etc/passwd",
        "relative escape to an existing file": "../exists.txt",
        "relative escape to a missing file": "../missing.txt",
        "missing file inside": "missing.txt",
    }
    async with connect(sandbox, JIRAPLUG_UPLOAD_DIR=str(folder)) as client:
        answers = {what: (await call_error(client, "jira_upload_attachment", issue_key="MOB-1", path=path))
                   .replace(repr(path), "<path>") for what, path in probes.items()}
    assert len(set(answers.values())) == 1, answers
    assert "no file <path> in the upload folder" in answers["existing system file"]
