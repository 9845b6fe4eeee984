"""ADF -> Markdown: the constructs Jira Cloud sends, unknown nodes, malformed input."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jiraplug.jira.markup import adf_to_markdown, markdown_to_adf
from tests.markup.adf_schema import assert_valid_adf


def doc(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "doc", "version": 1, "content": list(content)}


def para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def text(value: str, *marks: str | dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = [{"type": m} if isinstance(m, str) else m for m in marks]
    return node


def test_none_empty_and_plain_strings() -> None:
    assert adf_to_markdown(None) == ""
    assert adf_to_markdown(doc()) == ""
    # Jira sends plain text (REST v2, or fields that are not rich text): returned as is.
    assert adf_to_markdown("just *text*") == "just *text*"


def test_json_string_holding_adf_is_decoded() -> None:
    assert adf_to_markdown(json.dumps(doc(para(text("hi", "strong"))))) == "**hi**"


def test_marks_render_as_markdown() -> None:
    rendered = adf_to_markdown(
        doc(
            para(
                text("b", "strong"), text(" "), text("i", "em"), text(" "), text("s", "strike"), text(" "),
                text("u", "underline"), text(" "), text("c", "code"), text(" "),
                text("2", {"type": "subsup", "attrs": {"type": "sub"}}), text(" "),
                text("n", {"type": "subsup", "attrs": {"type": "sup"}}), text(" "),
                text("red", {"type": "textColor", "attrs": {"color": "#ff0000"}}),
            )
        )
    )
    assert rendered == "**b** *i* ~~s~~ <u>u</u> `c` <sub>2</sub> <sup>n</sup> red"


def test_whitespace_inside_a_mark_moves_outside_the_delimiters() -> None:
    # Jira often stores "Severity: " in bold; "**Severity: **" would not be bold in Markdown.
    assert adf_to_markdown(doc(para(text("Severity: ", "strong"), text("high")))) == "**Severity:** high"


def test_emphasis_inside_a_word_falls_back_to_tags() -> None:
    rendered = adf_to_markdown(doc(para(text("un"), text("(believ)", "strong"), text("able"))))
    assert rendered == "un<strong>(believ)</strong>able"
    assert markdown_to_adf(rendered)["content"][0]["content"][1] == text("(believ)", "strong")


def test_overlapping_marks_nest_without_reopening() -> None:
    rendered = adf_to_markdown(doc(para(text("a", "strong"), text("b", "strong", "em"), text("c", "strong"))))
    assert rendered == "**a*b*c**"


def test_text_that_looks_like_markup_is_escaped() -> None:
    source = doc(
        para(text("# not a heading")),
        para(text("1. not a list, 2 * 3 = 6, snake_case, [x](y), `tick`, <b>, &amp;")),
        para(text("- dash"), {"type": "hardBreak"}, text("> quote"), {"type": "hardBreak"}, text("---")),
    )
    rendered = adf_to_markdown(source)
    assert rendered.splitlines()[0] == "\\# not a heading"
    assert "2 * 3 = 6, snake_case, \\[x](y), \\`tick\\`, \\<b>, \\&amp;" in rendered
    assert markdown_to_adf(rendered) == source


def test_links_mentions_and_unsafe_hrefs() -> None:
    link = {"type": "link", "attrs": {"href": "https://example.com/a b"}}
    rendered = adf_to_markdown(
        doc(
            para(
                text("docs", link), text(" "),
                text("https://e.x/y", {"type": "link", "attrs": {"href": "https://e.x/y"}}), text(" "),
                {"type": "mention", "attrs": {"id": "557058:abc", "text": "@Jane Doe", "accessLevel": ""}}, text(" "),
                text("evil", {"type": "link", "attrs": {"href": "javascript:alert(1)"}}),
            )
        )
    )
    assert rendered == "[docs](<https://example.com/a b>) <https://e.x/y> @[Jane Doe](accountid:557058:abc) evil"


def test_email_links_use_the_short_form_when_it_reads_back_the_same() -> None:
    mail = {"type": "link", "attrs": {"href": "mailto:ops@example.com"}}
    rendered = adf_to_markdown(doc(para(text("ops@example.com", mail), text(" or "), text("write", mail))))
    assert rendered == "<ops@example.com> or [write](mailto:ops@example.com)"
    assert adf_to_markdown(markdown_to_adf(rendered)) == rendered


def test_headings_code_blocks_rules_and_breaks() -> None:
    rendered = adf_to_markdown(
        doc(
            {"type": "heading", "attrs": {"level": 3}, "content": [text("Title #")]},
            {"type": "codeBlock", "attrs": {"language": "python"}, "content": [text("print('```')")]},
            {"type": "rule"},
            para(text("a"), {"type": "hardBreak"}, {"type": "hardBreak"}, text("b")),
        )
    )
    assert rendered == "### Title \\#\n\n````python\nprint('```')\n````\n\n---\n\na\n\\\nb"


def test_lists_nested_and_adjacent() -> None:
    item = lambda *blocks: {"type": "listItem", "content": list(blocks)}  # noqa: E731
    rendered = adf_to_markdown(
        doc(
            {"type": "bulletList", "content": [item(para(text("a")), {"type": "orderedList", "attrs": {"order": 3}, "content": [item(para(text("c")))]})]},
            {"type": "bulletList", "content": [item(para(text("second list")))]},
        )
    )
    # "3." cannot interrupt a paragraph (only "1." can), hence the blank line; a second
    # list right after the first needs another marker, or Markdown joins them.
    assert rendered == "- a\n\n  3. c\n\n* second list"
    assert adf_to_markdown(markdown_to_adf(rendered)) == rendered


def test_quote_panels_and_tables() -> None:
    cell = lambda kind, *blocks: {"type": kind, "content": list(blocks)}  # noqa: E731
    rendered = adf_to_markdown(
        doc(
            {"type": "blockquote", "content": [para(text("q"))]},
            {"type": "panel", "attrs": {"panelType": "warning"}, "content": [para(text("w"))]},
            {
                "type": "table",
                "content": [
                    {"type": "tableRow", "content": [cell("tableHeader", para(text("H"))), cell("tableHeader", para(text("I")))]},
                    {"type": "tableRow", "content": [cell("tableCell", para(text("a|b")), para(text("2nd"))), cell("tableCell", para())]},
                ],
            },
        )
    )
    assert rendered == "> q\n\n> [!WARNING]\n> w\n\n| H | I |\n| --- | --- |\n| a\\|b<br>2nd |  |"


@pytest.mark.parametrize(
    ("node", "expected"),
    [
        ({"type": "mediaSingle", "attrs": {"layout": "center"}, "content": [{"type": "media", "attrs": {"type": "file", "id": "9f1c", "collection": "", "alt": "screenshot.png"}}]}, "[media: screenshot.png]"),
        ({"type": "mediaGroup", "content": [{"type": "media", "attrs": {"type": "file", "id": "9f1c", "collection": "c"}}]}, "[media: 9f1c]"),
        ({"type": "expand", "attrs": {"title": "Details"}, "content": [para(text("hidden"))]}, "**Details**\n\nhidden"),
        ({"type": "nestedExpand", "attrs": {"title": ""}, "content": [para(text("inner"))]}, "inner"),
        ({"type": "taskList", "attrs": {"localId": "t"}, "content": [
            {"type": "taskItem", "attrs": {"localId": "1", "state": "DONE"}, "content": [text("shipped")]},
            {"type": "taskItem", "attrs": {"localId": "2", "state": "TODO"}, "content": [text("docs")]}]}, "- [x] shipped\n- [ ] docs"),
        ({"type": "decisionList", "attrs": {"localId": "d"}, "content": [
            {"type": "decisionItem", "attrs": {"localId": "1", "state": "DECIDED"}, "content": [text("use ADF")]}]}, "- Decision: use ADF"),
        ({"type": "extension", "attrs": {"extensionKey": "toc", "extensionType": "com.atlassian.confluence.macro.core"}}, "[extension: toc]"),
        ({"type": "bodiedExtension", "attrs": {"extensionKey": "x", "extensionType": "y"}, "content": [para(text("body"))]}, "body"),
        ({"type": "layoutSection", "content": [
            {"type": "layoutColumn", "attrs": {"width": 50}, "content": [para(text("left"))]},
            {"type": "layoutColumn", "attrs": {"width": 50}, "content": [para(text("right"))]}]}, "left\n\nright"),
        ({"type": "blockCard", "attrs": {"url": "https://example.com/card"}}, "<https://example.com/card>"),
        ({"type": "embedCard", "attrs": {"url": "https://example.com/embed", "layout": "center"}}, "<https://example.com/embed>"),
        ({"type": "someFutureBlock", "attrs": {"x": 1}}, "[someFutureBlock]"),
        ({"type": "someFutureWrapper", "content": [para(text("kept"))]}, "kept"),
        ({"type": "someFutureWrapper", "content": [text("inline kept")]}, "inline kept"),
    ],
)
def test_unknown_and_unrendered_nodes_degrade_but_never_vanish(node: dict[str, Any], expected: str) -> None:
    assert adf_to_markdown(doc(node)) == expected


def test_inline_atoms_become_readable_text() -> None:
    rendered = adf_to_markdown(
        doc(
            para(
                {"type": "emoji", "attrs": {"shortName": ":smile:", "id": "1f604", "text": "😄"}}, text(" "),
                {"type": "emoji", "attrs": {"shortName": ":custom:"}}, text(" "),
                {"type": "status", "attrs": {"text": "IN PROGRESS", "color": "blue"}}, text(" "),
                {"type": "date", "attrs": {"timestamp": "1700000000000"}}, text(" "),
                {"type": "inlineCard", "attrs": {"url": "https://jira.example.com/browse/A-1"}}, text(" "),
                {"type": "mediaInline", "attrs": {"id": "m1", "collection": "c", "alt": "log.txt"}}, text(" "),
                {"type": "placeholder", "attrs": {"text": "Type here"}}, text(" "),
                {"type": "inventedInline"},
            )
        )
    )
    assert rendered == (
        "😄 :custom: [IN PROGRESS] 2023-11-14 <https://jira.example.com/browse/A-1> "
        "[media: log.txt] Type here [inventedInline]"
    )


@pytest.mark.parametrize(
    "garbage",
    [
        {"type": "doc", "content": "not a list"},
        {"type": "doc", "content": [None, 3, "bare string", {"no": "type"}, {"type": "paragraph", "content": [None, {"type": "text"}]}]},
        {"type": "doc", "content": [{"type": "text", "text": "text at block level", "marks": "bad"}]},
        {"type": "doc", "content": [{"type": "heading", "attrs": {"level": 99}, "content": [{"type": "text", "text": "h"}]}]},
        {"type": "doc", "content": [{"type": "orderedList", "attrs": {"order": -4}, "content": [{"type": "listItem"}]}]},
        {"type": "doc", "content": [{"type": "table", "content": [{"type": "tableRow", "content": []}]}]},
        {"type": "paragraph", "content": [{"type": "text", "text": "a bare node"}]},
    ],
)
def test_malformed_documents_do_not_raise(garbage: dict[str, Any]) -> None:
    rendered = adf_to_markdown(garbage)
    assert isinstance(rendered, str)
    assert_valid_adf(markdown_to_adf(rendered))


def test_stray_text_at_block_level_is_kept() -> None:
    assert adf_to_markdown(doc({"type": "text", "text": "loose"})) == "loose"
    assert "bare string" in adf_to_markdown({"type": "doc", "content": ["bare string"]})


# ---------------------------------------------------------------------------- real tables and cards (issue 14)


def _cell(*content: Any, **spans: int) -> dict[str, Any]:
    return {"type": "tableCell", "attrs": spans, "content": list(content)} if spans else {"type": "tableCell", "content": list(content)}


def _row(*cells: dict[str, Any]) -> dict[str, Any]:
    return {"type": "tableRow", "content": list(cells)}


def _bullets(*items: str) -> dict[str, Any]:
    return {"type": "bulletList", "content": [{"type": "listItem", "content": [para(text(t))]} for t in items]}


def test_list_and_paragraphs_in_a_cell_keep_their_lines() -> None:
    table = {"type": "table", "content": [
        _row(_cell(para(text("Area"))), _cell(para(text("Checks")))),
        _row(_cell(para(text("Auth"))), _cell(_bullets("Login works", "Logout works"), para(text("then")), para(text("more")))),
    ]}
    assert adf_to_markdown(doc(table)).split("\n")[2] == "| Auth | • Login works<br>• Logout works<br>then<br>more |"


def test_rowspan_and_colspan_keep_cells_in_their_columns() -> None:
    table = {"type": "table", "content": [
        _row(_cell(para(text("Area"))), _cell(para(text("Check"))), _cell(para(text("Owner")))),
        _row(_cell(para(text("Auth")), rowspan=2), _cell(para(text("login"))), _cell(para(text("Ann")))),
        _row(_cell(para(text("logout"))), _cell(para(text("Bob")))),
        _row(_cell(para(text("Billing")), colspan=2), _cell(para(text("Cy")))),
    ]}
    assert adf_to_markdown(doc(table)).split("\n")[2:] == [
        "| Auth | login | Ann |", "| Auth | logout | Bob |", "| Billing |  | Cy |",
    ]


@pytest.mark.parametrize(
    ("card", "expected"),
    [
        ({"data": {"@type": "Document", "name": "Design doc", "url": "https://e.x/d"}}, "[Design doc](https://e.x/d)"),
        ({"data": {"@type": "Document", "url": "https://e.x/d"}}, "<https://e.x/d>"),
        ({"data": {"@type": "Document", "name": "Design doc"}}, "Design doc"),
        # The name is a one-line title: a newline would end a table row or split the link.
        ({"data": {"@type": "Document", "name": "Design\n doc", "url": "https://e.x/d"}}, "[Design doc](https://e.x/d)"),
        ({"data": {"@type": "Document", "name": "Design\ndoc"}}, "Design doc"),
        # A name that is a URL is a link when read back: written as one from the start.
        ({"data": {"@type": "Document", "name": "http://x.y"}}, "<http://x.y>"),
    ],
)
def test_inline_card_with_only_data_shows_its_url_or_name(card: dict[str, Any], expected: str) -> None:
    assert adf_to_markdown(doc(para({"type": "inlineCard", "attrs": card}))) == expected


@pytest.mark.parametrize(
    ("plain", "expected"),
    [
        ("Thanks!", "Thanks!"),
        ("[In progress] on it", "[In progress] on it"),
        ("[x](y)", "\\[x](y)"),
        ("[x][y] and ![i](j)", "\\[x][y] and \\!\\[i](j)"),
        ("[a]: http://x", "\\[a]: http://x"),
        ("[!INFO]", "\\[!INFO]"),
        ("[a [b] c](d)", "\\[a [b] c](d)"),
    ],
)
def test_brackets_and_bangs_are_escaped_only_where_markdown_would_misread(plain: str, expected: str) -> None:
    rendered = adf_to_markdown(doc(para(text(plain))))
    assert rendered == expected
    assert markdown_to_adf(rendered)["content"][0]["content"] == [text(plain)]


LINK = {"type": "link", "attrs": {"href": "https://e.x/a"}}


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        # A following link opens with "[": unescaped, "![...](...)" would be an image.
        ([text("Blocked!"), text("PLAT-4", LINK)], "Blocked\\![PLAT-4](https://e.x/a)"),
        ([text("Blocked!"), text("PLAT-4", LINK, "underline")], "Blocked\\![<u>PLAT-4</u>](https://e.x/a)"),
        # Before a span's own closing delimiter nothing can open: no escape.
        ([text("Thanks!", "strong")], "**Thanks!**"),
        ([text("Thanks!", LINK)], "[Thanks!](https://e.x/a)"),
        ([text("Thanks!", "underline"), text(" ok")], "<u>Thanks!</u> ok"),
    ],
)
def test_bang_is_escaped_only_before_what_may_open_a_link(content: list[dict[str, Any]], expected: str) -> None:
    rendered = adf_to_markdown(doc(para(*content)))
    assert rendered == expected
    assert markdown_to_adf(rendered)["content"][0]["content"] == content
