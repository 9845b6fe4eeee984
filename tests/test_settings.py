"""Settings: TOML file + environment, clear errors, redaction."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import BaseModel, ConfigDict

from jiraplug.errors import ConfigError
from jiraplug.settings import load_settings


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "jiraplug.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_without_file_or_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    settings = load_settings(environ={})
    assert settings.config_file is None
    assert settings.jira.url is None and settings.jira.ssl_verify is True
    assert settings.server.transport == "stdio" and settings.server.host == "127.0.0.1"


def test_file_then_environment_wins(tmp_path: Path) -> None:
    path = write(tmp_path, '[jira]\nurl = "https://file.example"\nssl_verify = true\n[server]\nport = 9001\n')
    settings = load_settings(path, environ={"JIRA_SSL_VERIFY": "false", "JIRAPLUG_SERVER__PORT": "9002"})
    assert settings.jira.url == "https://file.example"
    assert settings.jira.ssl_verify is False
    assert settings.server.port == 9002


def test_config_file_found_via_environment_and_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, '[jira]\nurl = "https://env.example"\n')
    assert load_settings(environ={"JIRAPLUG_CONFIG": str(path)}).jira.url == "https://env.example"
    monkeypatch.chdir(tmp_path)
    assert load_settings(environ={}).jira.url == "https://env.example"


@pytest.mark.parametrize(
    ("toml", "environ", "expected"),
    [
        ('[jira]\nurll = "x"\n', {}, ["jira.urll", "unknown key 'urll'", "did you mean 'url'"]),
        ("[jira]\nssl_verify = \"maybe\"\n", {}, ["jira.ssl_verify", "'maybe'", "expected true or false"]),
        ("", {"JIRA_SSL_VERIFY": "maybe"}, ["jira.ssl_verify", "$JIRA_SSL_VERIFY", "'maybe'"]),
        ("[server]\nport = 70000\n", {}, ["server.port", "70000", "<= 65535"]),
        ('[server]\ntransport = "carrier"\n', {}, ["server.transport", "'carrier'", "'stdio', 'http'"]),
        ("jira = 3\n", {}, ["jira = 3", "expected a table"]),
        ("[jira\n", {}, ["not valid TOML"]),
        ("[plugins]\nissues = \"yes\"\n", {}, ["plugins.issues", "'yes'", "expected true or false"]),
    ],
)
def test_bad_values_name_key_value_and_expectation(tmp_path: Path, toml: str, environ: dict, expected: list) -> None:
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, toml), environ=environ)
    message = str(info.value)
    assert "\n" not in message
    for part in expected:
        assert part in message


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "absent.toml", environ={})
    with pytest.raises(ConfigError, match="JIRAPLUG_CONFIG"):
        load_settings(environ={"JIRAPLUG_CONFIG": str(tmp_path / "absent.toml")})


def test_secret_values_never_appear_in_errors_or_redacted_output(tmp_path: Path) -> None:
    token = "tok-SECRET-123"
    settings = load_settings(write(tmp_path, ""), environ={"JIRA_API_TOKEN": token, "JIRA_USERNAME": "me"})
    assert settings.jira.api_token is not None and settings.jira.api_token.get_secret_value() == token
    assert token not in repr(settings) and token not in str(settings.redacted())
    assert settings.redacted()["jira"]["api_token"] == "<redacted>"
    with pytest.raises(ConfigError) as info:
        load_settings(write(tmp_path, "[jira]\napi_token = 12\n"), environ={})
    assert "12" not in str(info.value) and "<secret>" in str(info.value)


def test_token_from_file(tmp_path: Path) -> None:
    secret = tmp_path / "token"
    secret.write_text("file-token\n", encoding="utf-8")
    settings = load_settings(write(tmp_path, ""), environ={"JIRA_PERSONAL_TOKEN_FILE": str(secret)})
    assert settings.jira.personal_token is not None
    assert settings.jira.personal_token.get_secret_value() == "file-token"
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(write(tmp_path, ""), environ={"JIRA_API_TOKEN_FILE": str(tmp_path / "none")})


def test_list_values_from_environment_are_split() -> None:
    settings = load_settings(environ={"JIRAPLUG_SERVER__ALLOWED_HOSTS": "a.example:*, b.example"})
    assert settings.server.allowed_hosts == ["a.example:*", "b.example"]


class DemoSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    capacity: int = 10


def test_plugin_tables_are_validated_by_the_declared_model(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "[demo]\ncapacity = 5\n"), environ={"JIRAPLUG_DEMO__CAPACITY": "7"})
    settings.bind_plugins(known=["demo"], models={"demo": DemoSettings})
    assert settings.plugin_config("demo").capacity == 7

    bad = load_settings(write(tmp_path, "[demo]\ncapasity = 5\n"), environ={})
    with pytest.raises(ConfigError, match=r"demo\.capasity.*did you mean 'capacity'"):
        bad.bind_plugins(known=["demo"], models={"demo": DemoSettings})

    wrong = load_settings(write(tmp_path, '[demo]\ncapacity = "lots"\n'), environ={})
    with pytest.raises(ConfigError, match=r"demo\.capacity.*'lots'.*an integer"):
        wrong.bind_plugins(known=["demo"], models={"demo": DemoSettings})


def test_unknown_table_and_plugin_switch_suggest_the_closest_name(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, "[dmeo]\ncapacity = 1\n"), environ={})
    with pytest.raises(ConfigError, match="did you mean 'demo'"):
        settings.bind_plugins(known=["demo"], models={"demo": DemoSettings})
    settings = load_settings(write(tmp_path, ""), environ={"JIRAPLUG_DISABLE_PLUGINS": "dmeo"})
    with pytest.raises(ConfigError, match=r"plugins\.dmeo.*JIRAPLUG_DISABLE_PLUGINS.*did you mean 'demo'"):
        settings.bind_plugins(known=["demo"], models={"demo": DemoSettings})


def test_plugin_switches_from_file_and_environment(tmp_path: Path) -> None:
    path = write(tmp_path, "[plugins]\na = false\nb = true\n")
    settings = load_settings(path, environ={"JIRAPLUG_ENABLE_PLUGINS": "a", "JIRAPLUG_DISABLE_PLUGINS": "b,c"})
    assert settings.is_plugin_enabled("a") is True
    assert settings.is_plugin_enabled("b") is False
    assert settings.is_plugin_enabled("c") is False
    assert settings.is_plugin_enabled("unmentioned") is True


class RequiredSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")
    webhook_url: str


def test_missing_required_plugin_value_is_named(tmp_path: Path) -> None:
    settings = load_settings(write(tmp_path, ""), environ={})
    with pytest.raises(ConfigError, match=r"^needy\.webhook_url: a value is required \(a string\)$"):
        settings.bind_plugins(known=["needy"], models={"needy": RequiredSettings})


@pytest.mark.parametrize(("toml", "environ", "where"), [
    ('[tools]\nupload_dir = "/srv/uploads"\n', {}, "tools.upload_dir (from "),
    ("", {"JIRAPLUG_TOOLS__MAX_ATTACHMENT_BYTES": "5"}, "tools.max_attachment_bytes (from $JIRAPLUG_TOOLS__"),
])
def test_a_moved_key_is_an_error_naming_its_new_place(tmp_path: Path, toml: str, environ: dict, where: str) -> None:
    key = where.split(" ")[0].removeprefix("tools.")
    with pytest.raises(ConfigError) as caught:
        load_settings(write(tmp_path, toml), environ=environ)
    message = str(caught.value)
    assert message.startswith(where) and f"moved to attachments.{key}" in message
    assert "[attachments] table" in message and f"$JIRAPLUG_ATTACHMENTS__{key.upper()}" in message


def test_attachment_settings_are_the_attachments_toolsets_table(tmp_path: Path) -> None:
    from jiraplug.bootstrap import bootstrap

    path = write(tmp_path, "[attachments]\nmax_attachment_bytes = 2048\n")
    app = bootstrap(path, {"JIRAPLUG_UPLOAD_DIR": str(tmp_path)})
    table = app.settings.plugin_config("attachments")
    assert table.max_attachment_bytes == 2048 and table.upload_dir == tmp_path
    with pytest.raises(ConfigError, match=r"attachments\.max_attachment_bytes .*= 0: .*greater than 0"):
        bootstrap(write(tmp_path, "[attachments]\nmax_attachment_bytes = 0\n"), {})
