"""The configured markdown-it parser, and the GitHub-alert rule that marks panels."""

from __future__ import annotations

import re
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

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
