"""Run inside a venv that has the built wheel installed (not editable): .ci/check-dist.sh.

Checks that the installed ``jiraplug serve --sandbox`` answers ``tools/list`` over stdio, and
that each optional extra either works (``--extras installed``) or, when missing, says which
extra to install (``--extras missing``).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys

import anyio
from mcp import Client, StdioServerParameters


def jiraplug_command() -> str:
    command = shutil.which("jiraplug", path=os.path.dirname(sys.executable))
    if command is None:
        raise SystemExit(f"no jiraplug script next to {sys.executable}")
    return command


async def serve_sandbox(extras: str) -> None:
    env = {**os.environ, "JIRAPLUG_PROFILING__ADMIN_TOOLS": "true"}
    params = StdioServerParameters(command=jiraplug_command(), args=["serve", "--sandbox"], env=env)
    async with Client(params, cache=None) as client:
        tools = (await client.list_tools()).tools
        assert len(tools) > 20, [tool.name for tool in tools]
        print(f"serve --sandbox: tools/list gave {len(tools)} tools")
        result = await client.call_tool("jiraplug_profile", {"seconds": 0.2})
        text = " ".join(getattr(block, "text", "") for block in result.content)
        if extras == "missing":
            assert result.is_error and "jiraplug[profiling]" in text, text[:500]
            print("profiling extra missing: the admin tool says pip install 'jiraplug[profiling]'")
        else:
            assert not result.is_error, text[:500]
            print(f"profiling extra installed: the admin tool returned a {len(text)}-character profile")


def http2(extras: str) -> None:
    env = {**os.environ, "JIRAPLUG_POOL__HTTP2": "true", "JIRA_URL": "https://jira.example.com"}
    proc = subprocess.run([jiraplug_command(), "config"], env=env, capture_output=True, text=True, timeout=120)
    if extras == "missing":
        assert proc.returncode != 0 and "jiraplug[http2]" in proc.stderr, (proc.returncode, proc.stderr[-800:])
        print("http2 extra missing: start-up stops with pip install 'jiraplug[http2]'")
    else:
        assert proc.returncode == 0, proc.stderr[-800:]
        print("http2 extra installed: [pool] http2 = true is accepted")


def redis(extras: str) -> None:
    env = {**os.environ, "JIRA_URL": "https://jira.example.com", "JIRAPLUG_CACHE__BACKEND": "redis",
           "JIRAPLUG_CACHE__REDIS_URL": "redis://127.0.0.1:6379/0"}
    proc = subprocess.run([jiraplug_command(), "config"], env=env, capture_output=True, text=True, timeout=120)
    if extras == "missing":
        assert proc.returncode != 0 and "jiraplug[redis]" in proc.stderr, (proc.returncode, proc.stderr[-800:])
        print("redis extra missing: start-up stops with pip install 'jiraplug[redis]'")
    else:
        assert proc.returncode == 0, proc.stderr[-800:]
        print("redis extra installed: [cache] backend = \"redis\" is accepted")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--extras", choices=["missing", "installed"], required=True)
    args = parser.parse_args()
    anyio.run(serve_sandbox, args.extras)
    http2(args.extras)
    redis(args.extras)


if __name__ == "__main__":
    main()
