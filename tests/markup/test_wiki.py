"""Markdown <-> Jira wiki markup, both directions."""

from __future__ import annotations

import pytest

from jiraplug.jira.markup import markdown_to_wiki, wiki_to_markdown


@pytest.mark.parametrize(
    ("wiki", "markdown"),
    [
        ("h1. Title", "# Title"),
        ("h6. Small", "###### Small"),
        ("*bold* _em_ -gone- +under+ ^sup^ ~sub~ {{mono}}", "**bold** *em* ~~gone~~ <u>under</u> <sup>sup</sup> <sub>sub</sub> `mono`"),
        ("??citation??", "*citation*"),
        ("{*}in{*}side", "**in**side"),
        ("a well-known 2-3 x-y a - b", "a well-known 2-3 x-y a - b"),
        ("snake_case_name and 2*3*4", "snake_case_name and 2\\*3\\*4"),
        ("[the docs|https://example.com/docs]", "[the docs](https://example.com/docs)"),
        ("[https://example.com] and http://bare.example.com/x.", "<https://example.com> and <http://bare.example.com/x>."),
        ("[*bold label*|https://e.x]", "[**bold label**](https://e.x)"),
        ("[~jdoe] [~accountid:5b10ac8d]", "@[jdoe](user:jdoe) @[5b10ac8d](accountid:5b10ac8d)"),
        ("[^log.txt] !screen.png|thumbnail! !https://e.x/i.png!", "[media: log.txt] [media: screen.png] <https://e.x/i.png>"),
        ("line one\nline two\\\\three", "line one\nline two\nthree"),
        ("\\*not bold\\* \\[x\\] \\{y\\}", "\\*not bold\\* [x] {y}"),
        ("{color:red}red{color} {anchor:top}text", "red text"),
        ("[bad|javascript:alert(1)]", "bad"),
        ("{unknownmacro} stays", "{unknownmacro} stays"),
        ("&#42; &#x41;", "\\* A"),
        ("* a\n* b\n** b1\n*# b2\n# one\n# two", "- a\n- b\n  - b1\n\n  1. b2\n\n1. one\n2. two"),
        ("- dash item", "- dash item"),
        ("||H1||H2||\n|a|[l|http://x.y]|\n|b|{{c|d}}|", "| H1 | H2 |\n| --- | --- |\n| a | [l](http://x.y) |\n| b | `c\\|d` |"),
        ("bq. quoted", "> quoted"),
        ("{quote}\nmulti *line*\n{quote}", "> multi **line**"),
        ("{info}i{info}\n{note}n{note}\n{warning}w{warning}\n{tip}t{tip}", "> [!INFO]\n> i\n\n> [!WARNING]\n> n\n\n> [!ERROR]\n> w\n\n> [!SUCCESS]\n> t"),
        ("{info:title=Heads up}\nbody\n{info}", "> [!INFO]\n> **Heads up**\n>\n> body"),
        ("{panel:title=Box|borderStyle=dashed}\nbody\n{panel}", "> **Box**\n>\n> body"),
        ("{code:python}\ndef f(): return {'a': 1}\n{code}", "```python\ndef f(): return {'a': 1}\n```"),
        ("{code:title=x.java|language=java}\nint x;\n{code}", "```java\nint x;\n```"),
        ("{noformat}\nraw *text*\n{noformat}", "```\nraw *text*\n```"),
        ("{code}unclosed", "{code}unclosed"),
        ("----", "---"),
        ("para one\n\npara two", "para one\n\npara two"),
    ],
)
def test_wiki_to_markdown(wiki: str, markdown: str) -> None:
    assert wiki_to_markdown(wiki) == markdown


def test_wiki_none_and_empty() -> None:
    assert wiki_to_markdown(None) == ""
    assert wiki_to_markdown("") == ""
    with pytest.raises(TypeError, match="wiki markup must be a str or None, got dict"):
        wiki_to_markdown({})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("markdown", "wiki"),
    [
        ("# Title\n\n###### Six", "h1. Title\n\nh6. Six"),
        ("**b** *i* ~~s~~ <u>u</u> <sub>2</sub> <sup>n</sup> `c`", "*b* _i_ -s- +u+ ~2~ ^n^ {{c}}"),
        ("un**believ**able", "un{*}believ{*}able"),
        ("[docs](https://example.com/docs) <https://example.com>", "[docs|https://example.com/docs] [https://example.com]"),
        ("@[Jane](accountid:557058:abc) @[jdoe](user:jdoe)", "[~accountid:557058:abc] [~jdoe]"),
        ("- a\n- b\n  1. c\n\n1. one", "* a\n* b\n*# c\n\n# one"),
        ("> quoted", "{quote}\nquoted\n{quote}"),
        ("> [!INFO]\n> i", "{info}\ni\n{info}"),
        ("> [!NOTE]\n> n", "{info}\nn\n{info}"),
        ("> [!WARNING]\n> w", "{note}\nw\n{note}"),
        ("> [!ERROR]\n> e", "{warning}\ne\n{warning}"),
        ("> [!SUCCESS]\n> s", "{tip}\ns\n{tip}"),
        ("```python\nx = {'a': 1}\n```", "{code:python}\nx = {'a': 1}\n{code}"),
        ("```\nplain\n```", "{noformat}\nplain\n{noformat}"),
        ("```\nhas {noformat} inside\n```", "{code}\nhas {noformat} inside\n{code}"),
        ("| H | I |\n|---|---|\n| a \\| b | |", "||H||I||\n|a \\| b| |"),
        ("line one\nline two", "line one\nline two"),
        ("---", "----"),
        ("2 * 3 *em* \\*star", "2 * 3 _em_ \\*star"),
        ("a {macro} [x] - b -c", "a \\{macro\\} \\[x\\] - b \\-c"),
        ("h1. is text\n\n\\* star", "h1\\. is text\n\n\\* star"),
        ("[bad](javascript:alert(1))", "bad"),
        ("<script>alert(1)</script>", "<script>alert(1)</script>"),
    ],
)
def test_markdown_to_wiki(markdown: str, wiki: str) -> None:
    assert markdown_to_wiki(markdown) == wiki


@pytest.mark.parametrize(
    "markdown",
    [
        "# Title\n\nSome **bold**, *em*, `code` and [a link](https://example.com).",
        "- one\n- two\n  - nested\n\n1. first\n2. second",
        "> [!WARNING]\n> careful\n\n| a | b |\n| --- | --- |\n| 1 | 2 |",
        "```python\nprint('hi')\n```\n\n---\n\n@[jdoe](user:jdoe) and @[Ann](accountid:a1)",
        "line one\nline two\n\\\nafter a blank line",
    ],
)
def test_markdown_survives_a_trip_through_wiki(markdown: str) -> None:
    once = wiki_to_markdown(markdown_to_wiki(markdown))
    assert wiki_to_markdown(markdown_to_wiki(once)) == once
    # These use only what wiki can express (and no display names), so nothing is lost.
    assert once == markdown.replace("@[Ann](accountid:a1)", "@[a1](accountid:a1)")
