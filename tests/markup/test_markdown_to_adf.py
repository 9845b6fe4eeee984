"""Markdown -> ADF: every construct, schema validity, and what must never pass through."""

from __future__ import annotations

import json
from typing import Any

import pytest

from jiraplug.jira.markup import adf_to_markdown, markdown_to_adf
from tests.markup.adf_schema import assert_valid_adf


def adf(markdown: str) -> list[dict[str, Any]]:
    """The document's content, after checking the whole document against the schema."""
    doc = markdown_to_adf(markdown)
    assert doc["type"] == "doc" and doc["version"] == 1
    assert_valid_adf(doc)
    return doc["content"]


def text(value: str, *marks: dict[str, Any]) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": value}
    if marks:
        node["marks"] = list(marks)
    return node


def para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


STRONG, EM, STRIKE, CODE, UNDERLINE = ({"type": t} for t in ("strong", "em", "strike", "code", "underline"))


def link(href: str) -> dict[str, Any]:
    return {"type": "link", "attrs": {"href": href}}


def test_empty_input_gives_an_empty_valid_document() -> None:
    assert adf("") == []
    assert adf("   \n\n") == []


def test_paragraphs_and_headings_of_every_level() -> None:
    content = adf("# One\n\n## Two\n\n###### Six\n\nBody text.\n\nSecond paragraph.")
    assert [n["attrs"]["level"] for n in content if n["type"] == "heading"] == [1, 2, 6]
    assert content[0]["content"] == [text("One")]
    assert content[3:] == [para(text("Body text.")), para(text("Second paragraph."))]


def test_emphasis_strong_strike_underline_code_and_nesting() -> None:
    [p] = adf("*em* **strong** ~~gone~~ <u>under</u> `x = 1` ***both***")
    nodes = p["content"]
    assert text("em", EM) in nodes
    assert text("strong", STRONG) in nodes
    assert text("gone", STRIKE) in nodes
    assert text("under", UNDERLINE) in nodes
    assert text("x = 1", CODE) in nodes
    both = next(n for n in nodes if n.get("text") == "both")
    assert {m["type"] for m in both["marks"]} == {"strong", "em"}


def test_inline_code_keeps_only_the_link_mark_the_schema_allows() -> None:
    [p] = adf("**bold `code` bold** [see `api`](https://example.com/api)")
    code = [n for n in p["content"] if any(m["type"] == "code" for m in n.get("marks", []))]
    assert code[0] == text("code", CODE)
    assert code[1] == text("api", link("https://example.com/api"), CODE)  # marks in canonical order


def test_links_autolinks_and_bare_urls() -> None:
    [p] = adf('[docs](https://example.com/docs "The docs") <https://example.com/a> and https://example.com/b.')
    nodes = p["content"]
    assert nodes[0] == text("docs", {"type": "link", "attrs": {"href": "https://example.com/docs", "title": "The docs"}})
    assert text("https://example.com/a", link("https://example.com/a")) in nodes
    assert text("https://example.com/b", link("https://example.com/b")) in nodes
    assert nodes[-1] == text(".")  # sentence punctuation is not part of the URL


def test_bare_url_inside_code_is_not_linked() -> None:
    [p] = adf("`https://example.com`")
    assert p["content"] == [text("https://example.com", CODE)]


@pytest.mark.parametrize(
    "markdown",
    [
        "[click](javascript:alert(1))",
        "[click](JaVaScRiPt:alert(1))",
        "[click](java\tscript:alert(1))",
        "[click](&#106;avascript:alert(1))",
        "[click](vbscript:msgbox)",
        "[click](data:text/html;base64,PHNjcmlwdD4=)",
        "![click](javascript:alert(1))",
    ],
)
def test_dangerous_link_schemes_are_dropped_to_text(markdown: str) -> None:
    content = adf(markdown)
    dumped = json.dumps(content).lower()
    assert "link" not in dumped
    assert "click" in dumped


def test_html_is_never_passed_through() -> None:
    content = adf("<script>alert(1)</script>\n\nHi <img src=x onerror=alert(1)> there\n\n<div>\n*not markdown*\n</div>")
    assert content[0] == para(text("<script>alert(1)</script>"))
    assert content[1] == para(text("Hi <img src=x onerror=alert(1)> there"))
    # An HTML block is literal text, its lines kept, its Markdown not interpreted.
    assert content[2] == para(text("<div>"), {"type": "hardBreak"}, text("*not markdown*"), {"type": "hardBreak"}, text("</div>"))


def test_unbalanced_formatting_tags_stay_text() -> None:
    [p] = adf("a <u>b and </b> c")
    assert p["content"] == [text("a <u>b and </b> c")]


def test_code_blocks_with_and_without_language() -> None:
    content = adf("```python\nprint('hi')\n\n```\n\n    indented code\n\n```\n```")
    assert content[0] == {"type": "codeBlock", "content": [text("print('hi')\n")], "attrs": {"language": "python"}}
    assert content[1] == {"type": "codeBlock", "content": [text("indented code")]}
    assert content[2] == {"type": "codeBlock", "content": []}


def test_bullet_ordered_and_nested_lists() -> None:
    [bullets, ordered] = adf("- a\n- b\n  1. c\n  2. d\n\n3. three\n4. four")
    assert bullets["type"] == "bulletList"
    assert bullets["content"][1]["content"][1] == {
        "type": "orderedList",
        "attrs": {"order": 1},
        "content": [
            {"type": "listItem", "content": [para(text("c"))]},
            {"type": "listItem", "content": [para(text("d"))]},
        ],
    }
    assert ordered["attrs"] == {"order": 3}
    assert len(ordered["content"]) == 2


def test_list_item_that_opens_with_a_list_gets_the_paragraph_adf_requires() -> None:
    [outer] = adf("- - inner")
    item = outer["content"][0]
    assert item["content"][0] == {"type": "paragraph", "content": []}
    assert item["content"][1]["type"] == "bulletList"


def test_block_quote_and_what_adf_does_not_allow_inside_it() -> None:
    [quote] = adf("> quoted **text**\n>\n> # heading in quote\n>\n> > nested quote")
    assert quote["type"] == "blockquote"
    assert quote["content"][0] == para(text("quoted "), text("text", STRONG))
    assert quote["content"][1] == para(text("heading in quote", STRONG))  # headings are not allowed: bold text
    assert quote["content"][2] == para(text("nested quote"))  # no quote in a quote: its content kept


@pytest.mark.parametrize(
    ("marker", "panel"),
    [("INFO", "info"), ("NOTE", "note"), ("WARNING", "warning"), ("ERROR", "error"), ("SUCCESS", "success"),
     ("TIP", "success"), ("IMPORTANT", "note"), ("CAUTION", "error"), ("info", "info")],
)
def test_github_alerts_become_panels(marker: str, panel: str) -> None:
    [node] = adf(f"> [!{marker}]\n> Mind the **gap**.\n>\n> - item")
    assert node["type"] == "panel"
    assert node["attrs"] == {"panelType": panel}
    assert node["content"][0] == para(text("Mind the "), text("gap", STRONG), text("."))
    assert node["content"][1]["type"] == "bulletList"


def test_unknown_alert_marker_is_an_ordinary_quote() -> None:
    [node] = adf("> [!BANANA]\n> text")
    assert node["type"] == "blockquote"
    assert node["content"][0]["content"][0]["text"] == "[!BANANA]"


def test_empty_alert_still_has_the_content_adf_requires() -> None:
    [node] = adf("> [!NOTE]")
    assert node == {"type": "panel", "attrs": {"panelType": "note"}, "content": [{"type": "paragraph", "content": []}]}


def test_tables_with_header_row() -> None:
    [table] = adf("| Key | Value |\n|---|:-:|\n| a \\| b | `x` |\n| only one |")
    assert table["type"] == "table"
    header, row1, row2 = table["content"]
    assert [c["type"] for c in header["content"]] == ["tableHeader", "tableHeader"]
    assert header["content"][0]["content"] == [para(text("Key"))]
    assert row1["content"][0]["content"] == [para(text("a | b"))]
    assert row1["content"][1]["content"] == [para(text("x", CODE))]
    assert row2["content"][1] == {"type": "tableCell", "content": [{"type": "paragraph", "content": []}]}


def test_table_inside_a_list_degrades_to_rows_of_text() -> None:
    [lst] = adf("- item\n\n  | a | b |\n  |---|---|\n  | 1 | 2 |")
    item = lst["content"][0]["content"]
    assert item[1:] == [para(text("a | b")), para(text("1 | 2"))]


def test_mentions() -> None:
    [p] = adf("Hi @[Jane Doe](accountid:557058:f58131cb) and [Bob](accountid:5b10ac8d)!")
    assert p["content"] == [
        text("Hi "),
        {"type": "mention", "attrs": {"id": "557058:f58131cb", "text": "@Jane Doe"}},
        text(" and "),
        {"type": "mention", "attrs": {"id": "5b10ac8d", "text": "@Bob"}},
        text("!"),
    ]


def test_user_name_mentions_are_text_on_cloud() -> None:
    [p] = adf("ping @[jdoe](user:jdoe)")
    assert p["content"] == [text("ping @jdoe")]  # an ADF mention needs an account id


def test_rule_hard_breaks_and_soft_breaks() -> None:
    content = adf("line one\nline two  \nline three\\\nfour<br>five\n\n---")
    br = {"type": "hardBreak"}
    assert content[0] == para(text("line one"), br, text("line two"), br, text("line three"), br, text("four"), br, text("five"))
    assert content[1] == {"type": "rule"}


def test_images_become_links_to_their_source() -> None:
    [p] = adf("![diagram](https://example.com/d.png) ![](https://example.com/e.png)")
    assert p["content"][0] == text("diagram", link("https://example.com/d.png"))
    assert p["content"][2] == text("https://example.com/e.png", link("https://example.com/e.png"))


def test_entities_and_escapes_are_text() -> None:
    [p] = adf(r"\*not em\* &amp; &copy; \[x\]")
    assert p["content"] == [text("*not em* & © [x]")]


def test_non_string_input_is_rejected_clearly() -> None:
    with pytest.raises(TypeError, match="markdown must be a str, got int"):
        markdown_to_adf(42)  # type: ignore[arg-type]


def test_every_construct_together_validates_and_reads_back() -> None:
    source = (
        "# Release *notes*\n\nIntro with @[Ann](accountid:a1), <sub>2</sub> and <sup>n</sup>.\n\n"
        "> [!WARNING]\n> ## Careful\n> ```sh\n> rm -rf build\n> ```\n\n"
        "1. one\n   - nested **bold**\n2. two\n\n| h1 | h2 |\n|----|----|\n| ~~x~~ | [l](https://e.x) |\n\n---\n"
    )
    doc = markdown_to_adf(source)
    assert_valid_adf(doc)
    again = markdown_to_adf(adf_to_markdown(doc))
    assert again == doc
