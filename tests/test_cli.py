"""The command line: help on every command, one-line errors, redacted configuration."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

COMMANDS = [[], ["serve"], ["plugins"], ["config"], ["sandbox"], ["demo"]]


def run(*args: str, cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("JIRA", "OTEL_"))}
    environ.update(env)
    return subprocess.run([sys.executable, "-m", "jiraplug", *args], cwd=cwd, env=environ,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "jiraplug")
def test_help_on_every_command(command: list[str], tmp_path: Path) -> None:
    done = run(*command, "--help", cwd=tmp_path)
    assert done.returncode == 0 and "usage:" in done.stdout


@pytest.mark.parametrize(
    ("args", "env", "expected"),
    [
        (["serve"], {}, "jira.url (JIRA_URL) is not set"),
        (["serve"], {"JIRA_URL": "https://x.atlassian.net"}, "no Jira credentials"),
        (["serve"], {"JIRA_URL": "https://x.example", "JIRA_API_TOKEN": "t"}, "JIRA_USERNAME) is required"),
        (["config"], {"JIRA_SSL_VERIFY": "perhaps"}, "jira.ssl_verify (from $JIRA_SSL_VERIFY) = 'perhaps'"),
        (["--config", "missing.toml", "plugins"], {}, "--config = 'missing.toml': no such file"),
        (["serve"], {"OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        # A plugin's command cannot be offered without plugins: the configuration error says why.
        (["demo"], {"JIRA_SSL_VERIFY": "perhaps"}, "jira.ssl_verify (from $JIRA_SSL_VERIFY) = 'perhaps'"),
    ],
)
def test_errors_are_one_line_without_traceback(args: list[str], env: dict, expected: str, tmp_path: Path) -> None:
    done = run(*args, cwd=tmp_path, **env)
    assert done.returncode != 0
    assert "Traceback" not in done.stderr
    assert done.stderr.count("\n") == 1, done.stderr
    assert done.stderr.startswith("jiraplug: error: ") and expected in done.stderr


def test_config_prints_effective_values_with_secrets_redacted(tmp_path: Path) -> None:
    (tmp_path / "jiraplug.toml").write_text('[jira]\nurl = "https://x.atlassian.net"\n[server]\nport = 9123\n')
    secret = "api-token-do-not-print"
    done = run("config", cwd=tmp_path, JIRA_API_TOKEN=secret, JIRA_USERNAME="me@x", JIRAPLUG_HTTP_TOKEN="http-secret")
    assert done.returncode == 0
    assert secret not in done.stdout and "http-secret" not in done.stdout
    assert 'url = "https://x.atlassian.net"' in done.stdout and "port = 9123" in done.stdout
    as_json = json.loads(run("config", "--json", cwd=tmp_path, JIRA_API_TOKEN=secret).stdout)
    assert as_json["jira"]["api_token"] == "<redacted>" and as_json["server"]["port"] == 9123


def test_plugins_lists_builtin_toolset(tmp_path: Path) -> None:
    rows = json.loads(run("plugins", "--json", cwd=tmp_path).stdout)
    issues = {row["name"]: row for row in rows}["issues"]
    assert issues["builtin"] and issues["enabled"] and "register_tools" in issues["hooks"]


def commands_in_help(text: str) -> set[str]:
    """The command names ``jiraplug --help`` lists (the indented first words under COMMAND)."""
    listing = text.split("  COMMAND\n", 1)[1].split("\n\n")[0]
    return {line.split()[0] for line in listing.splitlines() if line[:4] == "    " and line[4:5].isalpha()}


def test_commands_come_from_plugins_and_leave_with_them(tmp_path: Path) -> None:
    everything = run("--help", cwd=tmp_path)
    assert commands_in_help(everything.stdout) == {"serve", "plugins", "config", "stats", "profile", "sandbox", "demo"}
    rows = {row["name"]: row for row in json.loads(run("plugins", "--json", cwd=tmp_path).stdout)}
    assert all(rows[name]["builtin"] and "register_commands" in rows[name]["hooks"] for name in ("sandbox", "demo"))

    without = run("--help", cwd=tmp_path, JIRAPLUG_DISABLE_PLUGINS="demo,sandbox")
    assert commands_in_help(without.stdout) == {"serve", "plugins", "config", "stats", "profile"}
    refused = run("demo", cwd=tmp_path, JIRAPLUG_DISABLE_PLUGINS="demo")
    assert refused.returncode == 2 and "invalid choice: 'demo'" in refused.stderr


def test_a_command_with_its_own_parser_gets_the_rest_of_the_line(tmp_path: Path) -> None:
    done = run("sandbox", "--port", "70000", cwd=tmp_path)
    assert done.returncode == 2 and done.stderr.strip().splitlines() == [
        "jiraplug sandbox: error: argument --port: expected a port number 0-65535, got '70000' (see --help)"
    ]
    other = run("plugins", "--port", "1", cwd=tmp_path)  # commands without their own parser still refuse extras
    assert other.returncode == 2 and "unrecognized arguments: --port 1" in other.stderr
