"""An empty or blank secret never opens a door (issue 19 point 1).

``JIRAPLUG_OPERATOR_TOKEN=""`` (what ``$(cat missing-file)`` gives) used to be accepted, and a
request without ``X-Jiraplug-Operator`` then compared equal to it: every user became the
operator. Every secret that guards access must now stop start-up with one line naming the key
and where it came from, never the value; and the operator check itself must never let a missing
header match.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import SecretStr, ValidationError
from starlette.datastructures import Headers

from jiraplug.server.callers import OPERATOR_HEADER, is_operator
from jiraplug.errors import ConfigError
from jiraplug.settings import ServerSettings, load_settings
from tests.hostile.processes import clean_env, free_port, run_cli

# (table.key, its well-known environment name)
SECRETS = [
    ("jira.api_token", "JIRA_API_TOKEN"),
    ("jira.personal_token", "JIRA_PERSONAL_TOKEN"),
    ("jira.oauth_access_token", "JIRA_OAUTH_ACCESS_TOKEN"),
    ("server.http_token", "JIRAPLUG_HTTP_TOKEN"),
    ("server.operator_token", "JIRAPLUG_OPERATOR_TOKEN"),
]
SECRET_FILES = [
    ("jira.api_token_file", "JIRA_API_TOKEN_FILE"),
    ("jira.personal_token_file", "JIRA_PERSONAL_TOKEN_FILE"),
]
EMPTY_VALUES = ["", " \t "]


def _refused(tmp_path: Path, toml: str, environ: dict[str, str]) -> str:
    config = tmp_path / "jiraplug.toml"
    config.write_text(toml, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(config, environ=environ)
    return str(info.value)


def _assert_names_key_and_origin(message: str, key: str, origin: str, value: str) -> None:
    assert "\n" not in message
    assert message.startswith(f"{key} (from {origin})"), message
    assert "empty or blank" in message
    if value.strip(" "):
        assert value.strip(" ") not in message  # the blank value itself is never shown


@pytest.mark.parametrize("value", EMPTY_VALUES, ids=["empty", "blank"])
@pytest.mark.parametrize(("key", "var"), SECRETS, ids=[k for k, _ in SECRETS])
def test_empty_secret_from_environment_stops_start_up(tmp_path: Path, key: str, var: str, value: str) -> None:
    message = _refused(tmp_path, "", {var: value})
    _assert_names_key_and_origin(message, key, f"${var}", value)
    table, name = key.split(".")
    prefixed = f"JIRAPLUG_{table.upper()}__{name.upper()}"
    _assert_names_key_and_origin(_refused(tmp_path, "", {prefixed: value}), key, f"${prefixed}", value)


@pytest.mark.parametrize("value", EMPTY_VALUES, ids=["empty", "blank"])
@pytest.mark.parametrize(("key", "var"), SECRETS, ids=[k for k, _ in SECRETS])
def test_empty_secret_from_toml_stops_start_up(tmp_path: Path, key: str, var: str, value: str) -> None:
    table, name = key.split(".")
    message = _refused(tmp_path, f'[{table}]\n{name} = "{value}"\n', {})
    _assert_names_key_and_origin(message, key, str(tmp_path / "jiraplug.toml"), value)


@pytest.mark.parametrize("content", ["", " \n\t\n"], ids=["empty", "blank"])
@pytest.mark.parametrize(("key", "var"), SECRET_FILES, ids=[k for k, _ in SECRET_FILES])
def test_secret_file_that_is_empty_stops_start_up(tmp_path: Path, key: str, var: str, content: str) -> None:
    secret = tmp_path / "token"
    secret.write_text(content, encoding="utf-8")
    _assert_names_key_and_origin(_refused(tmp_path, "", {var: str(secret)}), key, f"${var}", content)
    table, name = key.split(".")
    message = _refused(tmp_path, f'[{table}]\n{name} = "{secret}"\n', {})
    _assert_names_key_and_origin(message, key, str(tmp_path / "jiraplug.toml"), content)


def test_blank_custom_header_value_is_refused(tmp_path: Path) -> None:
    message = _refused(tmp_path, "", {"JIRA_CUSTOM_HEADERS": "X-Proxy-Auth= "})
    assert message.startswith("jira.custom_headers (from $JIRA_CUSTOM_HEADERS)") and "empty or blank" in message


@pytest.mark.parametrize("key", ["http_token", "operator_token"])
def test_settings_built_in_code_refuse_a_blank_token_too(key: str) -> None:
    with pytest.raises(ValidationError):
        ServerSettings(**{key: ""})
    settings = ServerSettings()
    with pytest.raises(ValidationError):
        setattr(settings, key, SecretStr("  "))


@pytest.mark.parametrize("sent", [None, "", " "], ids=["missing", "empty", "blank"])
@pytest.mark.parametrize("configured", [None, "", "  ", "op-token"], ids=["unset", "empty", "blank", "set"])
def test_a_request_without_the_operator_token_is_never_the_operator(configured: str | None, sent: str | None) -> None:
    # model_construct skips validation: the check must hold even if a blank token got through.
    server = ServerSettings.model_construct(
        transport="http", host="0.0.0.0", allow_configured_credentials=False,
        operator_token=None if configured is None else SecretStr(configured),
    )
    headers = Headers({} if sent is None else {OPERATOR_HEADER: sent})
    assert not is_operator(headers, server, has_configured_credentials=True, own_credential=True)
    assert not is_operator(headers, server, has_configured_credentials=True, own_credential=False)
    if configured == "op-token":
        assert is_operator(Headers({OPERATOR_HEADER: "op-token"}), server, True, own_credential=True)


@pytest.mark.parametrize(
    ("environ", "key"),
    [
        ({"JIRAPLUG_OPERATOR_TOKEN": ""}, "server.operator_token (from $JIRAPLUG_OPERATOR_TOKEN)"),
        ({"JIRAPLUG_HTTP_TOKEN": "   "}, "server.http_token (from $JIRAPLUG_HTTP_TOKEN)"),
    ],
    ids=["operator_token", "http_token"],
)
def test_the_real_server_refuses_to_start_with_an_empty_token(tmp_path: Path, environ: dict, key: str) -> None:
    done = run_cli(["serve", "--sandbox", "--transport", "http", "--port", str(free_port())],
                   env=clean_env(**environ), cwd=tmp_path, timeout=30)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"jiraplug: error: {key}"), done.stderr
    assert "empty or blank" in lines[0]
