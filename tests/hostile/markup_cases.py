"""Hostile inputs for the rich-text converters, each with what a correct conversion shows.

The cases are the issue's examples and the shapes that were superlinear (or overflowed the
stack) before issue 19: at the sizes below, a quadratic converter takes minutes, a linear
one a second or two. A case builds its
input from a size, converts it, and returns what is wrong with the output ("" when all is
right), so that it can run whole in a worker process (deep inputs do not pickle).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from jiraplug.jira.markup import adf_to_markdown, markdown_to_adf, markdown_to_wiki, wiki_to_markdown
from jiraplug.jira.markup.nodes import plain_text

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Case:
    """One hostile input: ``build(size)`` gives the input, ``check(input, size)`` the problems."""

    name: str
    size: int
    build: Callable[[int], Any]
    check: Callable[[Any, int], str]


def _visible(doc: dict[str, Any]) -> str:
    return _SPACE.sub("", plain_text(doc))


def _expect(what: str, got: str, want: str) -> str:
    return "" if got == want else f"{what}: expected {want[:80]!r}... ({len(want)} chars), got {got[:80]!r}... ({len(got)})"


def md_to_adf(text_of: Callable[[int], str]) -> Callable[[str, int], str]:
    """Markdown -> ADF shows ``text_of(size)`` (whitespace aside), and reads back as itself."""

    def check(markdown: str, size: int) -> str:
        doc = markdown_to_adf(markdown)
        problem = _expect("visible text", _visible(doc), text_of(size))
        if not problem and markdown_to_adf(adf_to_markdown(doc)) != doc:
            problem = "the ADF written as Markdown does not read back as the same ADF"
        return problem

    return check


def md_to_wiki(text_of: Callable[[int], str]) -> Callable[[str, int], str]:
    """Markdown -> wiki markup shows ``text_of(size)`` once read back."""

    def check(markdown: str, size: int) -> str:
        wiki = markdown_to_wiki(markdown)
        return _expect("visible text", _visible(markdown_to_adf(wiki_to_markdown(wiki))), text_of(size))

    return check


def wiki_to_md(text_of: Callable[[int], str]) -> Callable[[str, int], str]:
    """Wiki markup -> Markdown shows ``text_of(size)`` once parsed."""

    def check(wiki: str, size: int) -> str:
        return _expect("visible text", _visible(markdown_to_adf(wiki_to_markdown(wiki))), text_of(size))

    return check


def adf_to_md(text_of: Callable[[int], str]) -> Callable[[dict[str, Any], int], str]:
    """ADF -> Markdown keeps ``text_of(size)`` (whitespace aside)."""

    def check(doc: dict[str, Any], size: int) -> str:
        return _expect("visible text", _visible(markdown_to_adf(adf_to_markdown(doc))), text_of(size))

    return check


def _doc(*blocks: Any) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(blocks)}


def _para(*inline: Any) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(inline)}


def _text(text: str, *marks: dict[str, Any]) -> dict[str, Any]:
    return {"type": "text", "text": text, **({"marks": list(marks)} if marks else {})}


def _nested(depth: int, wrap: Callable[[Any], Any], inner: Any) -> Any:
    for _ in range(depth):  # iterative: the input itself must not need a deep stack
        inner = wrap(inner)
    return inner


def _list_of(node: Any) -> dict[str, Any]:
    return {"type": "bulletList", "content": [{"type": "listItem", "content": [_para(_text("x")), node]}]}


MARKDOWN_CASES = [
    Case("stars", 50_000, lambda n: "*a" * n, md_to_adf(lambda n: "a" * n)),
    Case("underscores", 50_000, lambda n: "_a" * n, md_to_adf(lambda n: "_a" * n)),
    Case("brackets", 100_000, lambda n: "[" * n, md_to_adf(lambda n: "[" * n)),
    Case("backticks", 50_000, lambda n: "`a" * n, md_to_adf(lambda n: "a" * n)),
    Case("escaped-stars", 100_000, lambda n: "\\*" * n, md_to_adf(lambda n: "*" * n)),
    Case("nested-emphasis", 50_000, lambda n: "*" * n + "a" + "*" * n, md_to_adf(lambda n: "a")),
    Case("sup-then-sub", 30_000, lambda n: "<sup>" * n + "<sub>" * n + "a" + "</sup>" * n + "</sub>" * n,
         md_to_adf(lambda n: "a")),
    Case("blank-lines", 100_000, lambda n: "a" + "<br>\u2003" * n, md_to_adf(lambda n: "a")),
    Case("blank-marks", 30_000, lambda n: "**" + "<em> </em> " * n + "a**", md_to_adf(lambda n: "a")),
    Case("url-parentheses", 200_000, lambda n: "http://a.b" + ")" * n, md_to_adf(lambda n: "http://a.b" + ")" * n)),
    Case("long-table", 10_000, lambda n: "|a|b|\n|-|-|\n" + "|x|y|\n" * n, md_to_adf(lambda n: "ab" + "xy" * n)),
    Case("quotes", 100_000, lambda n: "> " * n + "a", lambda markdown, n: ""),  # completes; markdown-it caps nesting
    Case("wiki-stars", 20_000, lambda n: "*a" * n, md_to_wiki(lambda n: "a" * n)),
    Case("wiki-blank-marks", 30_000, lambda n: "**" + "<em> </em> " * n + "a**", md_to_wiki(lambda n: "a")),
]

WIKI_CASES = [
    Case("code-macros", 200_000, lambda n: "{code}" * n + "{code}x", wiki_to_md(lambda n: "{code}x")),
    Case("stars", 100_000, lambda n: "*a" * n, wiki_to_md(lambda n: "*a" * n)),
    Case("anchors", 100_000, lambda n: "{anchor:" * n, wiki_to_md(lambda n: "{anchor:" * n)),
    Case("unclosed-macros", 30_000, lambda n: "{info:x}\n" * n, wiki_to_md(lambda n: "{info:x}" * n)),
    Case("unsafe-links", 100_000, lambda n: "[javascript:" * n + "]", wiki_to_md(lambda n: "[javascript:" * n + "]")),
    Case("blank-lines", 100_000, lambda n: "a" + "\\\\\u2003" * n, wiki_to_md(lambda n: "a")),
    Case("deep-list", 20_000, lambda n: "*" * n + " a", wiki_to_md(lambda n: "a")),
]

ADF_CASES = [
    Case("nested-quotes", 5_000,
         lambda n: _doc(_nested(n, lambda c: {"type": "blockquote", "content": [c]}, _para(_text("x")))),
         adf_to_md(lambda n: "x")),
    Case("nested-lists", 5_000, lambda n: _doc(_nested(n, _list_of, _para(_text("y")))),
         adf_to_md(lambda n: "x" * n + "y")),
    Case("nested-wrappers", 5_000,
         lambda n: _doc(_para(_nested(n, lambda c: {"type": "wrapper", "content": [c]}, _text("x")))),
         adf_to_md(lambda n: "x")),
    Case("duplicate-marks", 20_000,
         lambda n: _doc(_para(_text("a", *({"type": "strong", "attrs": {"i": i}} for i in range(n))))),
         adf_to_md(lambda n: "a")),
    Case("alternating-blank-marks", 30_000,
         lambda n: _doc(_para(*(_text(" ", {"type": "strong"}, *([{"type": "em"}] if i % 2 else []))
                                for i in range(n)), _text("a", {"type": "strong"}))),
         adf_to_md(lambda n: "a")),
    Case("blank-lines", 30_000,
         lambda n: _doc(_para(_text("a"), *[node for _ in range(n) for node in ({"type": "hardBreak"}, _text("\u2003"))])),
         adf_to_md(lambda n: "a")),
    Case("one-wide-row", 3_000,
         lambda n: _doc({"type": "table", "content": [
             *({"type": "tableRow", "content": [{"type": "tableCell", "content": [_para(_text("r"))]}]}
               for _ in range(n)),
             {"type": "tableRow", "content": [{"type": "tableCell", "content": [_para(_text("w"))]}] * n}]}),
         adf_to_md(lambda n: "r" * n + "|".join("w" * n))),  # too big for a table: a paragraph per row
]

CASES = {
    "markdown": {case.name: case for case in MARKDOWN_CASES},
    "wiki": {case.name: case for case in WIKI_CASES},
    "adf": {case.name: case for case in ADF_CASES},
}


def run_case(source: str, name: str) -> str:
    """Build, convert and check one case (in a worker process); the problems, or ""."""
    case = CASES[source][name]
    return case.check(case.build(case.size), case.size)
