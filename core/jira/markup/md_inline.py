"""Render ADF inline content as Markdown (CommonMark + GFM strikethrough/tables).

Text is escaped just enough that markdown-it reads it back as the same text: a
character is escaped only where it could start markup. Emphasis uses ``*``/``**``/``~~``
when CommonMark's flanking rules let the delimiters work at that spot, and falls back to
the equivalent HTML tag (``<strong>``...) otherwise, which our parser maps back to the
mark. Underline and sub/superscript have no Markdown syntax and always use tags.
"""

from __future__ import annotations

import re
from typing import Any

from markdown_it.common.utils import isMdAsciiPunct, isPunctChar

from jiraplug.jira.markup.inline_tree import Inline, Leaf, Span, build_inline, md_space, unwrap_inline
from jiraplug.jira.markup.md_parser import autolink, markdown_parser
from jiraplug.jira.markup.nodes import atom_text, attrs, kind

MD_MARKS = frozenset({"link", "strong", "em", "strike", "underline", "subsup", "code"})
_HOISTED = frozenset({"strong", "em", "strike"})
_DELIMITERS = {"strong": ("**", "__"), "em": ("*", "_"), "strike": ("~~",)}
_TAGS = {"strong": "strong", "em": "em", "strike": "del", "underline": "u"}

#: Stand-in for "some punctuation we have not rendered yet" (a following span's opener,
#: which may be the "[" of a link).
_PUNCT = "\x00"
#: Stand-in for "the closing delimiter of the span we are in" ("**", "</u>", "]("...):
#: punctuation too, but never "[", so a "!" before it cannot start an image.
_CLOSE = "\x01"

_ENTITY = re.compile(r"&(?:#[0-9]{1,7}|#[xX][0-9a-fA-F]{1,6}|[A-Za-z][A-Za-z0-9]{0,31});")
_SPECIAL = re.compile(r"[\\`\[\]*_~<&!]")
_AUTOLINK = re.compile(r"^[A-Za-z][A-Za-z0-9+.\-]{1,31}:[^\s<>\x00-\x1f]*$")
_EMAIL = re.compile(r"^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~\-]+@[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?)*$")
_ASCII_PUNCT = frozenset(chr(c) for c in range(128) if isMdAsciiPunct(c))


def is_punct(ch: str | None) -> bool:
    """Punctuation as CommonMark's flanking rules see it (our placeholder counts)."""
    return ch is not None and (ch in (_PUNCT, _CLOSE) or isMdAsciiPunct(ord(ch)) or isPunctChar(ch))


def escape_text(text: str, *, in_label: bool = False, prev: str | None = None, nxt: str | None = None) -> str:
    """Escape ``text`` so that Markdown reads it back literally.

    ``prev``/``nxt`` are the characters rendered around ``text`` (``None`` when unknown:
    then anything is assumed). Line-start constructs (``#``, ``-``, ``1.``...) are the
    block renderer's job.
    """

    def fix(match: re.Match[str]) -> str:
        ch = match.group()
        i = match.start()
        before = text[i - 1] if i else prev
        after = text[i + 1] if i + 1 < len(text) else nxt
        follows = after  # the "!" rule needs to know an opener from a closer
        if before in (_PUNCT, _CLOSE):
            before = None
        if after in (_PUNCT, _CLOSE):
            after = None
        if ch == "\\":
            escape = after is None or after == "\n" or after in _ASCII_PUNCT
        elif ch == "`":
            escape = True
        elif ch == "[":
            escape = in_label or _may_open_link(text, i, nxt)
        elif ch == "]":
            escape = in_label
        elif ch == "*":
            escape = not (before is not None and after is not None and md_space(before) and md_space(after))
        elif ch == "_":
            escape = not (
                before is not None
                and after is not None
                and ((md_space(before) and md_space(after)) or (before.isalnum() and after.isalnum()))
            )
        elif ch == "~":
            escape = before in (None, "~") or after in (None, "~")
        elif ch == "<":
            escape = after is None or after.isalpha() or after in "/!?"
        elif ch == "&":
            escape = _ENTITY.match(text, i) is not None
        else:  # "!": only "[" right after it makes an image (a following span may open with one)
            escape = follows in ("[", _PUNCT)
        return "\\" + ch if escape else ch

    return _SPECIAL.sub(fix, text)


def _may_open_link(text: str, i: int, nxt: str | None) -> bool:
    """Could the ``[`` at ``text[i]`` start a link, an image, a link definition or an alert?

    The first ``]`` after it closes it (when no other ``[`` comes between), and only a
    ``]`` followed by ``(``, ``[`` or ``:`` makes a link of it: we never write link
    definitions, so ``[In progress]`` alone stays text. ``nxt`` is the character after
    ``text`` (``None``: nothing follows); an unknown one is assumed to make a link.
    """
    if text[i + 1 : i + 2] == "!":
        return True  # "[!INFO]" opens a panel
    close = text.find("]", i + 1)
    if close < 0:
        return nxt is not None  # the "]" may come in a later node
    if "[" in text[i + 1 : close]:
        return True
    after = text[close + 1] if close + 1 < len(text) else nxt
    return after is not None and after in "([:" + _PUNCT + _CLOSE


def code_span(text: str) -> str:
    """Render ``text`` as an inline code span (backtick fence longer than any run inside)."""
    text = text.replace("\r\n", " ").replace("\n", " ")
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * (longest + 1)
    pad = ""
    if text.startswith("`") or text.endswith("`") or (text[:1] == " " and text[-1:] == " " and text.strip(" ")):
        pad = " "
    return f"{fence}{pad}{text}{pad}{fence}"


def table_cell(markdown: str) -> str:
    """Inline Markdown as a table cell's source: GFM splits cells at every "|" not right
    after a backslash (and drops that backslash) before it parses anything inline."""
    return markdown.replace("|", "\\|")


def link_destination(href: str) -> str:
    """A link destination, in ``<...>`` when it holds spaces, parentheses or brackets."""
    if href and not re.search(r"[\s()<>\\]", href):
        return _escape_entities(href)
    return "<" + _escape_entities(re.sub(r"([<>\\])", r"\\\1", href.replace("\n", "%0A"))) + ">"


def _escape_entities(text: str) -> str:
    """Markdown decodes ``&amp;`` even in link destinations and titles: keep it literal."""
    return _ENTITY.sub(lambda m: "\\" + m.group(), text)


def mention_markdown(node: dict[str, Any]) -> str:
    """A mention as ``@[Display Name](accountid:ID)`` (``user:NAME`` for Data Center users)."""
    a = attrs(node)
    ident = str(a.get("id") or "")
    username = a.get("username")
    label = str(a.get("text") or "").removeprefix("@") or str(username or ident) or "someone"
    scheme = f"user:{username}" if username else f"accountid:{ident}"
    return f"@[{escape_text(label, in_label=True)}]({link_destination(scheme)})"


class InlineRenderer:
    """Renders one run of inline content; ``table``/``heading`` select ``<br>`` line breaks."""

    def __init__(self, *, table: bool = False, heading: bool = False) -> None:
        self.table = table
        self.single_line = table or heading

    def render(self, nodes: list[Any]) -> str:
        """Markdown for the inline ADF ``nodes``."""
        tree = build_inline(autolink(unwrap_inline(nodes)), MD_MARKS, _HOISTED)
        out: list[str] = []
        self._emit(tree, out, prev=None, nxt=None, in_label=False)
        return table_cell("".join(out)) if self.table else "".join(out)

    # ------------------------------------------------------------------ internals

    def _emit(self, nodes: list[Inline], out: list[str], prev: str | None, nxt: str | None, in_label: bool) -> None:
        # Leaves other than text render the same anywhere: do them first, so that text and
        # spans can look at the character that will follow them.
        fixed = [self._leaf(n, in_label) if isinstance(n, Leaf) and n.kind != "text" else None for n in nodes]
        for i, node in enumerate(nodes):
            after = nxt
            if i + 1 < len(nodes):
                following = nodes[i + 1]
                if isinstance(following, Leaf) and following.kind == "text":
                    after = following.value[0]  # escaped or not, it classifies the same
                else:
                    after = (fixed[i + 1] or _PUNCT)[0]
            if isinstance(node, Leaf):
                if node.kind == "text":
                    piece = escape_text(node.value, in_label=in_label, prev=prev, nxt=after)
                else:
                    piece = fixed[i] or ""
            else:
                piece = self._span(node, prev, after, in_label)
            if piece:
                out.append(piece)
                prev = piece[-1]

    def _leaf(self, leaf: Leaf, in_label: bool) -> str:
        if leaf.kind == "code":
            return code_span(leaf.value)
        if leaf.kind == "break":
            return "<br>" if self.single_line else "\n"
        node = leaf.node or {}
        k = kind(node)
        if k == "mention":
            if in_label:  # no links inside link text
                return escape_text(str(attrs(node).get("text") or "@someone"), in_label=True)
            return mention_markdown(node)
        text = atom_text(node)
        if text is None:
            text = f"[{k or 'unknown'}]"
        return escape_text(text, in_label=in_label, nxt=_PUNCT)  # rendered before its neighbours are known

    def _span(self, span: Span, prev: str | None, nxt: str | None, in_label: bool) -> str:
        t = span.mark.get("type")
        if t == "link":
            return self._link(span, in_label)
        inner_parts: list[str] = []
        self._emit(span.children, inner_parts, prev=_PUNCT, nxt=_CLOSE, in_label=in_label)
        inner = "".join(inner_parts)
        if not inner:
            return ""
        for delimiter in _DELIMITERS.get(str(t), ()):
            if _can_wrap(delimiter, inner, prev, nxt):
                return f"{delimiter}{inner}{delimiter}"
        if t == "subsup":
            tag = "sup" if attrs(span.mark).get("type") == "sup" else "sub"
        else:
            tag = _TAGS.get(str(t), "span")
        return f"<{tag}>{inner}</{tag}>"

    def _link(self, span: Span, in_label: bool) -> str:
        inner_parts: list[str] = []
        self._emit(span.children, inner_parts, prev=_PUNCT, nxt=_CLOSE, in_label=True)
        inner = "".join(inner_parts)
        if in_label or not inner:
            return inner
        a = attrs(span.mark)
        href = str(a.get("href"))
        only = span.children[0] if len(span.children) == 1 else None
        if isinstance(only, Leaf) and only.kind == "text" and not a.get("title"):
            if _AUTOLINK.match(only.value) and _autolink_round_trips(only.value, href):
                return f"<{only.value}>"
            if _EMAIL.match(only.value) and markdown_parser().normalizeLink("mailto:" + only.value) == href:
                return f"<{only.value}>"
        title = a.get("title")
        suffix = ""
        if isinstance(title, str) and title:
            suffix = ' "' + _escape_entities(re.sub(r'(["\\])', r"\\\1", title)) + '"'
        return f"[{inner}]({link_destination(href)}{suffix})"


def _autolink_round_trips(text: str, href: str) -> bool:
    """Would ``<text>`` parse back as a link to ``href`` showing ``text``?"""
    md = markdown_parser()  # the parser owns URL normalisation
    return md.normalizeLink(text) == href and md.normalizeLinkText(text) == text


def _can_wrap(delimiter: str, inner: str, prev: str | None, nxt: str | None) -> bool:
    """Would ``delimiter + inner + delimiter`` parse back as one emphasis span here?"""
    c = delimiter[0]
    first, last = inner[0], inner[-1]
    if md_space(first) or md_space(last):
        return False
    # Never let our delimiters touch the same character: runs would merge.
    if c in (first, last) or prev == c or nxt == c:
        return False
    before_ok = prev is None or md_space(prev) or is_punct(prev)
    after_ok = nxt is None or md_space(nxt) or is_punct(nxt)
    if is_punct(first) and not before_ok:
        return False
    if is_punct(last) and not after_ok:
        return False
    if c == "_" and not (before_ok and after_ok):
        return False  # "_" cannot open or close inside a word
    return True
