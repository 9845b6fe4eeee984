"""The configured markdown-it parser, and the GitHub-alert rule that marks panels."""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

from jiraplug.jira.markup.nodes import merge_text, safe_href, text_node

#: Alert marker (upper case) to ADF panel type.
PANEL_TYPES = {
    "INFO": "info",
    "NOTE": "note",
    "TIP": "success",
    "SUCCESS": "success",
    "WARNING": "warning",
    "ERROR": "error",
    "IMPORTANT": "note",
    "CAUTION": "error",
}
_BARE_URL = re.compile(r"(?<![\w@/.])(?:(?:https?|ftp)://|www\.)[^\s<>\"'`]+", re.IGNORECASE)
_URL_TAIL = ".,:;!?*_~'\")]"
_ALERT = re.compile(r"^\[!([A-Za-z]+)\][ \t]*(?:\n|$)")


@lru_cache(maxsize=1)
def markdown_parser() -> MarkdownIt:
    """The shared markdown-it parser: CommonMark, GFM tables and strikethrough, inline HTML
    tokenised (our converter turns a few tags into marks, the rest into text), alerts."""
    md = MarkdownIt("commonmark", {"html": True, "typographer": False})
    md.enable(["table", "strikethrough"])
    md.core.ruler.before("inline", "jiraplug_alerts", _mark_alerts)
    # Accept every destination while parsing: the converter reduces unsafe ones to their text,
    # which reads better than markdown-it's fallback of printing the raw "[x](...)".
    md.validateLink = lambda url: True  # type: ignore[method-assign]
    return md


def _mark_alerts(state: StateCore) -> None:
    """Turn ``> [!TYPE]`` block quotes into panels: note the type, drop the marker line."""
    tokens = state.tokens
    i = 0
    while i + 2 < len(tokens):
        if tokens[i].type == "blockquote_open" and tokens[i + 1].type == "paragraph_open":
            inline = tokens[i + 2]
            match = _ALERT.match(inline.content)
            if match and match.group(1).upper() in PANEL_TYPES:
                tokens[i].meta = {**(tokens[i].meta or {}), "panel": PANEL_TYPES[match.group(1).upper()]}
                inline.content = inline.content[match.end() :].lstrip(" \t")
                if not inline.content.strip():
                    del tokens[i + 1 : i + 4]  # paragraph_open, inline, paragraph_close
        i += 1


def autolink(nodes: list[Any]) -> list[Any]:
    """Give bare URLs in plain text (not code, not already linked) a link mark.

    Matched on parsed text (escapes undone), not on the source, so escaping can never
    change what a URL covers; the ADF reader runs it too, so its output reads back the same.
    """
    out: list[Any] = []
    for node in nodes:
        marks = node.get("marks") if isinstance(node, dict) else None
        marks = marks if isinstance(marks, list) else []
        if (
            not isinstance(node, dict)
            or node.get("type") != "text"
            or not isinstance(node.get("text"), str)
            or any(not isinstance(m, dict) or m.get("type") == "code" for m in marks)
            or any(m.get("type") == "link" and safe_href((m.get("attrs") or {}).get("href")) for m in marks)
        ):
            out.append(node)
            continue
        marks = [m for m in marks if m.get("type") != "link"]  # unsafe links are dropped anyway
        text = node["text"]
        at = 0
        for match in _BARE_URL.finditer(text):
            url = trim_url(match.group())
            if "." not in url.split("//", 1)[-1]:
                continue
            href = markdown_parser().normalizeLink(url if "://" in url else "http://" + url)
            out.append(text_node(text[at : match.start()], marks))
            out.append(text_node(url, [*marks, {"type": "link", "attrs": {"href": href}}]))
            at = match.start() + len(url)
        out.append(text_node(text[at:], marks))
    return merge_text(out)


def trim_url(url: str) -> str:
    """Drop trailing punctuation that ends the sentence rather than the URL (GFM's rule)."""
    end = len(url)
    opens, closes = url.count("("), url.count(")")
    while end and url[end - 1] in _URL_TAIL:
        if url[end - 1] == ")":
            if opens >= closes:
                break
            closes -= 1
        end -= 1
    return url[:end]
