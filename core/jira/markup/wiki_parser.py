"""Jira wiki markup to an ADF tree: a small line-based block scanner plus an inline tokenizer.

Covers what Jira's renderer documents for text: ``h1.``-``h6.``, ``bq.``, ``{quote}``,
``{code[:lang]}``, ``{noformat}``, ``{panel}``/``{info}``/``{note}``/``{warning}``/``{tip}``,
``*``/``-``/``#`` lists (nested, mixed), ``||header||`` and ``|cell|`` tables, ``----``,
``*strong*``, ``_em_``, ``-strike-``, ``+underline+``, ``^sup^``, ``~sub~``, ``??cite??``, the
braced forms ``{*}x{*}``, ``{{monospace}}``, ``[text|url]``, ``[url]``, ``[~user]``,
``[~accountid:ID]``, ``[^attachment]``, ``!image!``, ``\\\\`` line breaks, backslash escapes,
numeric entities and bare URLs. Unknown macros stay as literal text.
"""

from __future__ import annotations

import html
import re
from bisect import bisect_left
from typing import Any

from jiraplug.jira.markup.nodes import Node, merge_text, safe_href, text_node, tidy_lines

#: Wiki macro to ADF panel type, by colour.
PANEL_TYPES = {"info": "info", "note": "warning", "warning": "error", "tip": "success"}
_MACRO = re.compile(r"\s*\{(code|noformat|quote|panel|info|note|warning|tip)(?::([^}]*))?\}")  # at a given position
_NONBLANK = re.compile(r"\S")
_HEADING = re.compile(r"^\s*h([1-6])\.\s?(.*)$")
_BQ = re.compile(r"^\s*bq\.\s?(.*)$")
_RULE = re.compile(r"^\s*-{4,}\s*$")
_LIST = re.compile(r"^\s*([*#]+|-)[ \t]+(.*)$")
_MARKS: dict[str, dict[str, Any]] = {
    "*": {"type": "strong"},
    "_": {"type": "em"},
    "??": {"type": "em"},
    "-": {"type": "strike"},
    "+": {"type": "underline"},
    "^": {"type": "subsup", "attrs": {"type": "sup"}},
    "~": {"type": "subsup", "attrs": {"type": "sub"}},
}
_BRACED = re.compile(r"\{(\*|_|-|\+|\^|~|\?\?)\}")
_URL = re.compile(r"(?:https?|ftp)://[^\s\[\]|{}<>\"\\]+|mailto:[^\s\[\]|{}<>\"\\]+")
_IMAGE = re.compile(r"!([^\s!|][^!|\n]*?)(?:\|[^!\n]*)?!")
_ENTITY = re.compile(r"&#(\d{1,7}|[xX][0-9a-fA-F]{1,6});")
_COLOR = re.compile(r"\{color(?::[^}]*)?\}")
_LINK_TARGET = re.compile(r"\s*(?:[a-z][a-z0-9+.\-]*:|#|www\.)", re.IGNORECASE)
#: What :func:`safe_href` looks at to find a scheme: scheme characters and the invisible
#: ones it ignores, up to a colon.
_SCHEME_AREA = re.compile(r"\s*[a-z0-9+.\-\x00-\x20\x7f]*:?", re.IGNORECASE)
_ASCII_PUNCT = frozenset("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")


def parse_wiki(text: str) -> dict[str, Any]:
    """Parse wiki markup into an ADF ``doc`` (not schema-checked; for rendering)."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return {"type": "doc", "version": 1, "content": _parse_blocks(lines)}


def _parse_blocks(lines: list[str]) -> list[Node]:
    blocks: list[Node] = []
    para: list[str] = []
    unclosed: dict[str, int] = {}  # macro closer -> a line from which on it is known absent
    i = 0
    offset = 0  # where line i starts: after a macro closed on it, what follows is the next "line"

    def flush() -> None:
        if para:
            blocks.append({"type": "paragraph", "content": parse_inline("\n".join(para))})
            para.clear()

    while i < len(lines):
        line = lines[i]
        if not offset and not line.strip():
            flush()
            i += 1
            continue
        macro = _MACRO.match(line, offset)
        if macro:
            found = _macro_block(lines, i, macro, unclosed)
            if found is not None:
                flush()
                node, i, offset = found
                blocks.append(node)
                continue
        if offset:  # sliced once, when no macro follows: "{code}{code}..." is not recopied per macro
            line = lines[i] = line[offset:]  # the block scans below read lines[i]
            offset = 0
        if (m := _HEADING.match(line)) is not None:
            flush()
            blocks.append({"type": "heading", "attrs": {"level": int(m.group(1))}, "content": parse_inline(m.group(2))})
        elif (m := _BQ.match(line)) is not None:
            flush()
            blocks.append({"type": "blockquote", "content": [{"type": "paragraph", "content": parse_inline(m.group(1))}]})
        elif _RULE.match(line):
            flush()
            blocks.append({"type": "rule"})
        elif _LIST.match(line):
            flush()
            j = i
            while j < len(lines) and _LIST.match(lines[j]):
                j += 1
            blocks.extend(_lists([_LIST.match(x).groups() for x in lines[i:j]]))  # type: ignore[union-attr]
            i = j
            continue
        elif line.lstrip().startswith("|"):
            flush()
            j = i
            while j < len(lines) and lines[j].lstrip().startswith("|"):
                j += 1
            blocks.append({"type": "table", "content": [_row(x.strip()) for x in lines[i:j]]})
            i = j
            continue
        else:
            para.append(line)
        i += 1
    flush()
    return blocks


def _macro_block(
    lines: list[str], start: int, opener: re.Match[str], unclosed: dict[str, int]
) -> tuple[Node, int, int] | None:
    """A ``{macro}...{macro}`` block opening on line ``start``; ``None`` if never closed.

    Returns the node, and the line and offset where parsing resumes. ``unclosed``
    remembers closers found absent, so that a page of unclosed openers is read once, not
    once per opener.
    """
    name, params = opener.group(1), opener.group(2) or ""
    closer = "{" + name + "}"
    if unclosed.get(closer, len(lines)) <= start:
        return None
    body: list[str] = []
    for j in range(start, len(lines)):
        line = lines[j]
        begin = opener.end() if j == start else 0
        at = line.find(closer, begin)
        if at < 0:
            body.append(line[begin:])
            continue
        body.append(line[begin:at])
        after = at + len(closer)
        node = _macro_node(name, params, body)
        if _NONBLANK.search(line, after):  # text after the closing tag: parse it as the next line
            return node, j, after
        return node, j + 1, 0
    unclosed[closer] = start
    return None


def _macro_node(name: str, params: str, body: list[str]) -> Node:
    if name in ("code", "noformat"):
        if body and not body[0].strip():
            body = body[1:]
        if body and not body[-1].strip():
            body = body[:-1]
        node: Node = {"type": "codeBlock", "content": [text_node("\n".join(body))] if "".join(body) else []}
        language = _language(params) if name == "code" else ""
        if language:
            node["attrs"] = {"language": language}
        return node
    content = _parse_blocks(body)
    title = _param(params, "title")
    if title:
        content.insert(0, {"type": "paragraph", "content": [text_node(title, [{"type": "strong"}])]})
    if name in PANEL_TYPES:
        return {"type": "panel", "attrs": {"panelType": PANEL_TYPES[name]}, "content": content}
    return {"type": "blockquote", "content": content}  # {quote}, and the neutral {panel}


def _language(params: str) -> str:
    explicit = _param(params, "language") or _param(params, "lang")
    if explicit:
        return explicit
    first = params.split("|", 1)[0].strip()
    return first if first and "=" not in first else ""


def _param(params: str, key: str) -> str:
    for part in params.split("|"):
        name, sep, value = part.partition("=")
        if sep and name.strip().lower() == key:
            return value.strip()
    return ""


def _lists(items: list[tuple[str, str]]) -> list[Node]:
    """Nest ``(markers, text)`` list lines (``*``, ``#``, ``**``, ``*#``...) into ADF lists."""
    tops: list[Node] = []
    stack: list[tuple[str, Node]] = []  # per depth: (marker family, list node)
    for markers, text in items:
        families = ["#" if c == "#" else "*" for c in markers]
        keep = 0
        while keep < len(stack) and keep < len(families) and stack[keep][0] == families[keep]:
            keep += 1
        del stack[keep:]
        while len(stack) < len(families):
            family = families[len(stack)]
            node: Node = {"type": "orderedList", "attrs": {"order": 1}, "content": []} if family == "#" else {"type": "bulletList", "content": []}
            if stack:
                parent = stack[-1][1]
                if not parent["content"]:
                    parent["content"].append({"type": "listItem", "content": [{"type": "paragraph", "content": []}]})
                parent["content"][-1]["content"].append(node)
            else:
                tops.append(node)
            stack.append((family, node))
        stack[-1][1]["content"].append({"type": "listItem", "content": [{"type": "paragraph", "content": parse_inline(text)}]})
    return tops


def _row(line: str) -> Node:
    """One table line: ``||`` opens a header cell, ``|`` a plain one."""
    cells: list[Node] = []
    text = _Text(line)
    i = 0
    n = len(line)
    while i < n and line[i] == "|":
        header = line.startswith("||", i)
        i += 2 if header else 1
        start = i
        while i < n and line[i] != "|":
            if line[i] == "\\":
                i += 2
            elif line[i] == "[" or line.startswith("{{", i):
                i = text.skip_to(i)  # a "|" inside a link or monospace does not end the cell
            else:
                i += 1
        i = min(i, n)
        content = line[start:i].strip()
        if i >= n and not content:
            break  # the closing separator
        cells.append(
            {
                "type": "tableHeader" if header else "tableCell",
                "content": [{"type": "paragraph", "content": parse_inline(content)}],
            }
        )
    return {"type": "tableRow", "content": cells}


def parse_inline(text: str) -> list[Node]:
    """Parse a paragraph's (or cell's, heading's) inline wiki markup into ADF inline nodes."""
    return tidy_lines(merge_text(_parse_marked(text, [])))


def _parse_marked(text: str, marks: list[dict[str, Any]]) -> list[Node]:
    """Inline wiki markup inside ``marks`` (a link label, a span of bold...)."""
    out: list[Node] = []
    _Inline(text, marks, out).run()
    return out


class _Inline:
    def __init__(self, text: str, marks: list[dict[str, Any]], out: list[Node]) -> None:
        self.s = text
        self.marks = marks
        self.out = out
        self.buf: list[str] = []
        self.text = _Text(text)
        self.find = self.text.find
        self.closers: dict[str, dict[int, int]] = {}  # token -> walk start -> closer (see _walk)

    def flush(self) -> None:
        if self.buf:
            self.out.append(text_node("".join(self.buf), list(self.marks)))
            self.buf.clear()

    def emit(self, nodes: list[Node]) -> None:
        self.flush()
        self.out.extend(nodes)

    def run(self) -> None:
        s, n, i = self.s, len(self.s), 0
        while i < n:
            ch = s[i]
            step = self.special(i, ch)
            if step:
                i = step
                continue
            self.buf.append(ch)
            i += 1
        self.flush()

    def special(self, i: int, ch: str) -> int:
        """Handle markup at ``i``; return the index after it, or 0 when ``ch`` is plain text."""
        s = self.s
        if ch == "\\":
            nxt = s[i + 1 : i + 2]
            if nxt == "\\":
                self.emit([{"type": "hardBreak"}])
                return i + 2
            if nxt and nxt in _ASCII_PUNCT:
                self.buf.append(nxt)
                return i + 2
            return 0
        if ch == "\n":
            self.emit([{"type": "hardBreak"}])
            return i + 1
        if ch == "&" and (m := _ENTITY.match(s, i)):
            self.buf.append(html.unescape(m.group()))
            return m.end()
        if ch == "{":
            return self.brace(i)
        if ch == "[":
            return self.bracket(i)
        if ch == "!" and (m := _IMAGE.match(s, i)) and re.search(r"[./]", m.group(1)):
            self.image(m.group(1).strip())
            return m.end()
        if ch in "hfm" and (i == 0 or not s[i - 1].isalnum()) and not self.linked() and (m := _URL.match(s, i)):
            url = m.group().rstrip(".,;:!?)'")
            self.link(url, [text_node(url)])
            return i + len(url)
        if ch in "*_-+^~?":
            return self.mark(i)
        return 0

    def _closer(self, token: str, start: int) -> int:
        """Where ``token`` closes the mark whose content starts at ``start`` (same line), or -1."""
        s = self.s
        if start >= len(s) or s[start] == "\n":
            return -1
        if s[start] == "\\":
            return self._walk(token, start + 2)
        if s[start] == "[" or s.startswith("{{", start):
            return self._walk(token, self.text.skip_to(start))
        return self._walk(token, start + 1)  # the content is at least one character

    def _walk(self, token: str, j: int) -> int:
        """The first closing ``token`` at or after ``j``, skipping escapes, links and
        monospace. The walk from a position is always the same, so every position it
        passes is remembered: scanning a line full of would-be openers stays linear."""
        s, n, width = self.s, len(self.s), len(token)
        memo = self.closers.setdefault(token, {})
        path: list[int] = []
        found = -1
        while j < n:
            if j in memo:
                found = memo[j]
                break
            path.append(j)
            ch = s[j]
            if ch == "\n":
                break
            if ch == "\\":
                j += 2
            elif ch == "[" or s.startswith("{{", j):
                j = self.text.skip_to(j)
            elif s.startswith(token, j) and not s[j - 1].isspace():
                tail = s[j + width : j + width + 1]
                if not tail.isalnum() and tail != token[0]:
                    found = j
                    break
                j += 1
            else:
                j += 1
        for position in path:
            memo[position] = found
        return found

    def linked(self) -> bool:
        return any(m["type"] == "link" for m in self.marks)

    def brace(self, i: int) -> int:
        s = self.s
        if s.startswith("{{", i):
            end = self.find("}}", i + 2)
            if end < 0:
                return 0
            code = re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", s[i + 2 : end])
            if code:
                links = [m for m in self.marks if m["type"] == "link"]
                self.emit([text_node(code, [{"type": "code"}, *links])])
            return end + 2
        if (m := _BRACED.match(s, i)) is not None:
            token = m.group()
            end = self.find(token, m.end())
            if end > m.end():
                self.emit(_parse_marked(s[m.end() : end], [*self.marks, _MARKS[m.group(1)]]))
                return end + len(token)
            return 0
        if (m := _COLOR.match(s, i)) is not None:
            end = self.find("{color}", m.end())
            if end >= 0:
                self.emit(_parse_marked(s[m.end() : end], self.marks))
                return end + len("{color}")
            return 0
        if s.startswith("{anchor:", i) and (close := self.text.next_plain("}", i)) < len(s):
            self.flush()
            return close + 1
        return 0

    def bracket(self, i: int) -> int:
        # Nothing is copied or scanned past the "]" unless the bracket is consumed: a line
        # of "[" must cost as little per character as plain text.
        s = self.s
        end = self.find("]", i + 1)
        if end < 0 or self.text.next_plain("\n", i) < end:
            return 0
        if s.startswith("~", i + 1):
            who = s[i + 2 : end].strip()
            if not who:
                return 0
            if who.lower().startswith("accountid:"):
                ident = who[len("accountid:") :]
                self.emit([{"type": "mention", "attrs": {"id": ident, "text": "@" + ident}}])
            else:
                self.emit([{"type": "mention", "attrs": {"id": who, "text": "@" + who, "username": who}}])
            return end + 1
        if s.startswith("^", i + 1):
            self.emit([{"type": "mediaInline", "attrs": {"alt": s[i + 2 : end].strip()}}])
            return end + 1
        bar = self.find("|", i + 1)
        if 0 <= bar < end:
            label, url = s[i + 1 : bar], s[bar + 1 : end].split("|", 1)[0].strip()
            href = safe_href(url)
            if href is None or self.linked():
                self.emit(_parse_marked(label, self.marks))
            else:
                self.emit(_parse_marked(label, [*self.marks, {"type": "link", "attrs": {"href": href}}]))
            return end + 1
        if _LINK_TARGET.match(s, i + 1, end) is None:
            return 0
        area = _SCHEME_AREA.match(s, i + 1, end)
        if area is None or safe_href(area.group() + "x") is None:  # the scheme decides
            return 0
        target = s[i + 1 : end].strip()
        self.link(target, [text_node(target)])
        return end + 1

    def image(self, source: str) -> None:
        href = safe_href(source) if re.match(r"^https?://", source) else None
        if href and not self.linked():
            self.link(href, [text_node(source)])
        else:
            self.emit([{"type": "mediaInline", "attrs": {"alt": source}}])

    def link(self, href: str, label: list[Node]) -> None:
        if self.linked():
            self.emit([text_node(n["text"], list(self.marks)) for n in label])
            return
        mark = {"type": "link", "attrs": {"href": href}}
        self.emit([text_node(n["text"], [*self.marks, mark]) for n in label])

    def mark(self, i: int) -> int:
        s = self.s
        token = "??" if s.startswith("??", i) else s[i]
        if token == "?":
            return 0
        width = len(token)
        before = s[i - 1] if i else ""
        after = s[i + width : i + width + 1]
        if before.isalnum() or not after or after.isspace() or after == token[0]:
            return 0
        j = self._closer(token, i + width)
        if j < 0:
            return 0
        self.emit(_parse_marked(s[i + width : j], [*self.marks, _MARKS[token]]))
        return j + width


class _Text:
    """One string with the lookups the parser repeats: where the next unescaped ``]``
    (``}}``, ``|``, ``{*}``...) or the next plain ``\n`` is.

    Each needle's positions are listed once and then found by bisection, so that asking
    from every position of a hostile line (``"[" * 100000``) stays linear, not quadratic.
    """

    def __init__(self, s: str) -> None:
        self.s = s
        self._unescaped: dict[str, list[int]] = {}
        self._plain: dict[str, list[int]] = {}

    def find(self, needle: str, start: int) -> int:
        """The first ``needle`` at or after ``start`` not escaped by a backslash, or -1.

        Callers start right after an opening ``[`` or ``{``, never inside a run of
        backslashes, so escapes are counted over the whole string.
        """
        positions = self._unescaped.get(needle)
        if positions is None:
            positions = self._unescaped[needle] = _unescaped_positions(self.s, needle)
        k = bisect_left(positions, start)
        return positions[k] if k < len(positions) else -1

    def next_plain(self, needle: str, start: int) -> int:
        """The first ``needle`` at or after ``start``, escaped or not (``len(s)`` if none)."""
        positions = self._plain.get(needle)
        if positions is None:
            positions = self._plain[needle] = [m.start() for m in re.finditer(re.escape(needle), self.s)]
        k = bisect_left(positions, start)
        return positions[k] if k < len(positions) else len(self.s)

    def skip_to(self, i: int) -> int:
        """Index after a ``[...]`` link or ``{{...}}`` starting at ``i`` (marks cannot close inside)."""
        if self.s.startswith("{{", i):
            end = self.find("}}", i + 2)
            return end + 2 if end >= 0 else i + 1
        end = self.find("]", i + 1)
        return end + 1 if end >= 0 and self.next_plain("\n", i) >= end else i + 1


def _unescaped_positions(s: str, needle: str) -> list[int]:
    """Every occurrence of ``needle`` in ``s`` not preceded by an odd run of backslashes."""
    positions: list[int] = []
    at = s.find(needle)
    while at >= 0:
        backslashes = 0
        k = at - 1
        while k >= 0 and s[k] == "\\":
            backslashes += 1
            k -= 1
        if backslashes % 2 == 0:
            positions.append(at)
        at = s.find(needle, at + 1)
    return positions
