"""``[jira]`` settings and credentials: every mistake is one clear start-up error, never a secret."""

from __future__ import annotations

from pathlib import Path

import pytest

from jiraplug.errors import ConfigError
from jiraplug.jira.auth import JiraAuth, auth_from_settings
from jiraplug.jira.deployment import Deployment, detect_deployment
from jiraplug.settings import load_settings

SECRET = "s3cr3t-token-value"


def jira_settings(**environ: str):  # type: ignore[no-untyped-def]
    return load_settings(environ=environ).jira


def test_new_network_keys_come_from_their_environment_names(tmp_path: Path) -> None:
    bundle = tmp_path / "ca.pem"
    bundle.write_text("-----BEGIN CERTIFICATE-----\n")
    jira = jira_settings(
        JIRA_URL="https://jira.example.com/", JIRA_CA_BUNDLE=str(bundle), JIRA_PROXY="http://proxy.example:3128",
        JIRA_CUSTOM_HEADERS="X-Team=platform, X-Trace = on ,", JIRA_CLOUD_ID="1324a887-45db-1bf4-1e99-ef0ff456d421",
        JIRA_OAUTH_ACCESS_TOKEN=SECRET,
    )
    assert jira.url == "https://jira.example.com"  # trailing slash dropped
    assert jira.ca_bundle == bundle
    assert jira.proxy == "http://proxy.example:3128"
    assert {k: v.get_secret_value() for k, v in jira.custom_headers.items()} == {"X-Team": "platform", "X-Trace": "on"}
    assert jira.cloud_id == "1324a887-45db-1bf4-1e99-ef0ff456d421"
    assert jira.oauth_access_token.get_secret_value() == SECRET


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({"JIRA_URL": "jira.example.com"}, "jira.url (from $JIRA_URL) = 'jira.example.com': value error, not an http(s) URL"),
        ({"JIRA_URL": "https://me:pw@jira.example.com"}, "must not carry credentials"),
        ({"JIRA_CA_BUNDLE": "/nonexistent/ca.pem"}, "jira.ca_bundle (from $JIRA_CA_BUNDLE) = '/nonexistent/ca.pem'"),
        ({"JIRA_PROXY": "ftp://proxy"}, "jira.proxy (from $JIRA_PROXY) = 'ftp://proxy': value error, not a proxy URL"),
        ({"JIRA_CUSTOM_HEADERS": "X-Team"}, "jira.custom_headers (from $JIRA_CUSTOM_HEADERS) = <secret>: "
                                            "value error, 'x-team' has no '='"),
        ({"JIRA_CUSTOM_HEADERS": "Bad Name=1"}, "'Bad Name' is not a valid HTTP header name"),
        ({"JIRA_CUSTOM_HEADERS": "Authorization=Bearer x"}, "header 'Authorization' is set by jiraplug itself"),
        ({"JIRA_CLOUD_ID": "not/an id"}, "jira.cloud_id (from $JIRA_CLOUD_ID)"),
    ],
)
def test_bad_network_settings_name_key_value_and_source(environ: dict[str, str], expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ=environ)
    message = str(caught.value)
    assert expected.lower() in message.lower() and "\n" not in message


def test_a_custom_header_value_is_never_echoed_in_errors() -> None:
    with pytest.raises(ConfigError) as caught:
        load_settings(environ={"JIRA_CUSTOM_HEADERS": f"X-Key={SECRET},Authorization={SECRET}"})
    assert SECRET not in str(caught.value)


@pytest.mark.parametrize(
    ("environ", "expected"),
    [
        ({}, "no Jira credentials: set JIRA_USERNAME and JIRA_API_TOKEN"),
        ({"JIRA_API_TOKEN": SECRET}, "jira.username (JIRA_USERNAME) is required"),
        ({"JIRA_API_TOKEN": SECRET, "JIRA_PERSONAL_TOKEN": SECRET, "JIRA_USERNAME": "u"},
         "JIRA_API_TOKEN and JIRA_PERSONAL_TOKEN are all set"),
        ({"JIRA_OAUTH_ACCESS_TOKEN": SECRET}, "jira.cloud_id (JIRA_CLOUD_ID) is required"),
        ({"JIRA_OAUTH_ACCESS_TOKEN": SECRET, "JIRA_CLOUD_ID": "abc", "JIRA_DEPLOYMENT": "dc"},
         "is for Jira Cloud, but jira.deployment (JIRA_DEPLOYMENT) is 'dc'"),
        ({"JIRA_CLOUD_ID": "abc", "JIRA_PERSONAL_TOKEN": SECRET}, "jira.cloud_id (JIRA_CLOUD_ID) is only used with"),
        ({"JIRA_URL": "https://acme.atlassian.net", "JIRA_PERSONAL_TOKEN": SECRET},
         "is for Data Center/Server, but https://acme.atlassian.net is Jira Cloud"),
        ({"JIRA_URL": "https://acme.atlassian.net", "JIRA_USERNAME": "ada", "JIRA_API_TOKEN": SECRET},
         "Jira Cloud expects the account's email address"),
        ({"JIRA_PERSONAL_TOKEN": "abc def"}, "contains spaces or line breaks inside it"),
        ({"JIRA_PERSONAL_TOKEN": "t\u00f6ken"}, "non-ASCII or control characters"),
        ({"JIRA_USERNAME": "u", "JIRA_API_TOKEN": "pass\nword"}, "line breaks or control characters"),
    ],
)
def test_misconfigured_credentials_are_one_clear_error(environ: dict[str, str], expected: str) -> None:
    jira = load_settings(environ={"JIRA_URL": "https://jira.example.com", **environ}).jira
    with pytest.raises(ConfigError) as caught:
        auth_from_settings(jira)
    assert expected in str(caught.value)
    assert SECRET not in str(caught.value)


def test_each_credential_kind_builds_its_header_and_a_hint_without_the_secret() -> None:
    basic = auth_from_settings(jira_settings(JIRA_URL="https://acme.atlassian.net", JIRA_USERNAME="ada@example.com",
                                             JIRA_API_TOKEN=f"  {SECRET}\n"))
    assert basic.scheme == "basic" and basic.api_base is None
    assert basic.header == JiraAuth.basic("ada@example.com", SECRET).header  # surrounding whitespace stripped
    pat = auth_from_settings(jira_settings(JIRA_URL="https://jira.example.com", JIRA_PERSONAL_TOKEN=SECRET))
    assert (pat.scheme, pat.header) == ("bearer", f"Bearer {SECRET}")
    oauth = auth_from_settings(jira_settings(JIRA_URL="https://acme.atlassian.net", JIRA_OAUTH_ACCESS_TOKEN=SECRET,
                                             JIRA_CLOUD_ID="c1d2"))
    assert oauth.scheme == "oauth" and oauth.header == f"Bearer {SECRET}"
    assert oauth.api_base == "https://api.atlassian.com/ex/jira/c1d2"
    for auth in (basic, pat, oauth):
        assert SECRET not in auth.hint and SECRET not in repr(auth) and SECRET not in auth.fingerprint
    assert "JIRA_USERNAME" in basic.hint and "JIRA_PERSONAL_TOKEN" in pat.hint and "OAuth" in oauth.hint


@pytest.mark.parametrize(
    ("url", "configured", "expected"),
    [
        ("https://acme.atlassian.net", "auto", Deployment.CLOUD),
        ("https://ACME.Atlassian.NET/jira", "auto", Deployment.CLOUD),
        ("https://api.atlassian.com/ex/jira/abc", "auto", Deployment.CLOUD),
        ("https://jira.example.com", "auto", None),  # ambiguous: ask serverInfo
        ("http://127.0.0.1:8080", "auto", None),
        ("https://acme.atlassian.net", "dc", Deployment.DC),  # configuration wins
        ("https://jira.example.com", "cloud", Deployment.CLOUD),
    ],
)
def test_deployment_from_configuration_or_host(url: str, configured: str, expected: Deployment | None) -> None:
    assert detect_deployment(url, configured) is expected
