"""The reference pages are generated from the code and never go stale."""

from __future__ import annotations

import pytest

from tests.docs.gen import generator


@pytest.fixture(autouse=True)
def _isolated_cwd(tmp_path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.chdir(tmp_path)  # no stray ./jiraplug.toml
    for name in list(__import__("os").environ):
        if name.startswith(("JIRA", "READ_ONLY_MODE", "ENABLED_TOOLS", "TOOLSETS")):
            monkeypatch.delenv(name)


@pytest.mark.parametrize("name", ["configref", "toolsref"])
def test_reference_page_matches_the_code(name: str) -> None:
    gen = generator(name)
    assert gen.PAGE.read_text() == gen.render(), (
        f"{gen.PAGE.relative_to(gen.PAGE.parents[2])} is stale: run `python docs/gen/{name}.py --write`")


def test_every_setting_has_a_description() -> None:
    assert generator("configref").missing_descriptions() == []


def test_every_built_in_plugin_table_and_tool_is_on_its_page() -> None:
    config_page = generator("configref").PAGE.read_text()
    for table in ("jira", "server", "tools", "cache", "pool", "ratelimit", "profiling", "alerting"):
        assert f"## `[{table}]`" in config_page
    tools_page = generator("toolsref").PAGE.read_text()
    for tool in ("jira_search", "jira_get_issue", "jira_create_issue", "jiraplug_profile"):
        assert f"### `{tool}`" in tools_page
