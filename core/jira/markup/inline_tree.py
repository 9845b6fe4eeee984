"""Turn ADF's flat inline content (text nodes each carrying a set of marks) into a tree.

Markdown and wiki markup nest their formatting (``**a *b***``) while ADF puts a set of
marks on every text node. :func:`build_inline` groups runs of equal marks into nested
:class:`Span` nodes, opening the longest-lasting mark outermost so that a mark is not
closed and reopened needlessly, and moves edge whitespace out of spans whose syntax
cannot start or end with whitespace.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from markdown_it.common.utils import MD_TRIM_CHARS, isWhiteSpace

from jiraplug.jira.markup.nodes import atom_text, attrs, card_target, children, kind, mark_rank, marks_of, safe_href, text_node, tidy_edges

#: Inline node types with a fixed meaning; any other type found inline is unwrapped
#: (its text kept) or becomes a placeholder atom, so nothing vanishes.
ATOM_TYPES = frozenset(
    {"mention", "emoji", "status", "date", "inlineCard", "placeholder", "mediaInline", "inlineExtension"}
)


@dataclass(slots=True)
class Leaf:
    """An unsplittable piece of inline content.

    ``kind`` is ``"text"`` (``value`` is the text), ``"code"`` (inline code text),
    ``"break"`` (a hard line break) or ``"atom"`` (``node`` is the ADF node).
    """

    kind: str
    value: str = ""
    node: dict[str, Any] | None = None


@dataclass(slots=True)
class Span:
    """Content under one mark (``mark`` is the ADF mark dict)."""

    mark: dict[str, Any]
    children: list[Leaf | Span] = field(default_factory=list)


Inline = Leaf | Span
MarkKey = str


_MD_SPACES = MD_TRIM_CHARS


def md_space(ch: str) -> bool:
    """Whitespace as Markdown (and we, for wiki) define it."""
    return isWhiteSpace(ord(ch))


def build_inline(nodes: Iterable[Any], keep: frozenset[str], hoist: frozenset[str]) -> list[Inline]:
    """Group inline ADF ``nodes`` into a tree of spans.

    Only marks whose type is in ``keep`` are kept (links only with a safe href); the
    others are dropped, their text kept. Spans of a type in ``hoist`` get leading and
    trailing whitespace and line breaks moved outside them.
    """
    items: list[tuple[Leaf, tuple[MarkKey, ...]]] = []
    registry: dict[MarkKey, dict[str, Any]] = {}
    _flatten(nodes, keep, items, registry)
    items = _tidy(_merge([item for item in items if item[0].kind != "text" or item[0].value]))
    if hoist:
        items = _merge(_hoist(items, {k for k, m in registry.items() if m.get("type") in hoist}))
    return _nest(items, registry)


def unwrap_inline(nodes: Iterable[Any]) -> list[Any]:
    """``nodes`` with unknown wrappers (and blocks misplaced inline) replaced by their content,
    and smart links without a usable URL by the text they show."""
    out: list[Any] = []
    for node in nodes:
        k = kind(node)
        if isinstance(node, dict) and k not in ATOM_TYPES and k not in ("text", "hardBreak") and children(node):
            out.extend(unwrap_inline(children(node)))
        elif k == "inlineCard" and safe_href(card_target(node)[0]) is None:
            # Plain text like any other, so a name that looks like a URL gets the link
            # Markdown will give it when read back (see autolink).
            out.append(text_node(_card_label(node)))
        else:
            out.append(node)
    return out


def _card_label(node: dict[str, Any]) -> str:
    raw_url, name = card_target(node)
    return name or raw_url or "[link]"


def _mark_key(mark: dict[str, Any]) -> MarkKey:
    return json.dumps([mark.get("type"), mark.get("attrs") or {}], sort_keys=True, default=str)


def _flatten(
    nodes: Iterable[Any],
    keep: frozenset[str],
    items: list[tuple[Leaf, tuple[MarkKey, ...]]],
    registry: dict[MarkKey, dict[str, Any]],
) -> None:
    for node in nodes:
        if isinstance(node, str):  # tolerate bare strings in content
            node = {"type": "text", "text": node}
        if not isinstance(node, dict):
            continue
        k = kind(node)
        if k == "text":
            text = node.get("text")
            if not isinstance(text, str) or not text:
                continue
            keys, code = _keys(node, keep, registry)
            if code:
                # ADF lets code text carry only a link; other marks are dropped, as Jira does.
                links = tuple(k for k in keys if registry[k].get("type") == "link")
                items.append((Leaf("code", text), links))
                continue
            lines = text.split("\n")
            for i, line in enumerate(lines):
                if i:
                    items.append((Leaf("break"), ()))  # ADF line breaks carry no marks
                if line:
                    items.append((Leaf("text", line), keys))
        elif k == "hardBreak":
            items.append((Leaf("break"), ()))
        elif k == "mention":
            keys, _ = _keys(node, keep & {"link"}, registry)
            items.append((Leaf("atom", node=node), keys))
        elif k == "inlineCard":
            # A smart link is a link whose text is its URL.
            # Cards pasted from other products carry only JSON-LD ``data`` (name, url).
            raw_url, name = card_target(node)
            url = safe_href(raw_url)
            if url is None:
                items.append((Leaf("text", _card_label(node)), ()))
                continue
            keys, _ = _keys({"marks": [{"type": "link", "attrs": {"href": url}}]}, keep & {"link"}, registry)
            items.append((Leaf("text", name or url), keys))
        elif k not in ATOM_TYPES and children(node):
            # An unknown wrapper (or a block misplaced inline): keep what it holds.
            _flatten(children(node), keep, items, registry)
        else:
            # Emoji, status, date, media...: plain text, so it joins the text around it
            # exactly as it will when the output is read back.
            text = atom_text(node)
            keys, _ = _keys(node, keep & {"link"}, registry)
            items.append((Leaf("text", text if text is not None else f"[{k or 'unknown'}]"), keys))


def _keys(
    node: dict[str, Any], keep: frozenset[str], registry: dict[MarkKey, dict[str, Any]]
) -> tuple[tuple[MarkKey, ...], bool]:
    code = False
    keys: list[MarkKey] = []
    types: set[str] = set()
    for mark in sorted(marks_of(node), key=mark_rank):
        t = mark["type"]
        if t in types:
            continue  # ADF allows one mark of a type; more would only nest deeper and deeper
        if t == "code":
            code = "code" in keep
            continue
        if t not in keep:
            continue
        if t == "link":
            href = safe_href(attrs(mark).get("href"))
            if href is None:
                continue
            mark = {"type": "link", "attrs": {**attrs(mark), "href": href}}
        elif t == "subsup" and attrs(mark).get("type") not in ("sub", "sup"):
            continue
        key = _mark_key(mark)
        registry.setdefault(key, mark)
        types.add(t)
        keys.append(key)
    return tuple(keys), code


def _merge(items: list[tuple[Leaf, tuple[MarkKey, ...]]]) -> list[tuple[Leaf, tuple[MarkKey, ...]]]:
    out: list[tuple[Leaf, tuple[MarkKey, ...]]] = []
    for leaf, keys in items:
        if out and leaf.kind in ("text", "code"):
            prev, prev_keys = out[-1]
            if prev.kind == leaf.kind and set(prev_keys) == set(keys):
                out[-1] = (Leaf(leaf.kind, prev.value + leaf.value), prev_keys)
                continue
        out.append((leaf, keys))
    return out


def _nest(items: list[tuple[Leaf, tuple[MarkKey, ...]]], registry: dict[MarkKey, dict[str, Any]]) -> list[Inline]:
    # runs[i][key]: how many consecutive items from i carry the mark `key`.
    runs: list[dict[MarkKey, int]] = [{} for _ in items]
    for i in range(len(items) - 1, -1, -1):
        following = runs[i + 1] if i + 1 < len(items) else {}
        runs[i] = {key: 1 + following.get(key, 0) for key in items[i][1]}
    root: list[Inline] = []
    stack: list[tuple[MarkKey, Span]] = []
    for i, (leaf, keys) in enumerate(items):
        wanted = set(keys)
        depth = 0
        while depth < len(stack) and stack[depth][0] in wanted:
            depth += 1
        del stack[depth:]
        open_keys = {key for key, _ in stack}
        fresh = sorted((k for k in keys if k not in open_keys), key=lambda k: (-runs[i][k], mark_rank(registry[k])))
        for key in fresh:
            span = Span(registry[key])
            (stack[-1][1].children if stack else root).append(span)
            stack.append((key, span))
        (stack[-1][1].children if stack else root).append(leaf)
    return root


def _tidy(items: list[tuple[Leaf, tuple[MarkKey, ...]]]) -> list[tuple[Leaf, tuple[MarkKey, ...]]]:
    """Drop line breaks at the ends and spaces at the ends and around breaks (they do not
    show, and neither Markdown nor wiki markup can keep them)."""
    return tidy_edges(
        items,
        lambda item: item[0].kind == "break",
        lambda item: item[0].value if item[0].kind == "text" else None,
        lambda item, text: (Leaf("text", text), item[1]),
    )


def _hoist(items: list[tuple[Leaf, tuple[MarkKey, ...]]], hoisted: set[MarkKey]) -> list[tuple[Leaf, tuple[MarkKey, ...]]]:
    """Take edge whitespace and line breaks out of runs of the ``hoisted`` marks.

    Done on the flat sequence, before nesting, so the result depends only on what is
    visible: a document and its re-parsed rendering nest the same way. Each run of a mark
    sheds the blank items (breaks, whitespace-only text) at its ends, and the first and
    last text with something visible gives up its edge whitespace; every item is visited a
    bounded number of times per mark it carries, so the work stays linear.
    """
    n = len(items)
    blank = [leaf.kind == "break" or (leaf.kind == "text" and not leaf.value.strip(_MD_SPACES)) for leaf, _ in items]
    dropped: dict[int, set[MarkKey]] = {}  # blank item -> marks it loses
    lead: dict[int, set[MarkKey]] = {}  # text item -> marks its leading whitespace loses
    trail: dict[int, set[MarkKey]] = {}  # text item -> marks its trailing whitespace loses

    def shed(k: MarkKey, j: int, step: int, edge: dict[int, set[MarkKey]]) -> None:
        while 0 <= j < n and k in items[j][1] and blank[j]:
            dropped.setdefault(j, set()).add(k)
            j += step
        if 0 <= j < n and k in items[j][1] and items[j][0].kind == "text":
            edge.setdefault(j, set()).add(k)

    for i, (_, keys) in enumerate(items):
        for k in keys:
            if k not in hoisted:
                continue
            if i == 0 or k not in items[i - 1][1]:
                shed(k, i, 1, lead)
            if i + 1 == n or k not in items[i + 1][1]:
                shed(k, i, -1, trail)
    out: list[tuple[Leaf, tuple[MarkKey, ...]]] = []
    for i, (leaf, keys) in enumerate(items):
        if blank[i]:
            gone = dropped.get(i)
            out.append((leaf, tuple(k for k in keys if k not in gone) if gone else keys))
            continue
        starts, ends = lead.get(i, set()), trail.get(i, set())
        if not starts and not ends:
            out.append((leaf, keys))
            continue
        text = leaf.value
        head = len(text) - len(text.lstrip(_MD_SPACES)) if starts else 0
        tail = len(text) - len(text.rstrip(_MD_SPACES)) if ends else 0
        if head:
            out.append((Leaf("text", text[:head]), tuple(k for k in keys if k not in starts)))
        out.append((Leaf("text", text[head : len(text) - tail]), keys))
        if tail:
            out.append((Leaf("text", text[len(text) - tail :]), tuple(k for k in keys if k not in ends)))
    return out
