"""Rewrite an ADF tree into the subset Markdown can express, keeping every bit of text.

The ADF reader renders the result; because the Markdown parser produces exactly this
subset, what the reader writes reads back as the same tree.
"""

from __future__ import annotations

from typing import Any

from jiraplug.jira.markup.inline_tree import ATOM_TYPES
from jiraplug.jira.markup.nodes import attrs, card_target, children, kind, media_label, plain_text, safe_href, text_node

INLINE_TYPES = ATOM_TYPES | {"text", "hardBreak"}
LIST_TYPES = frozenset({"bulletList", "orderedList", "taskList", "decisionList"})
_LEAF_BLOCKS = frozenset({"paragraph", "heading", "codeBlock", "rule"})
_CONTAINERS = frozenset({"blockquote", "panel", "table"}) | LIST_TYPES


def normalise(nodes: list[Any]) -> list[Any]:
    """Rewrite blocks Markdown has no form for into ones it has, keeping their text.

    Wrappers (expand, layouts, bodied extensions, unknown containers) give way to their
    content, an expand's title becoming a bold paragraph; media, cards and extensions
    become paragraphs holding a placeholder or a link. The result reads back unchanged.
    """
    out: list[Any] = []
    for node in nodes:
        k = kind(node)
        if not isinstance(node, dict) or k in INLINE_TYPES or k in _LEAF_BLOCKS:
            out.append(node)
            continue
        content = children(node)
        if k in ("blockquote", "panel"):
            out.append({**node, "content": normalise(content)})
            continue
        if k in _CONTAINERS:  # lists and tables
            out.append({**node, "content": [_normalise_child(c) for c in content]})
            continue
        a = attrs(node)
        if k in ("expand", "nestedExpand"):
            title = a.get("title")
            if isinstance(title, str) and title.strip():
                out.append(_para(text_node(title.strip(), [{"type": "strong"}])))
            out.extend(normalise(content))
        elif k in ("mediaSingle", "mediaGroup", "media"):
            media = [m for m in content if kind(m) == "media"] or [node]
            captions = [plain_text(c) for c in content if kind(c) == "caption" and plain_text(c)]
            labels = [text_node(media_label(m)) for m in media] + [text_node(c) for c in captions]
            out.append(_para(*joined(labels)))
        elif k in ("blockCard", "embedCard"):
            raw_url, name = card_target(node)
            url = safe_href(raw_url)
            label = name or url or raw_url
            out.append(_para(text_node(label, [{"type": "link", "attrs": {"href": url}}] if url else None) if label else text_node(f"[{k}]")))
        elif not content:  # extension, syncBlock, anything new without content
            label = a.get("text") or (f"[extension: {a.get('extensionKey')}]" if a.get("extensionKey") else "")
            out.append(_para(text_node(str(label or plain_text(node) or f"[{k or 'unknown'}]"))))
        elif is_inline_only(content):
            out.append(_para(*content))
        else:
            out.extend(normalise(content))
    return out


def cap_depth(nodes: list[Any], limit: int) -> list[Any]:
    """``nodes`` with every node ``limit`` levels down that still has content replaced by a
    paragraph holding its text (line breaks kept), so that no renderer recurses deeper."""
    out: list[Any] = []
    for node in nodes:
        content = children(node)
        if not content:
            out.append(node)
        elif limit <= 1:
            out.append(_para(text_node(plain_text(node) or "")))
        else:
            out.append({**node, "content": cap_depth(content, limit - 1)})
    return out


def _normalise_child(node: Any) -> Any:
    """A list item, table row or cell with its block content normalised."""
    k = kind(node)
    if k in ("listItem", "tableCell", "tableHeader"):
        return {**node, "content": normalise(children(node))}
    if k == "tableRow":
        return {**node, "content": [_normalise_child(c) for c in children(node)]}
    if k in LIST_TYPES or k in ("blockquote", "panel"):
        return normalise([node])[0]
    return node


def _para(*content: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "content": list(content)}


def joined(nodes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``nodes`` with a hard break between each two."""
    out: list[dict[str, Any]] = []
    for node in nodes:
        if out:
            out.append({"type": "hardBreak"})
        out.append(node)
    return out


def is_inline_only(nodes: list[Any]) -> bool:
    """True when ``nodes`` is non-empty and holds only inline nodes."""
    return bool(nodes) and all(kind(n) in INLINE_TYPES or isinstance(n, str) for n in nodes)
