"""docs/plugin-hooks.md is generated from the hookspec docstrings, and is current.

The hooks are the core's (core/hookspecs.py) and those built-in plugins declare through
``add_hookspecs`` (alerting's ``deliver_alert``, in plugins/alerting/hookspecs.py).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path

from jiraplug import hookdocs, hookspecs

DOC = Path(__file__).resolve().parents[1] / "docs" / "plugin-hooks.md"
HEADING = re.compile(r"^### `(?P<name>\w+)(?P<signature>\(.*\) -> .+)`$", re.MULTILINE)


def documented() -> dict[str, str]:
    return {m["name"]: m["signature"] for m in HEADING.finditer(DOC.read_text(encoding="utf-8"))}


def hook_names() -> list[str]:
    return sorted(hookdocs.all_hookspecs())


def signature_of(name: str) -> str:
    return str(inspect.signature(hookdocs.all_hookspecs()[name])).replace("'", "")


def test_every_hookspec_is_documented_with_its_signature() -> None:
    docs = documented()
    assert "deliver_alert" in hook_names()  # declared by the alerting plugin, documented with the core's
    missing = [name for name in hook_names() if name not in docs]
    assert not missing, f"hooks missing from {DOC.name}: {missing}"
    wrong = {name: (docs[name], signature_of(name)) for name in hook_names() if docs[name] != signature_of(name)}
    assert not wrong, f"documented signature differs from the hookspec (doc, code): {wrong}"


def test_no_documented_hook_is_stale() -> None:
    stale = sorted(set(documented()) - set(hook_names()))
    assert not stale, f"{DOC.name} documents hooks that do not exist: {stale}"


def test_every_hookspec_has_a_docstring_saying_when_it_is_called() -> None:
    for name, spec in hookdocs.all_hookspecs().items():
        doc = inspect.getdoc(spec) or ""
        assert "Called" in doc, f"hookspec {name} must say when it is called"


def test_the_checker_notices_a_wrong_signature(monkeypatch) -> None:
    """The signature check bites: a changed signature no longer matches the doc."""

    def register_tools(registry, settings, extra):  # type: ignore[no-untyped-def]
        """Called never."""

    monkeypatch.setattr(hookspecs, "register_tools", hookspecs.hookspec(register_tools))
    assert documented()["register_tools"] != signature_of("register_tools")


def test_the_reference_is_the_generated_text_of_the_docstrings() -> None:
    page = DOC.read_text(encoding="utf-8")
    assert page == hookdocs.page_with_reference(page), (
        "docs/plugin-hooks.md is stale: run `python -m jiraplug.hookdocs --write`"
    )


def test_a_changed_docstring_makes_the_page_stale(monkeypatch) -> None:
    """The staleness check bites on the text, not only the signatures."""
    def startup(runtime):  # type: ignore[no-untyped-def]
        """Run code when the server starts. Called once, now with other words."""

    monkeypatch.setattr(hookspecs, "startup", hookspecs.hookspec(startup))
    page = DOC.read_text(encoding="utf-8")
    assert "now with other words" in hookdocs.page_with_reference(page)
    assert "now with other words" not in page


def test_docstring_markup_becomes_markdown() -> None:
    text = hookdocs.docstring_markdown("""Use ``x`` and :class:`jiraplug.Thing`.

    Example::

        print(1)
    """)
    assert text == "Use `x` and `jiraplug.Thing`.\n\nExample:\n\n```python\nprint(1)\n```"


def test_each_hook_links_to_a_builtin_that_implements_it_where_one_does() -> None:
    examples = hookdocs.builtin_examples()
    assert ("cache", "plugins/cache/__init__.py") in examples["jira_request_middleware"]
    assert examples["deliver_alert"] == [("alerting", "plugins/alerting/__init__.py")]
    for users in examples.values():
        for _, path in users:
            assert (DOC.parents[1] / path).is_file(), path
