"""Start-up and memory: process start to first ``tools/list``, peak memory under calls.

- ``timeraw_first_tools_list``: a fresh ``python -m jiraplug serve`` (stdio) is spawned and
  asked for ``tools/list`` by the MCP SDK client, as a desktop client does when it starts;
  the sandbox and the client's imports are set up untimed in the same fresh process.
- ``track_server_peak_rss``: peak RSS (Linux ``VmHWM``) of that server process after 200
  tool calls, the figure to hold against the seed's "5-30 MB" claim.
- ``peakmem_in_process_200_calls``: peak RSS of one process holding sandbox, server and
  client, after 200 calls (asv's own peak-memory measurement).
"""

from __future__ import annotations

import sys
from typing import Any

from .common import PERFORMANCE_PLUGINS, LiveSession, build_server, sandbox_environ, start_sandbox

PLUGIN_SETS = {"all plugins": "", "no performance plugins": ",".join(PERFORMANCE_PLUGINS)}

# Untimed part of the fresh process: sandbox up, client imported, server command ready.
_SETUP = """
import sys, tempfile, anyio
from mcp import Client, StdioServerParameters
sys.path.insert(0, {bench_dir!r})
from common import sandbox_environ, start_sandbox
sandbox = start_sandbox("cloud")
env = sandbox_environ(sandbox)
if {disable!r}:
    env["JIRAPLUG_DISABLE_PLUGINS"] = {disable!r}
params = StdioServerParameters(command=sys.executable, args=["-m", "jiraplug", "serve"], env=env,
                               cwd=tempfile.mkdtemp())
async def first_tools_list():
    async with Client(params, cache=None) as client:
        tools = (await client.list_tools()).tools
        assert len(tools) > 5, tools
"""

_TIMED = "anyio.run(first_tools_list)"


def _bench_dir() -> str:
    import os

    return os.path.dirname(os.path.abspath(__file__))


def timeraw_first_tools_list(plugins: str) -> tuple[str, str]:
    return _TIMED, _SETUP.format(bench_dir=_bench_dir(), disable=PLUGIN_SETS[plugins])


timeraw_first_tools_list.params = list(PLUGIN_SETS)  # type: ignore[attr-defined]
timeraw_first_tools_list.param_names = ["plugins"]  # type: ignore[attr-defined]
timeraw_first_tools_list.repeat = (3, 5, 60.0)  # type: ignore[attr-defined]
timeraw_first_tools_list.timeout = 180  # type: ignore[attr-defined]


def timeraw_import_server() -> str:
    """Importing the module that builds the server (MCP SDK included): the floor of any start-up.

    ``jiraplug.server.build`` since the core/server/ folder; ``jiraplug.server`` before it
    (asv also runs this benchmark on older commits).
    """
    return ("try:\n    import jiraplug.server.build\n"
            "except ModuleNotFoundError:\n    import jiraplug.server\n")


CALLS = 200


def _keys() -> list[str]:
    # A skewed mix: a few hot issues and a long tail, as an assistant's session reads them.
    return [f"PLAT-{1 + (n * n) % 60}" for n in range(CALLS)]


def _vm_hwm_bytes(pid: int) -> int:
    """Peak resident set size of ``pid`` (``VmHWM``); current RSS where /proc is unavailable."""
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    import psutil

    return psutil.Process(pid).memory_info().rss


class ServerMemory:
    params = list(PLUGIN_SETS)
    param_names = ["plugins"]
    timeout = 180

    def setup(self, plugins: str) -> None:
        self.sandbox = start_sandbox("cloud")

    def teardown(self, plugins: str) -> None:
        self.sandbox.stop()

    def track_server_peak_rss(self, plugins: str) -> int:
        import tempfile

        import anyio
        import psutil
        from mcp import Client, StdioServerParameters

        env = sandbox_environ(self.sandbox, disable=[p for p in PLUGIN_SETS[plugins].split(",") if p])
        params = StdioServerParameters(command=sys.executable, args=["-m", "jiraplug", "serve"], env=env,
                                       cwd=tempfile.mkdtemp())
        me = psutil.Process()
        peak = 0

        async def main() -> None:
            nonlocal peak
            async with Client(params, cache=None) as client:
                for key in _keys():
                    result = await client.call_tool("jira_get_issue", {"issue_key": key})
                    if result.is_error:
                        raise RuntimeError(result.content[0].text)
                children = [c for c in me.children(recursive=True) if "jiraplug" in " ".join(c.cmdline())]
                if len(children) != 1:
                    raise RuntimeError(f"expected one server process, found {len(children)}")
                peak = _vm_hwm_bytes(children[0].pid)

        anyio.run(main)
        return peak

    track_server_peak_rss.unit = "bytes"  # type: ignore[attr-defined]


class InProcessMemory:
    timeout = 120

    def setup(self) -> None:
        self.sandbox = start_sandbox("cloud")

    def teardown(self) -> None:
        self.sandbox.stop()

    def peakmem_in_process_200_calls(self) -> None:
        server, _ = build_server(self.sandbox)
        session: Any = LiveSession(server)
        try:
            for key in _keys():
                session.call_tool("jira_get_issue", {"issue_key": key})
        finally:
            session.close()
