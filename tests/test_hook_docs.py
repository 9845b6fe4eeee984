"""Every hookspec is documented in docs/plugin-hooks.md with its exact signature."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from jiraplug import hookspecs
from jiraplug.plugin_host import hookspec_names

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugin-hooks.md"
HEADING = re.compile(r"^### `(?P<name>\w+)(?P<signature>\(.*\) -> .+)`$", re.MULTILINE)


def documented() -> dict[str, str]:
    return {m["name"]: m["signature"] for m in HEADING.finditer(DOC.read_text(encoding="utf-8"))}


def signature_of(name: str) -> str:
    return str(inspect.signature(getattr(hookspecs, name))).replace("'", "")


def test_every_hookspec_is_documented_with_its_signature() -> None:
    docs = documented()
    missing = [name for name in hookspec_names() if name not in docs]
    assert not missing, f"hooks missing from {DOC.name}: {missing}"
    wrong = {name: (docs[name], signature_of(name)) for name in hookspec_names() if docs[name] != signature_of(name)}
    assert not wrong, f"documented signature differs from core/hookspecs.py (doc, code): {wrong}"


def test_no_documented_hook_is_stale() -> None:
    stale = sorted(set(documented()) - set(hookspec_names()))
    assert not stale, f"{DOC.name} documents hooks that do not exist: {stale}"


def test_every_hookspec_has_a_docstring_saying_when_it_is_called() -> None:
    for name in hookspec_names():
        doc = inspect.getdoc(getattr(hookspecs, name)) or ""
        assert "Called" in doc, f"hookspec {name} must say when it is called"


def test_the_checker_notices_a_wrong_signature(monkeypatch) -> None:
    """The signature check bites: a changed signature no longer matches the doc."""

    def register_tools(registry, settings, extra):  # type: ignore[no-untyped-def]
        """Called never."""

    monkeypatch.setattr(hookspecs, "register_tools", hookspecs.hookspec(register_tools))
    assert documented()["register_tools"] != signature_of("register_tools")
