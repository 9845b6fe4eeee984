"""A jiraplug server on a fresh sandbox, driven by the MCP SDK client from synchronous code.

Hypothesis tests are synchronous; the server and its MCP session live in an anyio
blocking portal (an event loop in a thread) for the whole module, so examples share one
session, as a real client would. Every call is checked by :meth:`HostileServer.check_call`
against the properties of issue 9 item 6.
"""

from __future__ import annotations

import base64
import logging
import os
import sys
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import anyio
import anyio.from_thread
from mcp import Client
from mcp.types import CallToolResult

from jiraplug.bootstrap import bootstrap
from jiraplug.sandbox import SandboxServer
from jiraplug.server.build import build_server
from tests.conftest import sandbox_environ
from tests.hostile.boundary import RequestRecorder, violations
from tests.hostile.strategies import ALLOWED, FOREIGN

CALL_TIMEOUT_S = 30.0
SEARCH_TOOLS = {"jira_search", "jira_get_board_issues", "jira_get_sprint_issues"}
OUTSIDE_SECRET = b"outside-the-upload-folder-7f3a9c"
HEADER_SECRET = "hdr-canary-5b1e0d7c2a"
HTTP_SECRET = "mcp-bearer-canary-91c2e4"


def secret_forms(secrets: list[str], username: str | None = None) -> list[str]:
    """Each secret, its base64 forms, and the base64 of ``username:secret`` (what Basic auth sends)."""
    forms: list[str] = []
    for secret in secrets:
        forms.append(secret)
        raw = [secret.encode()]
        if username:
            raw.append(f"{username}:{secret}".encode())
        for value in raw:
            for encode in (base64.b64encode, base64.urlsafe_b64encode):
                text = encode(value).decode()
                forms += [text, text.rstrip("=")]
    return sorted(set(forms))


class _CrashLog(logging.Handler):
    """Collects ERROR records (an unexpected exception in a tool, a failing plugin)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


class _FileOpens:
    """Paths opened by this process under ``area`` (an audit hook: it sees ``open`` and ``os.open``)."""

    _installed: list[_FileOpens] = []

    # Files outside the area that hostile paths name; opening them is a violation too.
    WATCHED = (os.path.expanduser("~/.bashrc"), "/etc/passwd")

    def __init__(self, area: Path) -> None:
        self.area = str(area)
        self.opened: list[str] = []
        if not _FileOpens._installed:
            sys.addaudithook(_FileOpens._hook)
        _FileOpens._installed.append(self)

    @staticmethod
    def _hook(event: str, args: tuple[Any, ...]) -> None:
        if event != "open" or not _FileOpens._installed:
            return
        path = args[0]
        if isinstance(path, bytes):
            path = os.fsdecode(path)
        if isinstance(path, str):
            for watcher in _FileOpens._installed:
                if path.startswith(watcher.area) or os.path.abspath(path) in watcher.WATCHED:
                    watcher.opened.append(path)

    def close(self) -> None:
        _FileOpens._installed.remove(self)


@dataclass
class HostileServer:
    """The server under attack, its sandbox, and what the checks need."""

    sandbox: SandboxServer
    portal: anyio.from_thread.BlockingPortal
    client: Client
    recorder: RequestRecorder
    upload_dir: Path
    outside_dir: Path
    secrets: list[str]
    sentinel: str
    schemas: dict[str, dict[str, Any]]
    crash_log: _CrashLog
    opens: _FileOpens
    foreign_before: str = ""
    calls: int = field(default=0)

    # ---------------------------------------------------------------- calling

    def call(self, tool: str, arguments: dict[str, Any]) -> CallToolResult:
        """One ``tools/call`` through the shared session, bounded in time."""

        async def bounded() -> CallToolResult:
            with anyio.fail_after(CALL_TIMEOUT_S):
                return await self.client.call_tool(tool, arguments)

        self.calls += 1
        return self.portal.call(bounded)

    def substitute(self, value: Any) -> Any:
        """Fill the ``{outside}`` placeholder of the path pool with the real folder."""
        if isinstance(value, str):
            return value.replace("{outside}", str(self.outside_dir))
        if isinstance(value, list):
            return [self.substitute(v) for v in value]
        if isinstance(value, dict):
            return {k: self.substitute(v) for k, v in value.items()}
        return value

    # ---------------------------------------------------------------- properties

    def check_call(self, tool: str, arguments: dict[str, Any], *, follow_up: bool = True) -> CallToolResult:
        """Call ``tool`` and assert every property of a hostile call; return the result."""
        arguments = self.substitute(arguments)
        shown = _short(arguments)
        sent_before, crashes_before, opens_before = (len(self.recorder.requests), len(self.crash_log.records),
                                                     len(self.opens.opened))
        result = self.call(tool, arguments)
        assert isinstance(result, CallToolResult), f"{tool}: not a tool result: {result!r}"
        text = "\n".join(getattr(c, "text", "") or "" for c in result.content)
        if result.is_error:
            # The SDK's text for an exception that is not a deliberate tool error: a server bug.
            assert text.strip() != f"Error executing tool {tool}", f"{tool} crashed on {shown}"
        crashes = self.crash_log.records[crashes_before:]
        assert not crashes, f"{tool} logged errors on {shown}: {[_short(r.getMessage()) for r in crashes]}"
        self.assert_no_secret(repr(result.model_dump()), f"{tool} result")
        problems = [p for sent in self.recorder.requests[sent_before:] for p in violations(
            sent, host="127.0.0.1", port=self.sandbox.port, projects=[ALLOWED], known_projects={ALLOWED, *FOREIGN})]
        assert not problems, f"{tool} on {shown}:\n" + "\n".join(problems)
        bad_opens = [p for p in self.opens.opened[opens_before:] if not _inside(p, self.upload_dir)]
        assert not bad_opens, f"{tool} opened files outside the upload folder: {bad_opens}"
        if tool in SEARCH_TOOLS and not result.is_error:
            keys = [issue.get("key") for issue in (result.structured_content or {}).get("issues", [])]
            assert all(str(k).startswith(f"{ALLOWED}-") for k in keys), f"{tool} returned {keys}"
        if follow_up:
            self.assert_usable()
        return result

    def assert_usable(self) -> None:
        """The session still serves a plain read."""
        after = self.call("jira_get_issue", {"issue_key": self.sentinel})
        assert not after.is_error, f"follow-up jira_get_issue failed: {after.content}"
        assert (after.structured_content or {}).get("key") == self.sentinel

    def assert_no_secret(self, text: str, where: str) -> None:
        for secret in self.secrets:
            assert secret not in text, f"a configured secret appears in the {where}"

    def foreign_state(self) -> str:
        """Everything of the other projects a write could change (links to MOB issues aside)."""
        store = self.sandbox.state
        with store.lock:
            ids = {i.id for i in store.issues if i.project_key in FOREIGN}
            issues = [replace(i, links=[lk for lk in i.links if {lk.inward_issue_id, lk.outward_issue_id} <= ids],
                              watchers=list(i.watchers))
                      for i in sorted(store.issues, key=lambda i: i.id) if i.project_key in FOREIGN]
            projects = [store.projects[key] for key in FOREIGN]
            boards = [b for b in store.boards.values() if getattr(b, "project_key", None) in FOREIGN]
            return repr((issues, projects, boards))


def _short(value: Any, limit: int = 400) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text)} characters)"


def _inside(path: str, root: Path) -> bool:
    try:
        return Path(path).resolve().is_relative_to(root.resolve())
    except (OSError, ValueError):
        return False


def prepare_upload_area(base: Path) -> tuple[Path, Path]:
    """An upload folder with files, a sub-folder, a FIFO and symlinks pointing out; a secret outside."""
    upload, outside = base / "upload", base / "outside"
    (upload / "sub").mkdir(parents=True)
    outside.mkdir()
    (upload / "ok.txt").write_text("inside the upload folder\n")
    (upload / "sub" / "ok2.txt").write_text("inside too\n")
    (outside / "secret.txt").write_bytes(OUTSIDE_SECRET)
    (upload / "link-out").symlink_to(outside / "secret.txt")
    (upload / "dirlink").symlink_to(outside, target_is_directory=True)
    if hasattr(os, "mkfifo"):
        os.mkfifo(upload / "fifo")
    return upload, outside


@contextmanager
def hostile_server(base: Path, flavour: str = "cloud", plugins: dict[str, object] | None = None) -> Iterator[HostileServer]:
    """A fresh sandbox and a server restricted to MOB, with secrets configured; torn down after.

    ``plugins`` are registered besides the built-in ones (a rogue tool, say)."""
    upload, outside = prepare_upload_area(base)
    crash_log = _CrashLog()
    with ExitStack() as stack:
        sandbox = stack.enter_context(SandboxServer(flavour=flavour, seed=1, port=0))
        environ = {
            **sandbox_environ(sandbox),
            "JIRA_PROJECTS_FILTER": ALLOWED,
            "JIRAPLUG_UPLOAD_DIR": str(upload),
            "JIRA_CUSTOM_HEADERS": f"X-Canary={HEADER_SECRET}",
            "JIRAPLUG_HTTP_TOKEN": HTTP_SECRET,
        }
        user = sandbox.default_user
        token = user.api_token if flavour == "cloud" else user.personal_token
        secrets = secret_forms([token, HEADER_SECRET, HTTP_SECRET], user.email if flavour == "cloud" else None)
        recorder = RequestRecorder()
        app = bootstrap(environ=environ, extra_plugins={**(plugins or {}), "hostile_recorder": recorder})
        server = build_server(app.settings, app.plugins)
        portal = stack.enter_context(anyio.from_thread.start_blocking_portal())
        client = stack.enter_context(portal.wrap_async_context_manager(Client(server, cache=None)))
        tools = portal.call(client.list_tools).tools
        for name in ("mcp", "jiraplug"):
            logging.getLogger(name).addHandler(crash_log)
            stack.callback(logging.getLogger(name).removeHandler, crash_log)
        opens = _FileOpens(base)
        stack.callback(opens.close)
        harness = HostileServer(
            sandbox=sandbox, portal=portal, client=client, recorder=recorder, upload_dir=upload,
            outside_dir=outside, secrets=secrets, sentinel="", schemas={t.name: t.input_schema for t in tools},
            crash_log=crash_log, opens=opens,
        )
        created = harness.call("jira_create_issue", {"project_key": ALLOWED, "summary": "sentinel: must survive"})
        assert not created.is_error, created.content
        harness.sentinel = created.structured_content["key"]
        harness.foreign_before = harness.foreign_state()
        yield harness

