"""Atlassian Document Format (ADF) to readable text.

A reader of last resort: every node degrades to its text, so nothing vanishes silently.
"""

from __future__ import annotations

from typing import Any


def adf_to_text(node: Any) -> str:
    """Render an ADF document (or a wiki-markup string) as Markdown-like plain text."""
    if node is None:
        return ""
    if isinstance(node, str):
        return node
    return _blocks(node.get("content") or [], indent="").strip()


def _blocks(nodes: list[Any], indent: str) -> str:
    out: list[str] = []
    for node in nodes:
        kind = node.get("type")
        content = node.get("content") or []
        if kind == "heading":
            level = int((node.get("attrs") or {}).get("level", 1))
            out.append(f"{indent}{'#' * level} {_inline(content)}")
        elif kind in ("bulletList", "orderedList"):
            for number, item in enumerate(content, start=1):
                marker = f"{number}." if kind == "orderedList" else "-"
                body = _blocks(item.get("content") or [], indent + "  ").strip()
                out.append(f"{indent}{marker} {body}")
            continue
        elif kind == "codeBlock":
            language = (node.get("attrs") or {}).get("language") or ""
            out.append(f"{indent}```{language}\n{_inline(content)}\n{indent}```")
        elif kind == "rule":
            out.append(f"{indent}---")
        elif kind == "blockquote":
            out.append("\n".join(f"{indent}> {line}" for line in _blocks(content, "").splitlines()))
        elif kind in ("paragraph", None):
            out.append(indent + _inline(content))
        elif content:
            out.append(_blocks(content, indent) if any(c.get("content") for c in content) else indent + _inline(content))
        else:
            out.append(indent + _inline([node]))
        out.append("")
    return "\n".join(out)


def _inline(nodes: list[Any]) -> str:
    parts: list[str] = []
    for node in nodes:
        kind = node.get("type")
        attrs = node.get("attrs") or {}
        if kind == "text":
            parts.append(_marked(node.get("text", ""), node.get("marks") or []))
        elif kind == "hardBreak":
            parts.append("\n")
        elif kind == "mention":
            parts.append(attrs.get("text") or f"@{attrs.get('id', 'someone')}")
        elif kind in ("emoji", "status", "date", "inlineCard"):
            parts.append(attrs.get("text") or attrs.get("shortName") or attrs.get("url") or str(attrs.get("timestamp", "")))
        else:
            parts.append(_inline(node.get("content") or []))
    return "".join(parts)


def _marked(text: str, marks: list[Any]) -> str:
    for mark in marks:
        kind = mark.get("type")
        if kind == "strong":
            text = f"**{text}**"
        elif kind == "em":
            text = f"*{text}*"
        elif kind == "code":
            text = f"`{text}`"
        elif kind == "strike":
            text = f"~~{text}~~"
        elif kind == "link":
            text = f"[{text}]({(mark.get('attrs') or {}).get('href', '')})"
    return text
