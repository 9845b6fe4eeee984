"""Markdown <-> Jira wiki markup (Jira Data Center, and Jira Cloud's REST v2).

Both directions go through an ADF tree, so Markdown is parsed and written in exactly one
place: Markdown -> ADF -> wiki, and wiki -> ADF -> Markdown. Mentions: ``[~name]`` is
``@[name](user:name)`` in Markdown, ``[~accountid:ID]`` is ``@[ID](accountid:ID)``.
"""

from __future__ import annotations

from jiraplug.jira.markup.adf_reader import adf_to_markdown
from jiraplug.jira.markup.adf_writer import convert
from jiraplug.jira.markup.wiki_parser import parse_wiki
from jiraplug.jira.markup.wiki_writer import adf_to_wiki


def markdown_to_wiki(markdown: str) -> str:
    """Convert Markdown to Jira wiki markup."""
    return adf_to_wiki(convert(markdown, usernames=True))


def wiki_to_markdown(text: str | None) -> str:
    """Convert Jira wiki markup to Markdown (``None`` gives ``""``)."""
    if text is None:
        return ""
    if not isinstance(text, str):
        raise TypeError(f"wiki markup must be a str or None, got {type(text).__name__}")
    return adf_to_markdown(parse_wiki(text))
