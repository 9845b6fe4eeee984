"""Property tests (hypothesis): schema validity, stability after one pass, no lost text.

Generated inputs mix well-formed constructs with punctuation soup, because escaping
bugs live exactly where text looks like markup.
"""

from __future__ import annotations

import re
from collections import Counter
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from jiraplug.jira.markup import adf_to_markdown, markdown_to_adf, markdown_to_wiki, wiki_to_markdown
from jiraplug.jira.markup.nodes import plain_text
from tests.markup.adf_schema import adf_errors, require_schema

SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
# Schema validation (jsonschema over the large ADF schema) costs ~50 ms a document.
SCHEMA_SETTINGS = settings(SETTINGS, max_examples=40)

# ---------------------------------------------------------------------------- Markdown

SOUP = st.sampled_from(
    list("ab c*_~`[]()#<>!&|\\-+.:@=1{}^?\t") + [
        "**", "> ", "- ", "1. ", "```", "\n", "\n\n", "  ", "| a |", "|---|", "[!INFO]", "<u>", "</u>", "<br>",
        "&amp;", "&#42;", "http://x.y/z", "www.q.com", "@[N](accountid:1)", "\n---\n", "é", "\u00a0",
    ]
)
WORD = st.sampled_from(["alpha", "beta", "x", "snake_case", "2*3", "C#", "a_b_c", "[wip]", "Thanks!", "[In progress]", "[x]:", "[a](b)", "50%", "é", "<tag>", "&amp;", "1.", "#1"])


@st.composite
def inline_md(draw: st.DrawFn) -> str:
    parts = []
    for _ in range(draw(st.integers(1, 6))):
        word = draw(WORD)
        form = draw(st.integers(0, 11))
        parts.append(
            [
                word, f"*{word}*", f"**{word}**", f"~~{word}~~", f"`{word}`", f"[{word}](https://e.x/{len(word)})",
                f"@[{word}](accountid:id{len(word)})", f"<u>{word}</u>", f"<sup>{word}</sup>", "https://e.x/p?q=1.",
                draw(st.lists(SOUP, max_size=4).map("".join)), f"***{word}***",
            ][form]
        )
    return draw(st.sampled_from([" ", "", "\n"])).join(parts)


@st.composite
def block_md(draw: st.DrawFn, depth: int = 0) -> str:
    kind = draw(st.integers(0, 9 if depth < 2 else 4))
    line = draw(inline_md()).replace("\n", " ")
    if kind <= 1:
        return draw(inline_md())
    if kind == 2:
        return "#" * draw(st.integers(1, 6)) + " " + line
    if kind == 3:
        lang = draw(st.sampled_from(["", "python", "c++", "js"]))
        return f"```{lang}\n{draw(st.lists(SOUP, max_size=6).map(''.join))}\n```"
    if kind == 4:
        return draw(st.sampled_from(["---", "***", "<div>\n*raw*\n</div>"]))
    if kind in (5, 6):
        marker = draw(st.sampled_from(["- ", "* ", "1. ", "3) "]))
        items = draw(st.lists(block_md(depth + 1), min_size=1, max_size=3))
        pad = " " * len(marker)
        return "\n".join(marker + item.replace("\n", "\n" + pad) for item in items)
    if kind == 7:
        alert = draw(st.sampled_from(["", "[!INFO]\n", "[!WARNING]\n", "[!TIP]\n", "[!BOGUS]\n"]))
        body = alert + draw(block_md(depth + 1))
        return "\n".join("> " + x for x in body.split("\n"))
    if kind == 8:
        cells = draw(st.lists(inline_md().map(lambda s: s.replace("\n", " ").replace("|", "\\|")), min_size=2, max_size=6))
        return f"| {cells[0]} | {cells[1]} |\n|---|---|\n" + "\n".join(f"| {c} |" for c in cells[2:])
    return "\n".join(draw(st.lists(SOUP, max_size=12)))


MARKDOWN = st.one_of(
    st.lists(block_md(), max_size=5).map("\n\n".join),
    st.lists(SOUP, max_size=40).map("".join),
)


def _md_round(markdown: str) -> str:
    return adf_to_markdown(markdown_to_adf(markdown))


@SCHEMA_SETTINGS
@given(MARKDOWN)
def test_markdown_to_adf_always_validates_against_the_schema(markdown: str) -> None:
    require_schema()
    errors = adf_errors(markdown_to_adf(markdown))
    assert not errors, errors[:5]


@SETTINGS
@given(MARKDOWN)
def test_markdown_adf_markdown_is_stable_after_one_pass(markdown: str) -> None:
    once = _md_round(markdown)
    assert _md_round(once) == once
    assert markdown_to_adf(once) == markdown_to_adf(_md_round(once))


@SETTINGS
@given(MARKDOWN)
def test_markdown_wiki_markdown_is_stable_after_one_pass(markdown: str) -> None:
    once = wiki_to_markdown(markdown_to_wiki(markdown))
    assert wiki_to_markdown(markdown_to_wiki(once)) == once


# ---------------------------------------------------------------------------- wiki

WIKI_SOUP = st.sampled_from(
    list("ab c\n*_~^+-?!{}[]|\\#&.:") + [
        "h1. ", "h3. ", "{code}", "{code:java}", "{noformat}", "{quote}", "{info}", "{note}", "{panel:title=T}",
        "{panel}", "||", "| ", "[~bob]", "[~accountid:x1]", "!a.png!", "{{", "}}", "\\\\", "{*}", "??", "bq. ",
        "----", "* ", "# ", "** ", "*# ", "- ", "[x|http://a.b]", "[http://q.r]", "{color:red}", "{color}",
        "\n\n", "http://x.y", "&#92;", "[^f.txt]", "*bold*", "_em_", "-del-",
    ]
)


@SETTINGS
@given(st.lists(WIKI_SOUP, max_size=40).map("".join))
def test_wiki_markdown_wiki_is_stable_after_one_pass(wiki: str) -> None:
    once = markdown_to_wiki(wiki_to_markdown(wiki))
    assert markdown_to_wiki(wiki_to_markdown(once)) == once


@SCHEMA_SETTINGS
@given(st.lists(WIKI_SOUP, max_size=40).map("".join))
def test_wiki_to_markdown_output_converts_to_valid_adf(wiki: str) -> None:
    require_schema()
    assert not adf_errors(markdown_to_adf(wiki_to_markdown(wiki)))


# ---------------------------------------------------------------------------- ADF

TEXT = st.lists(st.sampled_from(list("ab c*_~`[]#<>!&|\\-.:@\n") + ["word", "http://x.y", "  ", "1. "]), min_size=1, max_size=6).map("".join)
MARKS = st.lists(
    st.sampled_from(
        [
            {"type": "strong"}, {"type": "em"}, {"type": "strike"}, {"type": "underline"}, {"type": "code"},
            {"type": "link", "attrs": {"href": "https://e.x/a"}}, {"type": "link", "attrs": {"href": "javascript:x"}},
            {"type": "subsup", "attrs": {"type": "sub"}}, {"type": "textColor", "attrs": {"color": "#ff0000"}},
        ]
    ),
    max_size=3,
    unique_by=lambda m: m["type"],
)


def _text(value: str, marks: list[dict[str, Any]]) -> dict[str, Any]:
    return {"type": "text", "text": value, "marks": marks} if marks else {"type": "text", "text": value}


KNOWN_INLINE = st.one_of(
    st.builds(_text, TEXT, MARKS),
    st.builds(_text, TEXT, MARKS),
    st.just({"type": "hardBreak"}),
    st.builds(lambda name: {"type": "mention", "attrs": {"id": "557058:x", "text": "@" + name}}, st.sampled_from(["Ann", "B [o] b", "*x*"])),
    st.just({"type": "emoji", "attrs": {"shortName": ":smile:", "text": "😄"}}),
    st.just({"type": "status", "attrs": {"text": "DONE", "color": "green"}}),
    st.just({"type": "date", "attrs": {"timestamp": "1700000000000"}}),
)
# Cards pasted from other products carry only JSON-LD data (issue 14); names hold any text.
DATA_CARDS = st.one_of(
    st.builds(lambda name: {"type": "inlineCard", "attrs": {"data": {"@type": "Document", "name": name, "url": "https://e.x/d"}}}, TEXT),
    st.builds(lambda name: {"type": "inlineCard", "attrs": {"data": {"@type": "Document", "name": name}}}, TEXT),
    st.just({"type": "inlineCard", "attrs": {"data": {"@type": "Document", "name": "[In progress]!"}}}),
)
ODD_INLINE = st.one_of(
    st.just({"type": "inlineCard", "attrs": {"url": "https://e.x/card"}}),
    DATA_CARDS,
    st.just({"type": "mediaInline", "attrs": {"id": "m", "collection": "c", "alt": "f.png"}}),
    st.just({"type": "inventedInline"}),
    st.builds(lambda t: {"type": "inventedWrapper", "content": [t]}, st.builds(_text, TEXT, MARKS)),
)


def _paragraph(content: list[Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": content}


# Real tables merge cells: rowspan/colspan move the following cells (issue 14).
SPANS = st.one_of(st.just({}), st.fixed_dictionaries({}, optional={"rowspan": st.integers(1, 3), "colspan": st.integers(1, 3)}))


def _table_cell(content: list[Any], spans: dict[str, int]) -> dict[str, Any]:
    return {"type": "tableCell", "attrs": spans, "content": content} if spans else {"type": "tableCell", "content": content}


def _blocks(inline: st.SearchStrategy[Any], extra_leaves: list[st.SearchStrategy[Any]], extra_containers: bool) -> st.SearchStrategy[Any]:
    leaf = st.one_of(
        st.builds(_paragraph, st.lists(inline, max_size=5)),
        st.builds(lambda level, c: {"type": "heading", "attrs": {"level": level}, "content": c}, st.integers(1, 6), st.lists(inline, max_size=3)),
        st.builds(lambda t, lang: {"type": "codeBlock", "attrs": {"language": lang}, "content": [{"type": "text", "text": t}]}, TEXT, st.sampled_from(["python", "", "a b"])),
        st.just({"type": "rule"}),
        *extra_leaves,
    )

    def containers(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
        items = st.lists(st.builds(lambda c: {"type": "listItem", "content": c}, st.lists(children, min_size=1, max_size=3)), min_size=1, max_size=3)
        cells = st.lists(st.builds(_table_cell, st.lists(children, min_size=1, max_size=2), SPANS), min_size=1, max_size=3)
        options = [
            st.builds(lambda i: {"type": "bulletList", "content": i}, items),
            st.builds(lambda i: {"type": "orderedList", "attrs": {"order": 2}, "content": i}, items),
            st.builds(lambda c: {"type": "blockquote", "content": c}, st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda p, c: {"type": "panel", "attrs": {"panelType": p}, "content": c},
                      st.sampled_from(["info", "note", "warning", "error", "success"]), st.lists(children, min_size=1, max_size=3)),
            st.builds(lambda rows: {"type": "table", "content": [{"type": "tableRow", "content": r} for r in rows]}, st.lists(cells, min_size=1, max_size=3)),
        ]
        if extra_containers:
            options += [
                st.builds(lambda c: {"type": "expand", "attrs": {"title": "More"}, "content": c}, st.lists(children, min_size=1, max_size=2)),
                st.builds(lambda c: {"type": "layoutSection", "content": [{"type": "layoutColumn", "attrs": {"width": 50}, "content": c}]}, st.lists(children, min_size=1, max_size=2)),
                st.builds(lambda c: {"type": "inventedContainer", "content": c}, st.lists(children, min_size=1, max_size=2)),
            ]
        return st.one_of(*options)

    return st.recursive(leaf, containers, max_leaves=8)


def _doc(blocks: list[Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": blocks}


ANY_ADF = st.lists(
    _blocks(
        st.one_of(KNOWN_INLINE, ODD_INLINE),
        [
            st.just({"type": "mediaSingle", "content": [{"type": "media", "attrs": {"type": "file", "id": "f", "collection": "c", "alt": "x.png"}}]}),
            st.just({"type": "inventedBlock"}),
            st.just({"type": "extension", "attrs": {"extensionKey": "toc", "extensionType": "t"}}),
        ],
        extra_containers=True,
    ),
    max_size=4,
).map(_doc)
KNOWN_ADF = st.lists(_blocks(KNOWN_INLINE, [], extra_containers=False), max_size=4).map(_doc)
JUNK = st.recursive(
    st.one_of(st.none(), st.integers(), st.text(max_size=5), st.sampled_from(["text", "paragraph", "doc", "content", "type", "marks", "attrs"])),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.sampled_from(["type", "content", "text", "marks", "attrs", "level"]), inner, max_size=4)),
    max_leaves=20,
)


def _card(data: dict[str, Any]) -> dict[str, Any]:
    return {"type": "inlineCard", "attrs": {"data": {"@type": "Document", **data}}}


@SCHEMA_SETTINGS
@example(_doc([_paragraph([_text("see ", []), _card({"name": "http://x.y"})])]))  # Markdown links the bare URL
@given(ANY_ADF)
def test_adf_markdown_adf_is_stable_and_valid(doc: dict[str, Any]) -> None:
    once = adf_to_markdown(doc)
    back = markdown_to_adf(once)
    require_schema()
    assert not adf_errors(back)
    assert adf_to_markdown(back) == once


_SPACE = re.compile(r"\s+")

# "!" right before a link reads back as an image and the "!" is gone. The generators
# build this (a bare text ending in "!", then a text whose outermost mark is an https
# link) about once in a few thousand examples, so it is pinned here.
_LINK = {"type": "link", "attrs": {"href": "https://e.x/a"}}
BANG_BEFORE_LINK = [_text("Blocked!", []), _text("PLAT-4", [_LINK, {"type": "strong"}])]


@SETTINGS
@example(_doc([_paragraph(BANG_BEFORE_LINK)]))
@given(KNOWN_ADF)
def test_adf_to_markdown_loses_no_text(doc: dict[str, Any]) -> None:
    # Structure may be degraded to fit (a heading in a list becomes bold text), but every
    # character a reader could see survives Markdown and back, in order. Degrading only
    # adds characters (" | " between cells, list markers), so no character may be rarer
    # afterwards either: "in order" alone misses a lost "!" when another "!" follows.
    before = _SPACE.sub("", plain_text(doc))
    after = _SPACE.sub("", plain_text(markdown_to_adf(adf_to_markdown(doc))))
    assert _in_order(before, after)
    assert not Counter(before) - Counter(after)


def _in_order(needle: str, haystack: str) -> bool:
    """Every character of ``needle`` appears in ``haystack``, in order (a table degraded
    to text gains " | " between its cells, a quote's heading nothing else)."""
    found = iter(haystack)
    return all(ch in found for ch in needle)


@SETTINGS
@given(st.one_of(JUNK, st.dictionaries(st.just("type"), st.just("doc")).map(lambda d: {**d, "content": []})))
def test_adf_to_markdown_never_raises_on_junk(junk: Any) -> None:
    if isinstance(junk, dict | str) or junk is None:
        assert isinstance(adf_to_markdown(junk), str)


CELL_INLINE = st.one_of(KNOWN_INLINE, DATA_CARDS)
CELL_BLOCKS = st.lists(
    st.one_of(
        st.builds(_paragraph, st.lists(CELL_INLINE, min_size=1, max_size=3)),
        st.builds(lambda items: {"type": "bulletList", "content": [{"type": "listItem", "content": [_paragraph(i)]} for i in items]},
                  st.lists(st.lists(CELL_INLINE, min_size=1, max_size=2), min_size=1, max_size=3)),
        st.builds(lambda items: {"type": "orderedList", "attrs": {"order": 1}, "content": [{"type": "listItem", "content": [_paragraph(i)]} for i in items]},
                  st.lists(st.lists(CELL_INLINE, min_size=1, max_size=2), min_size=1, max_size=3)),
    ),
    min_size=1,
    max_size=3,
)
SPANNED_TABLE = st.lists(st.lists(st.builds(_table_cell, CELL_BLOCKS, SPANS), min_size=1, max_size=3), min_size=1, max_size=4).map(
    lambda rows: _doc([{"type": "table", "content": [{"type": "tableRow", "content": r} for r in rows]}])
)


@SCHEMA_SETTINGS
@example(_doc([{"type": "table", "content": [
    {"type": "tableRow", "content": [_table_cell([_paragraph([_text("Auth", [])])], {"rowspan": 2}), _table_cell([_paragraph(BANG_BEFORE_LINK)], {})]},
    {"type": "tableRow", "content": [_table_cell([{"type": "bulletList", "content": [{"type": "listItem", "content": [_paragraph(BANG_BEFORE_LINK)]}]}], {})]},
]}]))
@example(_doc([{"type": "table", "content": [{"type": "tableRow", "content": [
    _table_cell([_paragraph([_card({"name": "Design\ndoc"})])], {"colspan": 2}), _table_cell([_paragraph([_card({"name": "a\nb", "url": "https://e.x/d"})])], {}),
]}]}]))  # a newline in a card's name would end the row
@given(SPANNED_TABLE)
def test_tables_with_spans_and_lists_in_cells_stay_one_table(doc: dict[str, Any]) -> None:
    # Lists and paragraphs in cells become <br>-separated lines, spans keep the columns: the
    # Markdown is one table, every row as wide as the widest, and it reads back stable and valid.
    once = adf_to_markdown(doc)
    back = markdown_to_adf(once)
    require_schema()
    assert not adf_errors(back)
    assert [kind["type"] for kind in back["content"]] == ["table"]
    widths = {len(row["content"]) for row in back["content"][0]["content"]}
    assert len(widths) == 1
    assert adf_to_markdown(back) == once
    assert _in_order(_SPACE.sub("", plain_text(doc)), _SPACE.sub("", plain_text(back)))
