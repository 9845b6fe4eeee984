"""Make block content fit where ADF allows it.

Markdown nests anything anywhere; ADF does not (no heading in a list item, no quote in
a quote, no table in a panel...). Rather than emit a document Jira rejects, blocks that
do not fit are degraded in place: a heading becomes a bold paragraph, a nested quote or
panel gives up its frame and keeps its content, a table becomes one paragraph per row,
a rule is dropped (it holds no text). The rules follow ``adf-schema-v1-full.json``.
"""

from __future__ import annotations

from typing import Any

from jiraplug.jira.markup.nodes import Node, children, kind, merge_text, text_node

_LISTS = {"bulletList", "orderedList"}
ALLOWED: dict[str, frozenset[str]] = {
    "listItem": frozenset(_LISTS | {"paragraph", "codeBlock"}),
    "blockquote": frozenset(_LISTS | {"paragraph", "codeBlock"}),
    "panel": frozenset(_LISTS | {"paragraph", "heading", "codeBlock", "rule"}),
}


_KNOWN = frozenset(_LISTS | {"paragraph", "heading", "codeBlock", "rule", "blockquote", "panel", "table"})


def fit(blocks: list[Node], container: str, *, keep_unknown: bool = False) -> list[Node]:
    """Return ``blocks`` degraded to what a ``container`` node may hold (never empty).

    With ``keep_unknown``, node types outside the ones Markdown produces are left alone
    (the ADF reader renders them in its own tolerant way).
    """
    allowed = ALLOWED[container]
    out: list[Node] = []
    for block in blocks:
        k = kind(block)
        if k in allowed or (keep_unknown and k not in _KNOWN):
            out.append(block)
        elif k == "heading":
            if children(block):
                out.append({"type": "paragraph", "content": [_with_strong(n) for n in children(block)]})
        elif k in ("blockquote", "panel"):
            out.extend(fit(children(block), container, keep_unknown=keep_unknown))
        elif k == "table":
            out.extend(_table_rows(block))
        elif k == "rule":
            continue
        else:
            out.append({"type": "paragraph", "content": merge_text(_inline_of(block))})
    if not out or (container == "listItem" and kind(out[0]) not in ("paragraph", "codeBlock")):
        # ADF wants content, and a list item that opens with a paragraph (or code).
        out.insert(0, {"type": "paragraph", "content": []})
    return out


def _with_strong(node: Node) -> Node:
    if kind(node) != "text":
        return node
    marks = node.get("marks") or []
    types = {m.get("type") for m in marks}
    if "code" in types or "strong" in types:  # code may carry only link marks
        return node
    return text_node(node["text"], [*marks, {"type": "strong"}])


def _table_rows(table: Node) -> list[Node]:
    rows: list[Node] = []
    for row in children(table):
        content: list[Any] = []
        for i, cell in enumerate(children(row)):
            if i:
                content.append(text_node(" | "))
            content.extend(_inline_of(cell))
        rows.append({"type": "paragraph", "content": merge_text(content)})
    return rows


def _inline_of(block: Node) -> list[Any]:
    """The inline content of ``block``'s paragraphs and headings, joined by line breaks."""
    if kind(block) in ("paragraph", "heading"):
        return list(children(block))
    out: list[Any] = []
    for child in children(block):
        part = [child] if kind(child) == "text" else _inline_of(child)
        if part:
            if out:
                out.append({"type": "hardBreak"})
            out.extend(part)
    return out
