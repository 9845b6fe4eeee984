"""Markdown to ADF (Atlassian Document Format), through markdown-it-py.

Syntax understood: CommonMark, GFM tables and strikethrough, bare URLs as links, GitHub
alerts (``> [!INFO]``, also ``NOTE``/``TIP``/``WARNING``/``ERROR``/``SUCCESS``/
``IMPORTANT``/``CAUTION``) as panels, mentions written ``@[Name](accountid:ID)``, and a
few inline HTML tags mapped to marks (``<u>``, ``<ins>``, ``<sub>``, ``<sup>``, ``<s>``,
``<del>``, ``<strong>``/``<b>``, ``<em>``/``<i>``, ``<br>``). Any other HTML is kept as
literal text: nothing passes through as markup. Links with a scheme outside
:data:`~jiraplug.jira.markup.nodes.SAFE_SCHEMES` (``javascript:``...) keep only their
text. A single line break inside a paragraph is kept as a line break, as GitHub and Jira
show it. Every document produced validates against the ADF JSON schema.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from markdown_it.token import Token

from jiraplug.jira.markup.md_parser import autolink, markdown_parser
from jiraplug.jira.markup.nodes import Node, merge_text, safe_href, text_node, tidy_lines
from jiraplug.jira.markup.schema_fit import fit

_TAG = re.compile(r"^<(/?)([A-Za-z]+)\s*(/?)>$")
_TAG_MARKS: dict[str, dict[str, Any]] = {
    "u": {"type": "underline"},
    "ins": {"type": "underline"},
    "strong": {"type": "strong"},
    "b": {"type": "strong"},
    "em": {"type": "em"},
    "i": {"type": "em"},
    "s": {"type": "strike"},
    "del": {"type": "strike"},
    "strike": {"type": "strike"},
    "sub": {"type": "subsup", "attrs": {"type": "sub"}},
    "sup": {"type": "subsup", "attrs": {"type": "sup"}},
}
_TOKEN_MARKS = {"strong": {"type": "strong"}, "em": {"type": "em"}, "s": {"type": "strike"}}
_MENTION_SCHEMES = ("accountid:", "user:")


def markdown_to_adf(markdown: str) -> dict[str, Any]:
    """Convert Markdown to a complete ADF document (``{"type": "doc", "version": 1, ...}``)."""
    return convert(markdown, usernames=False)


def convert(markdown: str | None, *, usernames: bool) -> dict[str, Any]:
    """Markdown to ADF; with ``usernames`` a ``@[x](user:NAME)`` mention is kept as a mention
    carrying ``attrs.username`` (for wiki output), else it becomes plain text."""
    if markdown is None:
        markdown = ""
    if not isinstance(markdown, str):
        raise TypeError(f"markdown must be a str, got {type(markdown).__name__}")
    tree = block_tree(markdown_parser().parse(markdown))
    return {"type": "doc", "version": 1, "content": _Blocks(usernames).convert(tree)}


@dataclass(slots=True)
class BlockNode:
    """A block of markdown-it's token stream: its opening (or only) token and its children.

    Inline tokens stay flat (``token.children``). markdown-it's own ``SyntaxTreeNode``
    also nests those, recursively, one level per emphasis: ``"*" * 2000`` would exhaust
    the stack. Block nesting is bounded by the parser's ``maxNesting``.
    """

    token: Token
    children: list[BlockNode] = field(default_factory=list)

    @property
    def type(self) -> str:
        """``paragraph``, ``bullet_list``, ``fence``, ``inline``... (``_open`` dropped)."""
        return self.token.type.removesuffix("_open")


def block_tree(tokens: list[Token]) -> list[BlockNode]:
    """Nest markdown-it's flat block tokens by their open/close pairs."""
    root: list[BlockNode] = []
    stack: list[list[BlockNode]] = [root]
    for token in tokens:
        if token.nesting < 0:
            if len(stack) > 1:
                stack.pop()
            continue
        node = BlockNode(token)
        stack[-1].append(node)
        if token.nesting > 0:
            stack.append(node.children)
    return root


class _Blocks:
    def __init__(self, usernames: bool) -> None:
        self.inline = _Inline(usernames)

    def convert(self, nodes: list[BlockNode]) -> list[Node]:
        out: list[Node] = []
        for node in nodes:
            out.extend(self.block(node))
        return out

    def block(self, node: BlockNode) -> list[Node]:
        t = node.type
        token = node.token
        if t == "paragraph":
            content = self._inline(node)
            return [{"type": "paragraph", "content": content}] if content else []
        if t == "heading":
            level = int(token.tag[1]) if token.tag[1:].isdigit() else 1
            return [{"type": "heading", "attrs": {"level": level}, "content": self._inline(node)}]
        if t in ("fence", "code_block"):
            return [_code_block(token.content, token.info if t == "fence" else "")]
        if t in ("bullet_list", "ordered_list"):
            return [self._list(node)]
        if t == "blockquote":
            content = self.convert(node.children)
            panel = (token.meta or {}).get("panel")
            if panel:
                return [{"type": "panel", "attrs": {"panelType": panel}, "content": fit(content, "panel")}]
            return [{"type": "blockquote", "content": fit(content, "blockquote")}]
        if t == "hr":
            return [{"type": "rule"}]
        if t == "table":
            return [self._table(node)]
        if t == "html_block":
            return [_literal_paragraph(token.content)]
        # Anything else a plugin may add: keep its text rather than lose it.
        return self.convert(node.children) if node.children else [_literal_paragraph(token.content)]

    def _inline(self, node: BlockNode) -> list[Node]:
        inline = node.children[0] if node.children else None
        tokens = inline.token.children if inline is not None else None
        return self.inline.convert(tokens or [])

    def _list(self, node: BlockNode) -> Node:
        items = [{"type": "listItem", "content": fit(self.convert(item.children), "listItem")} for item in node.children]
        if node.type == "bullet_list":
            return {"type": "bulletList", "content": items}
        start = node.token.attrGet("start")
        return {"type": "orderedList", "attrs": {"order": int(start) if start is not None else 1}, "content": items}

    def _table(self, node: BlockNode) -> Node:
        rows: list[Node] = []
        for section in node.children:  # thead, tbody
            for row in section.children:
                cells = [
                    {
                        "type": "tableHeader" if cell.type == "th" else "tableCell",
                        "content": [{"type": "paragraph", "content": self._inline(cell)}],
                    }
                    for cell in row.children
                ]
                rows.append({"type": "tableRow", "content": cells})
        return {"type": "table", "attrs": {"isNumberColumnEnabled": False, "layout": "center"}, "content": rows}


def _code_block(text: str, info: str) -> Node:
    language = info.strip().split(maxsplit=1)[0] if info.strip() else ""
    language = language if re.fullmatch(r"[\w+#.\-]+", language) else ""  # a name, not markup
    text = text[:-1] if text.endswith("\n") else text
    node: Node = {"type": "codeBlock", "content": [text_node(text)] if text else []}
    if language:
        node["attrs"] = {"language": language}
    return node


def _literal_paragraph(text: str) -> Node:
    """Raw text (an HTML block, say) as a paragraph, line breaks kept, nothing interpreted."""
    content: list[Node] = []
    lines = [line.strip(" \t") for line in text.strip().split("\n")]
    for i, line in enumerate(lines):
        if i:
            content.append({"type": "hardBreak"})
        if line:
            content.append(text_node(line))
    return {"type": "paragraph", "content": autolink(tidy_lines(content))}


class _Inline:
    """Flat markdown-it inline tokens to ADF inline nodes, tracking the open marks."""

    def __init__(self, usernames: bool) -> None:
        self.usernames = usernames

    def convert(self, tokens: list[Token]) -> list[Node]:
        out: list[Node] = []
        marks = OpenMarks()
        links: list[dict[str, Any] | None] = []  # per open link: its mark, or None
        mention: dict[str, Any] | None = None  # an open @[..](accountid:..) being collected
        paired = _paired_tags(tokens)
        for index, token in enumerate(tokens):
            t = token.type
            if mention is not None:
                if t == "link_close":
                    self._mention(out, marks, mention)
                    mention = None
                elif t in ("text", "text_special", "code_inline"):
                    mention["label"].append(token.content)
                continue
            if t in ("text", "text_special"):
                self._text(out, token.content, marks)
            elif t in ("softbreak", "hardbreak"):
                out.append({"type": "hardBreak"})
            elif t == "code_inline":
                if token.content:
                    out.append(text_node(token.content, [{"type": "code"}, *marks.of_type("link")]))
            elif t.endswith("_open") and t[:-5] in _TOKEN_MARKS:
                marks.push(dict(_TOKEN_MARKS[t[:-5]]))
            elif t.endswith("_close") and t[:-6] in _TOKEN_MARKS:
                marks.pop(_TOKEN_MARKS[t[:-6]]["type"])
            elif t == "link_open":
                href = str(token.attrGet("href") or "")
                if href.lower().startswith(_MENTION_SCHEMES):
                    mention = {"href": href, "label": []}
                    continue
                link = self._link_mark(href, token.attrGet("title"), marks)
                links.append(link)
                if link is not None:
                    marks.push(link)
            elif t == "link_close":
                link = links.pop() if links else None
                if link is not None:
                    marks.pop("link")
            elif t == "image":
                self._image(out, token, marks)
            elif t == "html_inline":
                self._html(out, token.content, marks, paired.get(index))
        return autolink(tidy_lines(merge_text(out)))

    def _text(self, out: list[Node], text: str, marks: OpenMarks, extra: dict[str, Any] | None = None) -> None:
        if text:
            out.append(text_node(text, marks.active(extra)))

    def _link_mark(self, href: str, title: Any, marks: OpenMarks) -> dict[str, Any] | None:
        safe = safe_href(href)
        if safe is None or marks.of_type("link"):
            return None
        mark_attrs: dict[str, Any] = {"href": safe}
        if isinstance(title, str) and title:
            mark_attrs["title"] = title
        return {"type": "link", "attrs": mark_attrs}

    def _mention(self, out: list[Node], marks: OpenMarks, mention: dict[str, Any]) -> None:
        scheme, _, ident = mention["href"].partition(":")
        label = "".join(mention["label"]).strip()
        ident = ident.strip()
        if scheme.lower() == "user" and not self.usernames:
            self._text(out, label or ident, marks)  # a user name is not an ADF account id
            return
        prev = out[-1] if out else None
        if prev is not None and prev.get("type") == "text" and prev["text"].endswith("@"):
            if len(prev["text"]) == 1:
                out.pop()
            else:
                out[-1] = {**prev, "text": prev["text"][:-1]}
        if not ident:
            self._text(out, "@" + label, marks)
            return
        node_attrs: dict[str, Any] = {"id": ident, "text": "@" + (label.removeprefix("@") or ident)}
        if scheme.lower() == "user":
            node_attrs["username"] = ident  # internal only: wiki output, never sent to Cloud
        out.append({"type": "mention", "attrs": node_attrs})

    def _image(self, out: list[Node], token: Token, marks: OpenMarks) -> None:
        alt = "".join(c.content for c in token.children or [] if c.type in ("text", "text_special", "code_inline"))
        src = str(token.attrGet("src") or "")
        link = self._link_mark(src, None, marks)
        if link is None:
            self._text(out, alt or "[image]", marks)
        else:
            self._text(out, alt or src, marks, link)

    def _html(self, out: list[Node], html: str, marks: OpenMarks, paired: bool | None) -> None:
        match = _TAG.match(html.strip())
        name = match.group(2).lower() if match else ""
        if name == "br" and not match.group(1):  # type: ignore[union-attr]
            out.append({"type": "hardBreak"})
        elif match and name in _TAG_MARKS and paired and not match.group(3):
            if match.group(1):
                marks.pop(_TAG_MARKS[name]["type"], _TAG_MARKS[name].get("attrs"))
            else:
                marks.push(dict(_TAG_MARKS[name]))
        else:
            self._text(out, html, marks)  # not ours: literal text, never HTML


def _paired_tags(tokens: list[Token]) -> dict[int, bool]:
    """Which ``html_inline`` tokens are matched open/close pairs of tags we map to marks."""
    paired: dict[int, bool] = {}
    open_tags: dict[str, list[int]] = {}  # tag name -> indexes of its unmatched opening tags
    for index, token in enumerate(tokens):
        if token.type != "html_inline":
            continue
        match = _TAG.match(token.content.strip())
        if not match or match.group(2).lower() not in _TAG_MARKS or match.group(3):
            continue
        name = match.group(2).lower()
        if not match.group(1):
            open_tags.setdefault(name, []).append(index)
        elif open_tags.get(name):
            paired[open_tags[name].pop()] = paired[index] = True
    return paired


class OpenMarks:
    """The marks open at a point of an inline run: a stack per mark type and attributes.

    A text node carries one mark per type (ADF allows no duplicates), the innermost one.
    Pushing, popping and reading the marks in force cost the same however deep the
    nesting goes (``"<u>" * 10000`` opens one underline ten thousand times).
    """

    def __init__(self) -> None:
        self._stacks: dict[str, dict[str, list[tuple[int, dict[str, Any]]]]] = {}  # type -> attrs -> (order, mark)
        self._order = 0

    def push(self, mark: dict[str, Any]) -> None:
        """Open ``mark`` (innermost from now on)."""
        self._order += 1
        by_attrs = self._stacks.setdefault(mark["type"], {})
        by_attrs.setdefault(_attrs_key(mark.get("attrs")), []).append((self._order, mark))

    def pop(self, mark_type: str, mark_attrs: Any = None) -> None:
        """Close the innermost open mark of ``mark_type`` (with ``mark_attrs``, when given)."""
        by_attrs = self._stacks.get(mark_type, {})
        if mark_attrs is not None:
            stack = by_attrs.get(_attrs_key(mark_attrs))
        else:
            stack = max((s for s in by_attrs.values() if s), key=lambda s: s[-1][0], default=None)
        if stack:
            stack.pop()

    def of_type(self, mark_type: str) -> list[dict[str, Any]]:
        """The innermost open mark of ``mark_type``, as a list of zero or one."""
        tops = [s[-1] for s in self._stacks.get(mark_type, {}).values() if s]
        return [max(tops, key=lambda top: top[0])[1]] if tops else []

    def active(self, extra: dict[str, Any] | None = None) -> list[dict[str, Any]]:
        """The marks in force, one per type; ``extra`` (innermost of all) is added."""
        marks = [mark for mark_type in self._stacks for mark in self.of_type(mark_type)]
        if extra is not None:
            marks = [m for m in marks if m["type"] != extra["type"]] + [extra]
        return marks


def _attrs_key(mark_attrs: Any) -> str:
    return repr(sorted(mark_attrs.items())) if isinstance(mark_attrs, dict) else ""
