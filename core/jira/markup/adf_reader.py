"""ADF (Atlassian Document Format) to Markdown.

Tolerant by design: a node type we do not know is unwrapped to its content, or shown
as a readable placeholder such as ``[media: file.png]``; it never disappears. The
Markdown is written so that :func:`jiraplug.jira.markup.markdown_to_adf` reads it back
as the same document (panels as GitHub alerts ``> [!INFO]``, mentions as
``@[Name](accountid:ID)``, underline and sub/superscript as ``<u>``/``<sub>``/``<sup>``).
"""

from __future__ import annotations

import json
import re
from typing import Any

from jiraplug.jira.markup.adf_normalise import INLINE_TYPES, LIST_TYPES, cap_depth, is_inline_only, joined, normalise
from jiraplug.jira.markup.md_inline import InlineRenderer
from jiraplug.jira.markup.nodes import attrs, children, escape_line_start, kind, plain_text, text_node, trimmed_lines
from jiraplug.jira.markup.schema_fit import fit

PANEL_MARKERS = {"info": "INFO", "note": "NOTE", "tip": "TIP", "warning": "WARNING", "error": "ERROR", "success": "SUCCESS"}

_LINE_START = re.compile(
    r"""^(?:
        (?P<hash>\#{1,6})(?=[ \t]|$)           # ATX heading
      | (?P<bullet>[-+*])(?=[ \t]|$)           # bullet list item
      | \d{1,9}(?P<ordered>[.)])(?=[ \t]|$)    # ordered list item
      | (?P<quote>>)                           # block quote
      | (?P<setext>[=-])[=\- \t]*$             # setext underline / thematic break
      | (?P<table>[|:-])[|:\- \t]*$            # table delimiter row
    )""",
    re.VERBOSE,
)
_INTERRUPTS = re.compile(r"^(?:[-+*]|1[.)])[ \t]+\S")
_LIST_MARKER = re.compile(r"^(?:[-+*]|\d{1,9}[.)])(?:[ \t]|$)")
_HEADING_TAIL = re.compile(r"(^|[ \t])(#+)[ \t]*$")
#: A table whose rows, padded to its widest one, would hold more cells than this is written
#: one paragraph per row: a thousand one-cell rows under one wide row must not become a
#: million cells (markdown-it also stops filling short rows after 65,536 cells).
_MAX_TABLE_CELLS = 65_536
#: ADF nested deeper than this is read as plain text: the renderers recurse per level, and
#: markdown-it drops what is nested deeper than its limit of 20 levels (a list level takes 2).
MAX_DEPTH = 16


def adf_to_markdown(doc: dict[str, Any] | str | None) -> str:
    """Render an ADF document as Markdown.

    ``doc`` may be an ADF ``doc`` (or any single ADF node), a JSON string holding one,
    or ``None``. Any other string is returned unchanged: Jira sends plain text (or wiki
    markup) for bodies that are not ADF.
    """
    if doc is None:
        return ""
    if isinstance(doc, str):
        parsed = _parse_json(doc)
        if parsed is None:
            return doc
        doc = parsed
    if not isinstance(doc, dict):
        return ""
    nodes = children(doc) if kind(doc) == "doc" else [doc]
    return _Blocks().render(normalise(cap_depth(nodes, MAX_DEPTH))).strip("\n")


def _parse_json(text: str) -> dict[str, Any] | None:
    stripped = text.strip()
    if not stripped.startswith("{"):
        return None
    try:
        value = json.loads(stripped)
    except ValueError:
        return None
    return value if isinstance(value, dict) and isinstance(value.get("type"), str) else None


class _Blocks:
    """Renders block content; each block is a string, blocks are joined by blank lines."""

    def __init__(self) -> None:
        self.inline = InlineRenderer()
        # The ADF container we are inside ("blockquote", "panel", "listItem"): its content
        # is first degraded the way the Markdown parser will degrade it, so that what we
        # write reads back unchanged.
        self.container: str | None = None

    def within(self, container: str, nodes: list[Any], **options: Any) -> str:
        """Render ``nodes`` as the content of a ``container`` node."""
        outer, self.container = self.container, container
        try:
            return self.render(nodes, **options)
        finally:
            self.container = outer

    def render(self, nodes: list[Any], *, tight: bool = False) -> str:
        """Render block ``nodes``; ``tight`` keeps a list right under the paragraph before it."""
        if self.container is not None:
            nodes = fit([n for n in nodes if isinstance(n, dict)], self.container, keep_unknown=True)
        out: list[str] = []
        previous_list: tuple[str, str] | None = None  # (list family, marker char) of the previous block
        previous_paragraph = False
        for group in _group_inline(nodes):
            joiner = "\n\n"
            this_list: tuple[str, str] | None = None
            if isinstance(group, list):  # stray inline nodes at block level: one paragraph
                text = self.paragraph({"type": "paragraph", "content": group})
                is_paragraph = True
            elif kind(group) in LIST_TYPES:
                # Two lists in a row must differ in marker, or Markdown merges them.
                family = _list_family(kind(group))
                same = previous_list is not None and previous_list[0] == family
                text, marker = self.list_block(group, alternate=previous_list[1] if same and previous_list else None)
                this_list, is_paragraph = (family, marker), False
                # A list may interrupt a paragraph only if it is a bullet list or starts at 1
                # (and not with an empty item: "a\n-" would make "a" a heading).
                if tight and previous_paragraph and _INTERRUPTS.match(text):
                    joiner = "\n"
            else:
                text = self.block(group)
                is_paragraph = kind(group) == "paragraph"
            if text:  # a block that shows nothing does not separate its neighbours
                out.append(joiner + text if out else text)
                previous_paragraph, previous_list = is_paragraph, this_list
        return "".join(out)

    def block(self, node: dict[str, Any]) -> str:
        k = kind(node)
        a = attrs(node)
        content = children(node)
        if k == "paragraph":
            return self.paragraph(node)
        if k == "heading":
            return self.heading(node)
        if k == "codeBlock":
            return code_block(plain_text(content), a.get("language"))
        if k == "blockquote":
            return quote(self.within("blockquote", content))
        if k == "panel":
            marker = PANEL_MARKERS.get(str(a.get("panelType")), "NOTE")
            content = fit([c for c in content if isinstance(c, dict)], "panel", keep_unknown=True)
            content = [c for c in content if self.within("panel", [c])]  # blocks that show nothing are dropped
            body = self.within("panel", content)
            if not body:
                return quote(f"[!{marker}]")
            # Only a paragraph may follow the marker line directly: "---" would turn the
            # marker into a heading, a table would take it as its header row.
            first = next((c for c in content if isinstance(c, dict)), None)
            gap = "\n" if kind(first) == "paragraph" else "\n\n"
            return quote(f"[!{marker}]{gap}{body}")
        if k == "rule":
            return "---"
        if k == "table":
            return self.table(node)
        # Anything else was turned into paragraphs by _normalise; this is a last resort.
        return self.paragraph({"type": "paragraph", "content": [text_node(plain_text(node) or f"[{k or 'unknown'}]")]})

    def paragraph(self, node: dict[str, Any]) -> str:
        return escape_lines(self.inline.render(children(node)))

    def heading(self, node: dict[str, Any]) -> str:
        level = attrs(node).get("level")
        level = level if isinstance(level, int) and 1 <= level <= 6 else 1
        text = InlineRenderer(heading=True).render(children(node)).strip(" \t")
        if not text:
            return ""  # an empty heading shows nothing
        text = _HEADING_TAIL.sub(lambda m: f"{m.group(1)}\\{m.group(2)}", text)
        return "#" * level + " " + text

    def list_block(self, node: dict[str, Any], alternate: str | None) -> tuple[str, str]:
        k = kind(node)
        if k == "orderedList":
            marker = ")" if alternate == "." else "."
        else:
            marker = "*" if alternate == "-" else "-"
        order = attrs(node).get("order")
        number = order if isinstance(order, int) and 0 <= order <= 999_999_999 else 1
        items: list[str] = []
        indent = 2
        for item in children(node):
            if kind(item) in LIST_TYPES and items:
                # A list directly inside a list (taskList allows it): nest it under the last item.
                items[-1] += "\n" + _indent(self.render([item]), " " * indent)
                continue
            if k == "orderedList":
                prefix = f"{number}{marker} "
                number += 1
                indent = len(prefix)
            else:
                prefix = f"{marker} "
                indent = 2
                if k == "taskList" and kind(item) in ("taskItem", "blockTaskItem"):
                    prefix += "[x] " if attrs(item).get("state") == "DONE" else "[ ] "
                elif k == "decisionList":
                    prefix += "Decision: "
            items.append(_hang(prefix, self._item_body(item), indent))
        return "\n".join(items), marker

    def _item_body(self, item: Any) -> str:
        if kind(item) in LIST_TYPES:
            return self.render([item])
        if kind(item) in ("taskItem", "decisionItem") or (isinstance(item, dict) and is_inline_only(children(item))):
            return escape_lines(self.inline.render(children(item)))
        if not isinstance(item, dict):
            return ""
        if kind(item) != "listItem" and not children(item):
            return self.block(item)
        return self.within("listItem", children(item), tight=True)

    def table(self, node: dict[str, Any]) -> str:
        rows = [r for r in children(node) if isinstance(r, dict)]
        grid: list[list[str]] = []
        # Cells spanning rows from above: column -> (rows still covered, their text). The
        # covered rows repeat the text, so every row keeps its cells under their headers.
        spans: dict[int, tuple[int, str]] = {}
        total = 0
        for row in rows:
            cells: list[str] = []

            def fill_spanned() -> None:
                while len(cells) in spans:
                    left, text = spans.pop(len(cells))
                    cells.append(text)
                    if left > 1:
                        spans[len(cells) - 1] = (left - 1, text)

            for cell in children(row) if kind(row) == "tableRow" else [row]:
                fill_spanned()
                text = self._cell(cell)
                cells.append(text)
                down = attrs(cell).get("rowspan")
                # Spans are not followed past the cell budget: the table is then written as
                # paragraphs anyway, and hostile spans must not multiply the work.
                if isinstance(down, int) and down > 1 and total < _MAX_TABLE_CELLS:
                    spans[len(cells) - 1] = (down - 1, text)
                span = attrs(cell).get("colspan")
                if isinstance(span, int) and span > 1:
                    cells.extend([""] * min(span - 1, 64))
            fill_spanned()
            if spans and total >= _MAX_TABLE_CELLS:
                spans.clear()
            total += len(cells)
            grid.append(cells)
        if not grid:
            return ""
        width = max(1, max(len(r) for r in grid))
        if width * len(grid) > _MAX_TABLE_CELLS:
            return "\n\n".join(escape_lines(" | ".join(cell for cell in cells if cell)) for cells in grid)
        lines = []
        for i, cells in enumerate(grid):
            cells = cells + [""] * (width - len(cells))
            lines.append("| " + " | ".join(cells) + " |")
            if i == 0:
                lines.append("|" + " --- |" * width)
        return "\n".join(lines)

    def _cell(self, cell: Any) -> str:
        # A Markdown cell holds one line of inline content: blocks (and list items) become
        # lines joined by <br>; blocks that are not text (code...) give their text.
        lines: list[list[Any]] = []
        _cell_lines(children(cell), lines, "")
        inline: list[Any] = []
        for line in lines:
            if inline:
                inline.append({"type": "hardBreak"})
            inline.extend(line)
        return InlineRenderer(table=True).render(inline)


def _cell_lines(nodes: list[Any], lines: list[list[Any]], bullet: str) -> None:
    """Append the lines that block ``nodes`` show in a table cell; the first line gets ``bullet``."""
    for block in _group_inline(nodes):
        if isinstance(block, list):
            part = block
        elif kind(block) in ("paragraph", "heading"):
            part = children(block)
        elif kind(block) in LIST_TYPES:
            number = attrs(block).get("order")
            number = number if isinstance(number, int) and 0 <= number <= 999_999_999 else 1
            for item in children(block):
                if kind(block) == "orderedList":
                    marker, number = f"{number}. ", number + 1
                elif kind(item) in ("taskItem", "blockTaskItem"):
                    marker = "[x] " if attrs(item).get("state") == "DONE" else "[ ] "
                else:
                    marker = "• "
                inner = children(item) if isinstance(item, dict) and kind(item) not in LIST_TYPES else [item]
                _cell_lines(inner, lines, bullet + marker)
            continue
        else:
            part = joined([text_node(line) for line in plain_text(block).split("\n") if line.strip()])
        if part:
            lines.append([text_node(bullet), *part] if bullet else list(part))
            bullet = ""  # later blocks of the same item continue it without a marker


def _list_family(k: str) -> str:
    return "ordered" if k == "orderedList" else "bullet"


def _group_inline(nodes: list[Any]) -> list[Any]:
    """Collect runs of inline nodes found among blocks into lists (rendered as paragraphs)."""
    out: list[Any] = []
    for node in nodes:
        if isinstance(node, str) or (isinstance(node, dict) and kind(node) in INLINE_TYPES):
            if out and isinstance(out[-1], list):
                out[-1].append(node)
            else:
                out.append([node])
        elif isinstance(node, dict):
            out.append(node)
    return out


def escape_lines(text: str) -> str:
    """Make every line of a rendered paragraph start as text, and drop empty edge lines."""
    out = []
    for line in trimmed_lines(text):
        if not line:
            out.append("\\")  # an empty line would end the paragraph: keep the break explicit
            continue
        out.append(escape_line_start(line, _LINE_START))
    return "\n".join(out)


def code_block(text: str, language: Any = None) -> str:
    """A fenced code block whose fence is longer than any backtick run in ``text``."""
    longest = max((len(run) for run in re.findall(r"`{3,}", text)), default=2)
    fence = "`" * (longest + 1)
    info = language.strip() if isinstance(language, str) else ""
    info = info if re.fullmatch(r"[\w+#.\-]+", info) else ""  # "|" or "`" would change the block's meaning
    # The parser drops exactly one final newline, so always write one more.
    body = text + "\n" if text else ""
    return f"{fence}{info}\n{body}{fence}"


def quote(text: str) -> str:
    """Prefix every line with ``> ``."""
    return "\n".join(f"> {line}" if line else ">" for line in text.split("\n")) if text else ">"


def _indent(text: str, pad: str) -> str:
    return "\n".join(pad + line if line else "" for line in text.split("\n"))


def _hang(prefix: str, body: str, indent: int) -> str:
    """``prefix`` before the first line of ``body``; later lines indented by ``indent``."""
    if not body:
        return prefix.rstrip(" ")
    if _LIST_MARKER.match(body):
        # "- - -" would read as a rule: a nested list starts on the line below its marker.
        return prefix.rstrip(" ") + "\n" + _indent(body, " " * indent)
    first, _, rest = body.partition("\n")
    head = prefix + first
    if not rest:
        return head
    return head + "\n" + _indent(rest, " " * indent)


__all__ = ["adf_to_markdown", "code_block", "escape_lines", "quote", "PANEL_MARKERS"]
