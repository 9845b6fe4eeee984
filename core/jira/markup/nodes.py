"""Small helpers over ADF nodes shared by every converter in this package.

ADF (Atlassian Document Format) is also the package's internal tree: wiki markup is
parsed into it and written from it, so Markdown handling lives in one place.
Everything here is tolerant of malformed input (missing keys, wrong types), because
documents come from Jira, third-party apps and older editors.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from typing import Any, TypeVar

Node = dict[str, Any]
T = TypeVar("T")

#: Canonical order of the marks we render, outermost first when runs tie.
MARK_ORDER = ("link", "strike", "strong", "em", "underline", "subsup", "code")
_MARK_RANK = {name: i for i, name in enumerate(MARK_ORDER)}

#: URL schemes a link may use. Anything else (``javascript:``, ``data:``, ``vbscript:``...)
#: is dropped to plain text; relative URLs and fragments have no scheme and pass.
SAFE_SCHEMES = frozenset({"http", "https", "mailto", "ftp", "ftps", "sftp", "tel"})
_SCHEME = re.compile(r"^([a-z][a-z0-9+.\-]*):")
_INVISIBLE = re.compile(r"[\x00-\x20\x7f]+")


def safe_href(href: Any) -> str | None:
    """Return ``href`` if it is a link we are willing to emit, else ``None``.

    Control characters and spaces are removed before the scheme test, the way browsers
    do, so ``"java\\nscript:"`` cannot slip through.
    """
    if not isinstance(href, str) or not href.strip():
        return None
    probe = _INVISIBLE.sub("", href).lower()
    match = _SCHEME.match(probe)
    if match and match.group(1) not in SAFE_SCHEMES:
        return None
    return href.strip()


def attrs(node: Any) -> dict[str, Any]:
    """The node's ``attrs`` as a dict (empty when absent or malformed)."""
    value = node.get("attrs") if isinstance(node, dict) else None
    return value if isinstance(value, dict) else {}


def children(node: Any) -> list[Any]:
    """The node's ``content`` as a list (empty when absent or malformed)."""
    value = node.get("content") if isinstance(node, dict) else None
    return value if isinstance(value, list) else []


def kind(node: Any) -> str:
    """The node's ``type`` (``""`` when absent)."""
    value = node.get("type") if isinstance(node, dict) else None
    return value if isinstance(value, str) else ""


def marks_of(node: Any) -> list[dict[str, Any]]:
    """The node's marks that are well-formed dicts with a ``type``."""
    value = node.get("marks") if isinstance(node, dict) else None
    if not isinstance(value, list):
        return []
    return [m for m in value if isinstance(m, dict) and isinstance(m.get("type"), str)]


def mark_rank(mark: dict[str, Any]) -> int:
    """Sort key putting marks in :data:`MARK_ORDER` (unknown marks last)."""
    return _MARK_RANK.get(mark.get("type", ""), len(MARK_ORDER))


def text_node(text: str, marks: list[dict[str, Any]] | None = None) -> Node:
    """Build an ADF text node, omitting ``marks`` when there are none."""
    node: Node = {"type": "text", "text": text}
    if marks:
        node["marks"] = sorted(marks, key=mark_rank)
    return node


def merge_text(nodes: list[Node]) -> list[Node]:
    """Drop empty text nodes and join neighbours that carry the same marks."""
    out: list[Node] = []
    for node in nodes:
        if isinstance(node, dict) and node.get("type") == "text":
            if not node.get("text"):
                continue
            prev = out[-1] if out else None
            if isinstance(prev, dict) and prev.get("type") == "text" and prev.get("marks") == node.get("marks"):
                out[-1] = {**prev, "text": prev["text"] + node["text"]}
                continue
        out.append(node)
    return out


def tidy_lines(nodes: list[Node]) -> list[Node]:
    """Drop line breaks at either end and spaces around line breaks and at the ends.

    Such breaks and spaces do not show, and Markdown and wiki markup cannot keep them.
    Code text is kept as it is.
    """

    def text_of(node: Node) -> str | None:
        if node.get("type") != "text" or any(m.get("type") == "code" for m in node.get("marks") or []):
            return None
        return node["text"]

    return tidy_edges(nodes, lambda node: node.get("type") == "hardBreak", text_of, lambda node, text: {**node, "text": text})


def tidy_edges(
    items: list[T], is_break: Callable[[T], bool], text_of: Callable[[T], str | None], with_text: Callable[[T, str], T]
) -> list[T]:
    """``items`` without line breaks at either end, whitespace at the very ends, spaces and
    tabs next to a line break, and the text items that leaves empty.

    ``text_of`` gives an item's strippable text (``None`` for items that are not such text),
    ``with_text`` a copy of an item with other text. Two passes (leading edges forward,
    trailing edges backward) reach the same result as stripping until nothing changes,
    in linear time: a run of blank lines cannot make the work quadratic.
    """
    forward = _tidy_start(items, is_break, text_of, with_text, str.lstrip)
    backward = _tidy_start(reversed(forward), is_break, text_of, with_text, str.rstrip)
    backward.reverse()
    return backward


def _tidy_start(
    items: Iterable[T],
    is_break: Callable[[T], bool],
    text_of: Callable[[T], str | None],
    with_text: Callable[[T, str], T],
    strip: Callable[..., str],
) -> list[T]:
    """One pass of :func:`tidy_edges` over the start of every line (``strip`` the side)."""
    out: list[T] = []
    for item in items:
        if is_break(item):
            if out:  # a break at the edge goes
                out.append(item)
            continue
        text = text_of(item)
        if text is not None:
            stripped = strip(text) if not out else strip(text, " \t") if is_break(out[-1]) else text
            if not stripped:
                continue
            item = with_text(item, stripped) if stripped != text else item
        out.append(item)
    return out


def trimmed_lines(text: str) -> list[str]:
    """``text``'s lines stripped of spaces and tabs, without the empty lines at either end."""
    lines = [line.strip(" \t") for line in text.split("\n")]
    first = next((i for i, line in enumerate(lines) if line), len(lines))
    last = next((i for i in range(len(lines) - 1, first - 1, -1) if lines[i]), first - 1)
    return lines[first : last + 1]


def escape_line_start(line: str, markup: re.Pattern[str]) -> str:
    """``line`` with a backslash before the block markup ``markup`` finds at its start.

    ``markup`` matches at the start of a line and names, in the group that matched, the
    character to escape (``#`` of a heading, ``-`` of a list item...); without a match the
    line is returned as it is.
    """
    match = markup.match(line)
    if match is None:
        return line
    group = next(name for name, value in match.groupdict().items() if value is not None)
    at = match.start(group)
    return line[:at] + "\\" + line[at:]


def format_date(timestamp: Any) -> str:
    """An ADF ``date`` timestamp (milliseconds since the epoch, as a string) as YYYY-MM-DD (UTC)."""
    try:
        moment = datetime.fromtimestamp(int(str(timestamp)) / 1000, tz=timezone.utc)
    except (TypeError, ValueError, OverflowError, OSError):
        return str(timestamp or "")
    return moment.date().isoformat()


def media_label(node: Any) -> str:
    """A readable placeholder for a media node: ``[media: name]``."""
    a = attrs(node)
    name = a.get("alt") or a.get("url") or a.get("id") or "attachment"
    return f"[media: {name}]"


def atom_text(node: Any) -> str | None:
    """Readable text for an inline leaf node that is not plain text (emoji, status, date...).

    Returns ``None`` for types this function does not know; mentions, cards and
    breaks are rendered by the callers because their form depends on the output format.
    """
    k = kind(node)
    a = attrs(node)
    if k == "emoji":
        return str(a.get("text") or a.get("shortName") or a.get("id") or "")
    if k == "status":
        return f"[{a.get('text') or 'status'}]"
    if k == "date":
        return format_date(a.get("timestamp"))
    if k == "placeholder":
        return str(a.get("text") or "")
    if k in ("media", "mediaInline"):
        return media_label(node)
    if k in ("inlineExtension", "extension"):
        return str(a.get("text") or f"[extension: {a.get('extensionKey') or 'unknown'}]")
    return None


def card_target(node: Any) -> tuple[str | None, str | None]:
    """(URL, name) of a smart card: ``attrs.url``, else the JSON-LD ``attrs.data`` that Jira
    stores for cards pasted from other products (``{"@type": "Document", "name": ..., "url": ...}``)."""
    a = attrs(node)
    data = a.get("data") if isinstance(a.get("data"), dict) else {}
    url = a.get("url") or data.get("url") or data.get("@id")
    if isinstance(url, dict):  # JSON-LD allows {"href": ...}
        url = url.get("href")
    name = data.get("name")
    # A card shows its name as a one-line title: a newline in it would end a table row.
    name = " ".join(name.split()) if isinstance(name, str) else None
    return (url if isinstance(url, str) and url else None), (name or None)


def plain_text(node: Any) -> str:
    """Every bit of text under ``node``, concatenated (atoms as their readable text).

    Iterative, so that a hostile document nested thousands of levels deep cannot exhaust
    the stack.
    """
    parts: list[str] = []
    pending: list[Any] = [node]  # what is left to visit, the next item last
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            parts.append(item)
        elif isinstance(item, list):
            pending.extend(reversed(item))
        elif isinstance(item, dict):
            parts.append(_own_text(item))
            if kind(item) not in _LEAVES:
                pending.extend(reversed(children(item)))
    return "".join(parts)


_LEAVES = frozenset({"text", "hardBreak", "mention", "inlineCard", "blockCard", "embedCard"})


def _own_text(node: dict[str, Any]) -> str:
    """The text a node shows itself, before (or instead of) its children's."""
    k = kind(node)
    if k == "text":
        text = node.get("text")
        return text if isinstance(text, str) else ""
    if k == "hardBreak":
        return "\n"
    if k == "mention":
        a = attrs(node)
        return str(a.get("text") or f"@{a.get('id', 'someone')}")
    if k in ("inlineCard", "blockCard", "embedCard"):
        url, name = card_target(node)
        return name or url or ""
    atom = atom_text(node)
    return atom if atom is not None else ""
