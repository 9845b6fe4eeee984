"""A small neutral rich-text model and its renderings.

Issue descriptions and comment bodies are generated once, as a list of blocks, and
rendered per API flavour. Bodies written through the API (ADF on Cloud v3, wiki markup
elsewhere) are parsed into the same blocks *and* keep their source, so a client reads back
exactly the document it wrote in the format it wrote it (see :func:`from_adf`,
:func:`from_wiki`):

- ``to_adf``: Atlassian Document Format (Jira Cloud REST v3),
- ``to_wiki``: Jira wiki markup (Jira Data Center, and Cloud REST v2),
- ``to_html``: what ``expand=renderedFields`` returns,
- ``to_plain``: the text the JQL ``~`` operator searches.
"""

from __future__ import annotations

import copy
import html
import re
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
    "from_adf",
    "from_wiki",
    "from_text",
    "adf_problem",
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
    """A rich-text document: an ordered sequence of blocks.

    ``adf`` / ``wiki`` hold the document exactly as a client wrote it (if it came from the
    API); renderings in that same format return it unchanged.
    """

    blocks: tuple[Block, ...] = field(default_factory=tuple)
    adf: dict[str, Any] | None = field(default=None, compare=False)
    wiki: str | None = field(default=None, compare=False)


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
    nodes: list[dict[str, Any]] = []
    for run in runs:
        for index, piece in enumerate(run.text.split("\n")):
            if index:
                nodes.append({"type": "hardBreak"})
            if piece:
                nodes.append(_adf_inline(Text(piece, run.marks, run.href)))
    return nodes


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
    if isinstance(block, CodeBlock):  # ADF forbids empty text nodes: an empty block has no content
        node: dict[str, Any] = {"type": "codeBlock",
                                "content": [{"type": "text", "text": block.text}] if block.text else []}
        if block.language:
            node["attrs"] = {"language": block.language}
        return node
    raise TypeError(f"unknown block {block!r}")


def to_adf(doc: Doc) -> dict[str, Any]:
    """Render ``doc`` as an Atlassian Document Format ``doc`` node (version 1)."""
    if doc.adf is not None:
        return copy.deepcopy(doc.adf)
    return {"type": "doc", "version": 1, "content": [_adf_block(b) for b in doc.blocks]}


# --------------------------------------------------------------------------- wiki

_WIKI_MARKS = {"strong": "*", "em": "_"}


def _wiki_inline(run: Text) -> str:
    text = run.text
    if "code" in run.marks:
        text = "{{" + text + "}}"
    wraps = [_WIKI_MARKS[mark] for mark in run.marks if mark in _WIKI_MARKS]
    if wraps and text.strip():
        # Jira only reads "*bold*" when no space follows the opener or precedes the closer,
        # so surrounding spaces go outside the markers ("*Severity:* high").
        core = text.strip()
        lead, trail = text[: len(text) - len(text.lstrip())], text[len(text.rstrip()):]
        for wrap in wraps:
            core = f"{wrap}{core}{wrap}"
        text = f"{lead}{core}{trail}"
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
    if doc.wiki is not None:
        return doc.wiki
    return "\n\n".join(_wiki_block(b) for b in doc.blocks)


# --------------------------------------------------------------------------- HTML

_HTML_MARKS = {"strong": "b", "em": "em"}


def _html_inline(run: Text) -> str:
    text = html.escape(run.text, quote=False).replace("\n", "<br/>\n")
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


# --------------------------------------------------------------------------- parsing (API input)

_ADF_MARKS = {"strong": "strong", "em": "em", "code": "code"}


def _adf_text_of(node: Any) -> str:
    """All text below ``node`` (for nodes that degrade to plain text)."""
    if not isinstance(node, dict):
        return ""
    if node.get("type") == "text":
        return str(node.get("text", ""))
    attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
    if node.get("type") == "hardBreak":
        return "\n"
    if node.get("type") in ("mention", "emoji", "status", "date", "inlineCard"):
        return str(attrs.get("text") or attrs.get("shortName") or attrs.get("url") or attrs.get("timestamp") or "")
    return "".join(_adf_text_of(child) for child in node.get("content") or [])


def _adf_runs(nodes: Any) -> tuple[Inline, ...]:
    runs: list[Inline] = []
    for node in nodes or []:
        if not isinstance(node, dict):
            continue
        if node.get("type") == "text":
            marks: list[str] = []
            href = None
            for mark in node.get("marks") or []:
                kind = mark.get("type") if isinstance(mark, dict) else None
                if kind in _ADF_MARKS:
                    marks.append(_ADF_MARKS[kind])
                elif kind == "link":
                    href = (mark.get("attrs") or {}).get("href")
            runs.append(Text(str(node.get("text", "")), tuple(marks), href))
        elif node.get("type") == "inlineCard":
            url = str((node.get("attrs") or {}).get("url", ""))
            runs.append(Text(url, (), url or None))
        else:
            text = _adf_text_of(node)
            if text:
                runs.append(Text(text))
    return tuple(runs)


def _adf_list_items(node: dict[str, Any]) -> list[tuple[Inline, ...]]:
    items: list[tuple[Inline, ...]] = []
    for item in node.get("content") or []:
        if not isinstance(item, dict):
            continue
        runs: list[Inline] = []
        nested: list[tuple[Inline, ...]] = []
        for child in item.get("content") or []:
            if isinstance(child, dict) and child.get("type") in ("bulletList", "orderedList"):
                nested.extend(_adf_list_items(child))  # nested lists flatten into the parent list
            elif isinstance(child, dict):
                runs.extend(_adf_runs(child.get("content")) if child.get("type") == "paragraph"
                            else (Text(_adf_text_of(child)),))
        items.append(tuple(runs))
        items.extend(nested)
    return items


def _adf_blocks(nodes: Any) -> list[Block]:
    blocks: list[Block] = []
    for node in nodes or []:
        if not isinstance(node, dict):
            continue
        kind = node.get("type")
        attrs = node.get("attrs") if isinstance(node.get("attrs"), dict) else {}
        if kind == "paragraph":
            blocks.append(Paragraph(_adf_runs(node.get("content"))))
        elif kind == "heading":
            level = attrs.get("level", 1)
            blocks.append(Heading(level if isinstance(level, int) and 1 <= level <= 6 else 1,
                                  _adf_runs(node.get("content"))))
        elif kind == "bulletList":
            blocks.append(BulletList(tuple(_adf_list_items(node))))
        elif kind == "orderedList":
            blocks.append(OrderedList(tuple(_adf_list_items(node))))
        elif kind == "codeBlock":
            blocks.append(CodeBlock(_adf_text_of(node), attrs.get("language")))
        elif kind == "table":
            for row in node.get("content") or []:
                cells = [_adf_text_of(cell).strip() for cell in (row.get("content") or []) if isinstance(cell, dict)]
                blocks.append(Paragraph((Text(" | ".join(cells)),)))
        elif kind == "rule":
            blocks.append(Paragraph((Text("----"),)))
        elif node.get("content"):  # blockquote, panel, expand, layouts...: keep their blocks
            blocks.extend(_adf_blocks(node.get("content")))
        else:  # media and other leaves degrade to readable text
            text = _adf_text_of(node) or f"[{kind}]"
            blocks.append(Paragraph((Text(text),)))
    return blocks


def adf_problem(value: Any) -> str | None:
    """Why ``value`` is not an ADF document Jira would accept, or ``None`` if it is one."""
    if not isinstance(value, dict) or value.get("type") != "doc":
        return "not a 'doc' node"
    if value.get("version") != 1:
        return "the document version must be 1"

    def walk(node: Any, where: str) -> str | None:
        if not isinstance(node, dict) or not isinstance(node.get("type"), str):
            return f"{where} is not a node with a 'type'"
        if node["type"] == "text" and (not isinstance(node.get("text"), str) or not node["text"]):
            return f"{where} is a text node without text"
        content = node.get("content", [])
        if not isinstance(content, list):
            return f"{where}.content is not a list"
        for index, child in enumerate(content):
            problem = walk(child, f"{where}.content[{index}]")
            if problem:
                return problem
        return None

    return walk(value, "doc")


def from_adf(document: dict[str, Any]) -> Doc:
    """A :class:`Doc` from an ADF document (check it with :func:`adf_problem` first)."""
    return Doc(tuple(_adf_blocks(document.get("content"))), adf=copy.deepcopy(document))


# No span reaches past the next opener ("{{", "["): a line of unclosed openers would
# otherwise be rescanned from each one (quadratic).
_WIKI_INLINE = re.compile(
    r"\{\{(?P<code>(?:(?!\{\{).)+?)\}\}"
    r"|\[~(?P<mention>[^\[\]]+)\]"
    r"|\[(?P<label>[^|\[\]]+)\|(?P<href>[^\[\]]+)\]"
    r"|\[(?P<url>https?://[^\[\]]+)\]"
    r"|(?<![\w*])\*(?P<strong>[^*\s](?:[^*]*[^*\s])?)\*(?![\w*])"
    r"|(?<![\w_])_(?P<em>[^_\s](?:[^_]*[^_\s])?)_(?![\w_])"
)


def _wiki_runs(text: str) -> tuple[Inline, ...]:
    runs: list[Inline] = []
    pos = 0
    for match in _WIKI_INLINE.finditer(text):
        if match.start() > pos:
            runs.append(Text(text[pos: match.start()]))
        if match["code"] is not None:
            runs.append(Text(match["code"], ("code",)))
        elif match["mention"] is not None:
            runs.append(Text("@" + match["mention"]))
        elif match["label"] is not None:
            runs.append(Text(match["label"], (), match["href"]))
        elif match["url"] is not None:
            runs.append(Text(match["url"], (), match["url"]))
        elif match["strong"] is not None:
            runs.append(Text(match["strong"], ("strong",)))
        else:
            runs.append(Text(match["em"], ("em",)))
        pos = match.end()
    if pos < len(text):
        runs.append(Text(text[pos:]))
    return tuple(runs)


_WIKI_HEADING = re.compile(r"^h([1-6])\.\s+(.*)$")
_WIKI_CODE_OPEN = re.compile(r"^\{(code|noformat)(?::([^}|]*))?[^}]*\}(.*)$")


def from_wiki(text: str) -> Doc:
    """A :class:`Doc` from Jira wiki markup (headings, lists, code, paragraphs, inline marks)."""
    blocks: list[Block] = []
    paragraph: list[str] = []
    items: list[str] = []
    list_kind = ""

    def flush() -> None:
        nonlocal list_kind
        if paragraph:
            blocks.append(Paragraph(_wiki_runs("\n".join(paragraph))))
            paragraph.clear()
        if items:
            runs = tuple(_wiki_runs(i) for i in items)
            blocks.append(BulletList(runs) if list_kind == "*" else OrderedList(runs))
            items.clear()
        list_kind = ""

    lines = text.replace("\r\n", "\n").split("\n")
    index = 0
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        code = _WIKI_CODE_OPEN.match(stripped)
        if code:
            flush()
            tag, language = code.group(1), (code.group(2) or "").strip() or None
            body: list[str] = [code.group(3)] if code.group(3) else []
            index += 1
            closer = "{" + tag + "}"
            while index < len(lines) and not lines[index].strip().startswith(closer):
                body.append(lines[index])
                index += 1
            blocks.append(CodeBlock("\n".join(body), language if tag == "code" else None))
            index += 1
            continue
        heading = _WIKI_HEADING.match(stripped)
        bullet = re.match(r"^([*#-])+\s+(.*)$", stripped)
        if heading:
            flush()
            blocks.append(Heading(int(heading.group(1)), _wiki_runs(heading.group(2))))
        elif bullet and stripped != "----":
            kind = "*" if bullet.group(1) in "*-" else "#"
            if paragraph or (items and kind != list_kind):
                flush()
            list_kind = kind
            items.append(bullet.group(2))
        elif not stripped:
            flush()
        else:
            if items:
                flush()
            paragraph.append(line)
        index += 1
    flush()
    return Doc(tuple(blocks), wiki=text)


def from_text(text: str) -> Doc:
    """A :class:`Doc` of plain-text paragraphs (one per blank-line separated chunk)."""
    chunks = [c for c in re.split(r"\n\s*\n", text) if c.strip()]
    return Doc(tuple(Paragraph((Text(c),)) for c in chunks))
