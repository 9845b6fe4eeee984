"""A small neutral rich-text model and its renderings.

Issue descriptions and comment bodies are generated once, as a list of blocks, and
rendered per API flavour:

- ``to_adf``: Atlassian Document Format (Jira Cloud REST v3),
- ``to_wiki``: Jira wiki markup (Jira Data Center, and Cloud REST v2),
- ``to_html``: what ``expand=renderedFields`` returns,
- ``to_plain``: the text the JQL ``~`` operator searches.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Text",
    "Paragraph",
    "Heading",
    "BulletList",
    "OrderedList",
    "CodeBlock",
    "Block",
    "Doc",
    "to_adf",
    "to_wiki",
    "to_html",
    "to_plain",
]


@dataclass(frozen=True, slots=True)
class Text:
    """A run of inline text with optional marks (``strong``, ``em``, ``code``) and link."""

    text: str
    marks: tuple[str, ...] = ()
    href: str | None = None


Inline = Text


@dataclass(frozen=True, slots=True)
class Paragraph:
    """A paragraph of inline runs."""

    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class Heading:
    """A heading (level 1..6)."""

    level: int
    content: tuple[Inline, ...]


@dataclass(frozen=True, slots=True)
class BulletList:
    """An unordered list; each item is one line of inline runs."""

    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True, slots=True)
class OrderedList:
    """A numbered list; each item is one line of inline runs."""

    items: tuple[tuple[Inline, ...], ...]


@dataclass(frozen=True, slots=True)
class CodeBlock:
    """A preformatted code block with an optional language."""

    text: str
    language: str | None = None


Block = Paragraph | Heading | BulletList | OrderedList | CodeBlock


@dataclass(frozen=True, slots=True)
class Doc:
    """A rich-text document: an ordered sequence of blocks."""

    blocks: tuple[Block, ...] = field(default_factory=tuple)


# --------------------------------------------------------------------------- ADF


def _adf_inline(run: Text) -> dict[str, Any]:
    node: dict[str, Any] = {"type": "text", "text": run.text}
    marks: list[dict[str, Any]] = []
    for mark in run.marks:
        marks.append({"type": mark})
    if run.href:
        marks.append({"type": "link", "attrs": {"href": run.href}})
    if marks:
        node["marks"] = marks
    return node


def _adf_inlines(runs: tuple[Inline, ...]) -> list[dict[str, Any]]:
    return [_adf_inline(r) for r in runs if r.text]


def _adf_list_item(runs: tuple[Inline, ...]) -> dict[str, Any]:
    return {"type": "listItem", "content": [{"type": "paragraph", "content": _adf_inlines(runs)}]}


def _adf_block(block: Block) -> dict[str, Any]:
    if isinstance(block, Paragraph):
        return {"type": "paragraph", "content": _adf_inlines(block.content)}
    if isinstance(block, Heading):
        return {"type": "heading", "attrs": {"level": block.level}, "content": _adf_inlines(block.content)}
    if isinstance(block, BulletList):
        return {"type": "bulletList", "content": [_adf_list_item(i) for i in block.items]}
    if isinstance(block, OrderedList):
        return {"type": "orderedList", "attrs": {"order": 1}, "content": [_adf_list_item(i) for i in block.items]}
    if isinstance(block, CodeBlock):
        node: dict[str, Any] = {"type": "codeBlock", "content": [{"type": "text", "text": block.text}]}
        if block.language:
            node["attrs"] = {"language": block.language}
        return node
    raise TypeError(f"unknown block {block!r}")


def to_adf(doc: Doc) -> dict[str, Any]:
    """Render ``doc`` as an Atlassian Document Format ``doc`` node (version 1)."""
    return {"type": "doc", "version": 1, "content": [_adf_block(b) for b in doc.blocks]}


# --------------------------------------------------------------------------- wiki

_WIKI_MARKS = {"strong": "*", "em": "_"}


def _wiki_inline(run: Text) -> str:
    text = run.text
    if "code" in run.marks:
        text = "{{" + text + "}}"
    for mark in run.marks:
        wrap = _WIKI_MARKS.get(mark)
        if wrap:
            text = f"{wrap}{text}{wrap}"
    if run.href:
        text = f"[{text}|{run.href}]"
    return text


def _wiki_inlines(runs: tuple[Inline, ...]) -> str:
    return "".join(_wiki_inline(r) for r in runs)


def _wiki_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return _wiki_inlines(block.content)
    if isinstance(block, Heading):
        return f"h{block.level}. {_wiki_inlines(block.content)}"
    if isinstance(block, BulletList):
        return "\n".join(f"* {_wiki_inlines(i)}" for i in block.items)
    if isinstance(block, OrderedList):
        return "\n".join(f"# {_wiki_inlines(i)}" for i in block.items)
    if isinstance(block, CodeBlock):
        opener = f"{{code:{block.language}}}" if block.language else "{code}"
        return f"{opener}\n{block.text}\n{{code}}"
    raise TypeError(f"unknown block {block!r}")


def to_wiki(doc: Doc) -> str:
    """Render ``doc`` as Jira wiki markup (blocks separated by a blank line)."""
    return "\n\n".join(_wiki_block(b) for b in doc.blocks)


# --------------------------------------------------------------------------- HTML

_HTML_MARKS = {"strong": "b", "em": "em"}


def _html_inline(run: Text) -> str:
    text = html.escape(run.text, quote=False)
    if "code" in run.marks:
        text = f"<tt>{text}</tt>"
    for mark in run.marks:
        tag = _HTML_MARKS.get(mark)
        if tag:
            text = f"<{tag}>{text}</{tag}>"
    if run.href:
        href = html.escape(run.href)
        text = f'<a href="{href}" class="external-link" rel="nofollow noreferrer">{text}</a>'
    return text


def _html_inlines(runs: tuple[Inline, ...]) -> str:
    return "".join(_html_inline(r) for r in runs)


def _html_block(block: Block) -> str:
    if isinstance(block, Paragraph):
        return f"<p>{_html_inlines(block.content)}</p>"
    if isinstance(block, Heading):
        return f"<h{block.level}>{_html_inlines(block.content)}</h{block.level}>"
    if isinstance(block, BulletList):
        items = "\n".join(f"\t<li>{_html_inlines(i)}</li>" for i in block.items)
        return f'<ul>\n{items}\n</ul>'
    if isinstance(block, OrderedList):
        items = "\n".join(f"\t<li>{_html_inlines(i)}</li>" for i in block.items)
        return f"<ol>\n{items}\n</ol>"
    if isinstance(block, CodeBlock):
        lang = block.language or "none"
        code = html.escape(block.text, quote=False)
        return (
            '<div class="code panel" style="border-width: 1px;"><div class="codeContent panelContent">\n'
            f'<pre class="code-{lang}">{code}</pre>\n</div></div>'
        )
    raise TypeError(f"unknown block {block!r}")


def to_html(doc: Doc) -> str:
    """Render ``doc`` as the HTML Jira returns in ``renderedFields``."""
    return "\n\n".join(_html_block(b) for b in doc.blocks)


# --------------------------------------------------------------------------- plain


def _plain_inlines(runs: tuple[Inline, ...]) -> str:
    return "".join(r.text for r in runs)


def to_plain(doc: Doc) -> str:
    """Return the document's text without markup (used for text search)."""
    parts: list[str] = []
    for block in doc.blocks:
        if isinstance(block, (Paragraph, Heading)):
            parts.append(_plain_inlines(block.content))
        elif isinstance(block, (BulletList, OrderedList)):
            parts.extend(_plain_inlines(i) for i in block.items)
        elif isinstance(block, CodeBlock):
            parts.append(block.text)
    return "\n".join(parts)
