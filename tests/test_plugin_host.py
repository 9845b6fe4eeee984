"""Plugin discovery through entry points, enabling/disabling, and isolation of broken plugins."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from jiraplug import hookimpl
from jiraplug.hookspecs import hookspec
from jiraplug.bootstrap import bootstrap
from jiraplug.cli import main
from jiraplug.errors import StartupError
from jiraplug.plugin_host import PluginHost
from jiraplug.server.registry import ToolRegistry
from tests.plugin_dists import forget_modules, make_distribution

GOOD = """
from jiraplug import hookimpl
from jiraplug.hookspecs import hookspec
import os
os.environ["JIRAPLUG_TEST_IMPORTED_" + __name__.upper()] = "1"

@hookimpl
def register_tools(registry):
    @registry.tool(read_only=True)
    async def good_tool() -> str:
        "A tool from a third-party plugin."
        return "good"
"""


@pytest.fixture
def site(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "site"
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.chdir(tmp_path)
    yield root
    forget_modules("good_plugin", "broken_plugin", "typo_plugin", "raising_plugin")


def test_third_party_plugin_is_discovered_with_its_distribution(site: Path) -> None:
    make_distribution(site, "jiraplug-good", {"good": "good_plugin"}, {"good_plugin": GOOD}, version="2.5")
    app = bootstrap(environ={})
    info = app.plugins.info("good")
    assert (info.distribution, info.version, info.enabled, info.loaded) == ("jiraplug-good", "2.5", True, True)
    assert info.hooks == ["register_tools"] and not info.builtin
    assert app.plugins.info("issues").builtin
    registry = ToolRegistry()
    app.plugins.register_tools(registry, app.settings)
    assert {t.name: t.plugin for t in registry}["good_tool"] == "good"


def test_disabled_plugin_is_never_imported(site: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    make_distribution(site, "jiraplug-good", {"good": "good_plugin"}, {"good_plugin": GOOD})
    monkeypatch.delenv("JIRAPLUG_TEST_IMPORTED_GOOD_PLUGIN", raising=False)
    (site.parent / "jiraplug.toml").write_text("[plugins]\ngood = false\n", encoding="utf-8")
    app = bootstrap(environ={})
    assert app.plugins.info("good").enabled is False and app.plugins.info("good").loaded is False
    assert "good_plugin" not in sys.modules
    import os

    assert "JIRAPLUG_TEST_IMPORTED_GOOD_PLUGIN" not in os.environ
    env_disabled = bootstrap(environ={"JIRAPLUG_DISABLE_PLUGINS": "good", "JIRAPLUG_ENABLE_PLUGINS": ""})
    assert env_disabled.plugins.info("good").loaded is False


def test_plugin_that_fails_to_import_is_isolated_and_reported(site: Path, capsys: pytest.CaptureFixture) -> None:
    make_distribution(site, "jiraplug-broken", {"broken": "broken_plugin"},
                      {"broken_plugin": "raise ImportError('needs libfoo')\n"})
    app = bootstrap(environ={})
    info = app.plugins.info("broken")
    assert info.loaded is False
    assert "needs libfoo" in info.errors[0]
    assert app.plugins.info("issues").loaded  # the others still load
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert "needs libfoo" in rows["broken"]["error"] and rows["issues"]["error"] is None
    assert main(["plugins"]) == 0
    assert "FAILED" in capsys.readouterr().out


def test_unknown_hook_name_is_a_startup_error_naming_the_plugin(site: Path) -> None:
    source = "from jiraplug import hookimpl\n@hookimpl\ndef register_tool(registry):\n    pass\n"
    make_distribution(site, "jiraplug-typo", {"typo": "typo_plugin"}, {"typo_plugin": source})
    with pytest.raises(StartupError) as info:
        bootstrap(environ={})
    message = str(info.value)
    assert "'typo'" in message and "'register_tool'" in message and "did you mean 'register_tools'" in message


def test_unknown_hook_via_cli_is_one_line_and_non_zero(site: Path, capsys: pytest.CaptureFixture) -> None:
    source = "from jiraplug import hookimpl\n@hookimpl\ndef startupp(runtime):\n    pass\n"
    make_distribution(site, "jiraplug-typo", {"typo": "typo_plugin"}, {"typo_plugin": source})
    assert main(["plugins"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "jiraplug: error: plugin 'typo'" in err and "Traceback" not in err


def test_hook_argument_that_does_not_exist_is_a_startup_error() -> None:
    class Plugin:
        @hookimpl
        def register_tools(self, registry, nonsense):  # type: ignore[no-untyped-def]
            pass

    host = PluginHost()
    with pytest.raises(StartupError, match="'odd'.*nonsense"):
        host.register(Plugin(), "odd")


def test_hook_that_raises_is_isolated_and_reported() -> None:
    class Raising:
        @hookimpl
        def register_tools(self, registry):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom in plugin")

    class Fine:
        @hookimpl
        def register_tools(self, registry):  # type: ignore[no-untyped-def]
            registry.add(lambda: "ok", name="fine_tool")

    host = PluginHost()
    host.register(Raising(), "raising")
    host.register(Fine(), "fine")
    registry = ToolRegistry()
    host.register_tools(registry, settings=None)  # type: ignore[arg-type]
    assert "fine_tool" in registry
    assert "boom in plugin" in host.info("raising").errors[0]
    assert host.info("fine").errors == []


def test_duplicate_tool_names_name_both_plugins() -> None:
    def make(name: str) -> object:
        class P:
            @hookimpl
            def register_tools(self, registry):  # type: ignore[no-untyped-def]
                registry.add(lambda: "x", name="same")

        return P()

    host = PluginHost()
    host.register(make("a"), "a")
    host.register(make("b"), "b")
    with pytest.raises(StartupError, match="'same' is registered twice: by plugin 'b' and by 'a'"):
        host.register_tools(ToolRegistry(), settings=None)  # type: ignore[arg-type]


def test_middleware_order_follows_pluggy_order() -> None:
    def make(tag: str, **marks: bool) -> object:
        class P:
            @hookimpl(**marks)
            def tool_call_middleware(self, runtime):  # type: ignore[no-untyped-def]
                return tag

        return P()

    host = PluginHost()
    host.register(make("first-registered"), "one")
    host.register(make("last-registered"), "two")
    host.register(make("tryfirst", tryfirst=True), "three")
    order = [mw for _, mw in host.tool_call_middlewares(runtime=None)]  # type: ignore[arg-type]
    assert order == ["tryfirst", "last-registered", "first-registered"]


class _Placed:
    """A third-party plugin with one middleware on each chain, placed by pluggy marks."""

    def __init__(self, **marks: bool) -> None:
        def jira(runtime):  # type: ignore[no-untyped-def]
            return lambda send: send

        def tool(runtime):  # type: ignore[no-untyped-def]
            return lambda call_next: call_next

        self.jira_request_middleware = hookimpl(**marks)(jira)
        self.tool_call_middleware = hookimpl(**marks)(tool)


def test_both_chains_follow_builtin_plugins_then_third_party_marks(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """The whole order of both chains, with every built-in on and a third-party plugin in each group."""
    from jiraplug.runtime import Runtime

    monkeypatch.chdir(tmp_path)
    app = bootstrap(environ={"JIRA_URL": "https://example.atlassian.net", "JIRA_PERSONAL_TOKEN": "x"},
                    extra_plugins={"outer": _Placed(tryfirst=True), "middle": _Placed(), "inner": _Placed(trylast=True)})
    runtime = Runtime(app.settings, app.plugins)
    jira_chain = [name for name, _ in app.plugins.jira_request_middlewares(runtime)]
    tool_chain = [name for name, _ in app.plugins.tool_call_middlewares(runtime)]
    assert jira_chain == ["outer", "middle", "cache", "alerting", "pool", "ratelimit", "inner"]
    assert tool_chain == ["outer", "profiling", "alerting", "middle", "pool", "inner"]


def test_builtin_order_is_the_tuple_not_the_alphabet(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Every built-in entry point is in BUILTIN_PLUGINS, and discovery follows the tuple."""
    from importlib import metadata

    from jiraplug.plugin_host import BUILTIN_PLUGINS

    monkeypatch.chdir(tmp_path)
    declared = {ep.name for ep in metadata.entry_points(group="jiraplug") if ep.dist and ep.dist.name == "jiraplug"}
    assert declared == set(BUILTIN_PLUGINS)
    assert len(BUILTIN_PLUGINS) == len(set(BUILTIN_PLUGINS))
    app = bootstrap(environ={})
    builtins = [p.name for p in app.plugins.plugins if p.builtin]
    assert builtins == list(BUILTIN_PLUGINS)
    assert builtins != sorted(builtins)


@pytest.mark.parametrize("marks", [{"wrapper": True}, {"hookwrapper": True}])
def test_a_hook_wrapper_is_refused_with_a_clear_error(marks: dict[str, bool]) -> None:
    class Wrapping:
        @hookimpl(**marks)
        def configure_http_client(self, options, settings):  # type: ignore[no-untyped-def]
            yield

    host = PluginHost()
    with pytest.raises(StartupError, match=r"plugin 'wrapping' .* 'configure_http_client' as a hook wrapper"):
        host.register(Wrapping(), "wrapping")
    assert "wrapping" not in [name for name, _ in host._pm.list_name_plugin()]


def test_an_optional_hook_of_an_absent_plugin_is_accepted_and_an_unmarked_one_refused() -> None:
    class Optional:
        @hookimpl(optionalhook=True)
        def other_plugins_hook(self) -> None:
            raise AssertionError("never called")

        @hookimpl
        def register_commands(self, subparsers):  # type: ignore[no-untyped-def]
            subparsers.append("optional")

    class Unmarked:
        @hookimpl
        def other_plugins_hook(self) -> None: ...

    host = PluginHost()
    host.register(Optional(), "optional")
    assert host.info("optional").loaded and "other_plugins_hook" in host.info("optional").hooks
    seen: list[str] = []
    host.register_commands(seen)
    assert seen == ["optional"]
    with pytest.raises(StartupError, match="unknown hook 'other_plugins_hook'.*optionalhook=True"):
        host.register(Unmarked(), "unmarked")


def test_every_hook_is_called_through_one_isolating_path() -> None:
    """A raising implementation of any host method is reported and skipped; the others run."""
    calls: list[str] = []

    class Good:
        @hookimpl
        def register_commands(self, subparsers):  # type: ignore[no-untyped-def]
            calls.append("good")

    class Bad:
        @hookimpl
        def register_commands(self, subparsers):  # type: ignore[no-untyped-def]
            raise RuntimeError("boom")

    host = PluginHost()
    host.register(Good(), "good")
    host.register(Bad(), "bad")
    host.register_commands(None)
    assert calls == ["good"]
    assert host.info("bad").errors == ["hook register_commands raised RuntimeError: boom"]


class _GreetingSpecs:
    """Hookspecs a plugin declares for others (here a class; usually a module)."""

    @hookspec
    def greeting_sent(self, text):  # type: ignore[no-untyped-def]
        """Called after each greeting."""


class Greeter:
    """A plugin that declares ``greeting_sent`` (``add_hookspecs``) and calls it."""

    @hookimpl
    def add_hookspecs(self, host):  # type: ignore[no-untyped-def]
        host.add_hookspecs(_GreetingSpecs)


def test_a_plugin_declares_hooks_that_others_implement_and_it_calls_them_isolated() -> None:
    heard: list[str] = []

    class Listener:
        @hookimpl
        def greeting_sent(self, text):  # type: ignore[no-untyped-def]
            heard.append(text)

    class Broken:
        @hookimpl
        def greeting_sent(self, text):  # type: ignore[no-untyped-def]
            raise RuntimeError("deaf")

    host = PluginHost()
    with pytest.raises(StartupError, match="unknown hook 'greeting_sent'"):
        host.register(Listener(), "early")  # nobody declared it yet, and it is not marked optional
    host.register(Greeter(), "greeter")
    host.register(Listener(), "listener")
    host.register(Broken(), "broken")
    assert "greeting_sent" in host.hook_names() and "add_hookspecs" in host.info("greeter").hooks
    assert host.declared_hookspecs() == {"greeter": [_GreetingSpecs]}
    assert [name for name, _ in host.call("greeting_sent", text="hi")] == ["listener"]
    assert heard == ["hi"] and host.info("broken").errors == ["hook greeting_sent raised RuntimeError: deaf"]
    assert host.call("never_declared", text="hi") == []


def test_an_implementation_registered_before_the_declaration_is_checked_against_it() -> None:
    class Optional:
        @hookimpl(optionalhook=True)
        def greeting_sent(self, text, volume):  # type: ignore[no-untyped-def]
            """Asks for an argument the hook does not offer."""

    host = PluginHost()
    host.register(Optional(), "optional")  # accepted: the declaring plugin may be absent
    with pytest.raises(StartupError, match=r"hooks declared by plugin 'greeter'.*volume"):
        host.register(Greeter(), "greeter")


def test_an_alert_sink_loads_with_alerting_off_when_marked_optional(tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """``deliver_alert`` is the alerting plugin's hook: it exists only while alerting is loaded."""
    monkeypatch.chdir(tmp_path)

    class Sink:
        @hookimpl(optionalhook=True)
        def deliver_alert(self, alert):  # type: ignore[no-untyped-def]
            """A pager."""

    class UnmarkedSink:
        @hookimpl
        def deliver_alert(self, alert):  # type: ignore[no-untyped-def]
            """A pager that forgot the mark."""

    on = bootstrap(environ={}, extra_plugins={"pager": Sink()})
    assert "deliver_alert" in on.plugins.hook_names() and "deliver_alert" in on.plugins.info("pager").hooks
    off = bootstrap(environ={"JIRAPLUG_DISABLE_PLUGINS": "alerting"}, extra_plugins={"pager": Sink()})
    assert "deliver_alert" not in off.plugins.hook_names() and off.plugins.info("pager").loaded
    with pytest.raises(StartupError, match="unknown hook 'deliver_alert'.*optionalhook=True"):
        bootstrap(environ={"JIRAPLUG_DISABLE_PLUGINS": "alerting"}, extra_plugins={"pager": UnmarkedSink()})
