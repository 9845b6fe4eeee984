"""ADF tree to Jira wiki markup (the format of Jira Data Center and of Cloud's REST v2).

Used on the tree :mod:`~jiraplug.jira.markup.adf_writer` builds from Markdown. Text is
escaped with backslashes where a character could start markup; emphasis that cannot
use the plain ``*x*`` form (inside a word, say) uses Jira's braced form ``{*}x{*}``.
"""

from __future__ import annotations

import re
from typing import Any

from jiraplug.jira.markup.inline_tree import Inline, Leaf, Span, build_inline, md_space
from jiraplug.jira.markup.nodes import (
    atom_text,
    attrs,
    children,
    escape_line_start,
    kind,
    media_label,
    plain_text,
    trimmed_lines,
)

#: ADF panel type to wiki macro, by colour (Jira: info blue, note yellow, warning red, tip green).
PANEL_MACROS = {"info": "info", "note": "info", "warning": "note", "error": "warning", "success": "tip", "tip": "tip"}
WIKI_MARKS = frozenset({"link", "strong", "em", "strike", "underline", "subsup", "code"})
_HOISTED = frozenset({"strong", "em", "strike", "underline", "subsup"})
_DELIMITER = {"strong": "*", "em": "_", "strike": "-", "underline": "+"}
_MARK_CHARS = "*_-+^~"
_LINE_START = re.compile(r"^(?:h[1-6](?P<dot1>\.)|bq(?P<dot2>\.)|(?P<list>[*#]+|-)(?=[ \t])|(?P<rule>-)-{3,}[ \t]*$|(?P<pipe>\|))")
_URL_AT_END = re.compile(r"(?:(?:https?|ftp)://|mailto:)[^\s\[\]|{}<>\"\\]*$")
_OTHER = "\x00"  # a neighbour we have not rendered yet (some markup's first character)
_ENTITY = re.compile(r"&#(?:\d{1,7}|[xX][0-9a-fA-F]{1,6});")


def adf_to_wiki(doc: dict[str, Any]) -> str:
    """Render an ADF document (as built by the Markdown parser) as Jira wiki markup."""
    return _Blocks().render(children(doc) if kind(doc) == "doc" else [doc]).strip("\n")


class _Blocks:
    def render(self, nodes: list[Any]) -> str:
        out = [text for text in (self.block(n) for n in nodes if isinstance(n, dict)) if text]
        return "\n\n".join(out)

    def block(self, node: dict[str, Any]) -> str:
        k = kind(node)
        a = attrs(node)
        content = children(node)
        if k == "paragraph":
            return paragraph(content)
        if k == "heading":
            level = a.get("level") if isinstance(a.get("level"), int) and 1 <= a["level"] <= 6 else 1
            return f"h{level}. " + InlineWriter(single_line=True).render(content).strip()
        if k == "codeBlock":
            return code_block(plain_text(content), a.get("language"))
        if k in ("bulletList", "orderedList"):
            return "\n".join(self.list_lines(node, ""))
        if k == "blockquote":
            return "{quote}\n" + self.render(content) + "\n{quote}"
        if k == "panel":
            macro = PANEL_MACROS.get(str(a.get("panelType")), "info")
            return f"{{{macro}}}\n" + self.render(content) + f"\n{{{macro}}}"
        if k == "rule":
            return "----"
        if k == "table":
            return "\n".join(self.table_row(row) for row in content if isinstance(row, dict))
        if k in ("media", "mediaSingle", "mediaGroup"):
            return escape_wiki(" ".join(media_label(m) for m in content if kind(m) == "media") or media_label(node))
        if content:
            return self.render(content) if any(kind(c) not in ("text", "hardBreak") for c in content) else paragraph(content)
        return escape_wiki(plain_text(node) or f"[{k or 'unknown'}]")

    def list_lines(self, node: dict[str, Any], prefix: str) -> list[str]:
        marker = prefix + ("#" if kind(node) == "orderedList" else "*")
        lines: list[str] = []
        for item in children(node):
            head: list[str] = []  # the item's text, on the marker line
            after: list[str] = []  # blocks wiki cannot put inside an item follow it
            for block in children(item):
                k = kind(block)
                if k in ("bulletList", "orderedList"):
                    after.extend(self.list_lines(block, marker))
                elif k in ("paragraph", "heading") and not after:
                    text = InlineWriter(single_line=True).render(children(block)).strip()
                    if text:
                        head.append(text)
                else:
                    after.append(self.block(block))
            lines.append(f"{marker} " + " \\\\ ".join(head))
            lines.extend(a for a in after if a)
        return lines

    def table_row(self, row: dict[str, Any]) -> str:
        parts: list[str] = []
        last = "|"
        for cell in children(row):
            last = "||" if kind(cell) == "tableHeader" else "|"
            texts = []
            for block in children(cell):
                if kind(block) in ("paragraph", "heading"):
                    texts.append(InlineWriter(single_line=True, table=True).render(children(block)).strip())
                else:
                    texts.append(escape_wiki(plain_text(block).replace("\n", " "), in_table=True))
            parts.append(last + (" \\\\ ".join(t for t in texts if t) or " "))
        return "".join(parts) + last


def paragraph(content: list[Any]) -> str:
    """A paragraph: line breaks as newlines, every line made to start as text."""
    lines = trimmed_lines(InlineWriter().render(content))
    joined: list[list[str]] = []  # each line as pieces: a run of empty lines must not recopy it
    for line in lines:
        if line:
            joined.append([line])
        else:  # an empty line would end the paragraph: use the explicit break
            joined[-1].append(" \\\\")
    return "\n".join(escape_line_start("".join(pieces), _LINE_START) for pieces in joined)


def code_block(text: str, language: Any = None) -> str:
    """``{code:lang}`` for code with a language, ``{noformat}`` without one."""
    lang = language.strip() if isinstance(language, str) else ""
    lang = lang if re.fullmatch(r"[\w+#.\-]+", lang or "") else ""
    macro = "code" if lang else "noformat"
    if f"{{{macro}}}" in text:  # the body would close the macro early: use the other one
        macro = "noformat" if macro == "code" else "code"
        lang = ""
    text = text.replace(f"{{{macro}}}", f"{{ {macro}}}")
    opener = f"{{code:{lang}}}" if macro == "code" and lang else f"{{{macro}}}"
    return f"{opener}\n{text}\n{{{macro}}}"


def escape_wiki(text: str, *, in_table: bool = False, in_label: bool = False) -> str:
    """Escape ``text`` without knowing its neighbours (edges treated as anything)."""
    return InlineWriter(table=in_table)._text(text, None, None, in_label, frozenset())


class InlineWriter:
    """Renders one run of inline content as wiki markup."""

    def __init__(self, *, single_line: bool = False, table: bool = False) -> None:
        self.single_line = single_line
        self.table = table

    def render(self, nodes: list[Any]) -> str:
        """Wiki markup for the inline ADF ``nodes``."""
        out: list[str] = []
        self._emit(build_inline(nodes, WIKI_MARKS, _HOISTED), out, None, None, False, frozenset())
        return "".join(out)

    def _emit(
        self, nodes: list[Inline], out: list[str], prev: str | None, nxt: str | None, in_label: bool, open_chars: frozenset[str]
    ) -> None:
        in_url = False  # does the text so far end inside a bare URL?
        for i, node in enumerate(nodes):
            after = nxt
            if i + 1 < len(nodes):
                following = nodes[i + 1]
                after = following.value[:1] or _OTHER if isinstance(following, Leaf) and following.kind == "text" else _OTHER
            if isinstance(node, Leaf):
                piece = self._leaf(node, prev, after, in_label, open_chars)
            else:
                # Jira would read "^x^" right after a bare URL as part of the URL.
                piece = self._span(node, _OTHER if in_url else prev, after, in_label, open_chars, braced=in_url)
            if piece:
                out.append(piece)
                prev = piece[-1]
                in_url = isinstance(node, Leaf) and node.kind == "text" and _URL_AT_END.search(piece) is not None

    def _leaf(self, leaf: Leaf, prev: str | None, nxt: str | None, in_label: bool, open_chars: frozenset[str]) -> str:
        if leaf.kind == "text":
            return self._text(leaf.value, prev, nxt, in_label, open_chars)
        if leaf.kind == "code":
            body = re.sub(r"\\(?=[!-/:-@\[-`{-~]|$)", r"\\\\", leaf.value)
            return "{{" + body.replace("}", "\\}").replace("\n", " ") + "}}"
        if leaf.kind == "break":
            return " \\\\ " if self.single_line else "\n"
        node = leaf.node or {}
        k = kind(node)
        a = attrs(node)
        if k == "mention":
            if a.get("username"):
                return f"[~{a['username']}]"
            if a.get("id"):
                return f"[~accountid:{a['id']}]"
        text = atom_text(node) if k != "mention" else str(a.get("text") or "@someone")
        return self._text(text if text is not None else f"[{k or 'unknown'}]", prev, nxt, in_label, open_chars)

    def _span(
        self, span: Span, prev: str | None, nxt: str | None, in_label: bool, open_chars: frozenset[str], braced: bool = False
    ) -> str:
        t = span.mark.get("type")
        if t == "link":
            inner_parts: list[str] = []
            self._emit(span.children, inner_parts, "[", "|", True, open_chars)
            inner = "".join(inner_parts)
            href = str(attrs(span.mark).get("href"))
            if in_label:
                return inner
            only = span.children[0] if len(span.children) == 1 else None
            if isinstance(only, Leaf) and only.kind == "text" and only.value == href and "|" not in href and "]" not in href:
                return f"[{href}]"
            return f"[{inner}|{href}]"
        if t == "subsup":
            delimiter = "^" if attrs(span.mark).get("type") == "sup" else "~"
        else:
            delimiter = _DELIMITER.get(str(t), "")
        inner_parts = []
        self._emit(span.children, inner_parts, _OTHER, _OTHER, in_label, open_chars | {delimiter})
        inner = "".join(inner_parts)
        if not inner or not delimiter:
            return inner
        plain = (
            not md_space(inner[0])
            and not md_space(inner[-1])
            and delimiter not in (inner[0], inner[-1], prev, nxt)
            and (prev is None or not prev.isalnum())
            and not (prev == "[" and delimiter in "^~")  # "[^x" and "[~x" are attachment/mention links
            and (nxt is None or not nxt.isalnum())
        )
        candidate = f"{delimiter}{inner}{delimiter}"
        # At a line start "*#x*" or "----" would read as a list or a rule.
        line_start_risk = prev in (None, "\n") and delimiter in "*-" and inner[0] in "*#-"
        if plain and not braced and not line_start_risk:
            return candidate
        return f"{{{delimiter}}}{inner}{{{delimiter}}}"

    def _text(self, text: str, prev: str | None, nxt: str | None, in_label: bool, open_chars: frozenset[str]) -> str:
        out: list[str] = []
        n = len(text)
        for i, ch in enumerate(text):
            before = text[i - 1] if i else prev
            after = text[i + 1] if i + 1 < n else nxt
            if ch == "\\":
                out.append("&#92;" if after is None or after == _OTHER or _is_ascii_punct(after) else "\\")
                continue
            if ch == "&" and _ENTITY.match(text, i):
                out.append("&#38;")
                continue
            if ch in "{}[]" or (ch == "|" and (self.table or in_label)):
                escape = True
            elif ch in _MARK_CHARS:
                could_open = (before is None or not before.isalnum()) and after is not None and not md_space(after)
                could_close = before is not None and not md_space(before) and (after is None or not after.isalnum())
                escape = could_open or (could_close and ch in open_chars) or before == ch or after == ch
            elif ch == "?":
                escape = after == "?" or after is None or after == _OTHER
            elif ch == "!":
                escape = after is not None and not md_space(after)
            else:
                escape = False
            out.append("\\" + ch if escape else ch)
        return "".join(out)


def _is_ascii_punct(ch: str) -> bool:
    return len(ch) == 1 and ch.isascii() and not ch.isalnum() and not ch.isspace() and ch.isprintable()
