"""Rich-text conversion of hostile input, at two sizes: the ratio of the two timings shows
whether a converter is linear (about 4x for 4x the input) or worse (16x for a quadratic one).

The inputs are the issue 19 examples and the shapes that used to be superlinear: the
Markdown ``"*a" * n`` (Markdown -> ADF and -> wiki markup), its ADF read back as Markdown,
and wiki markup full of unclosed macros and brackets read as Markdown.
"""

from __future__ import annotations

from typing import Any

SIZES = [10_000, 40_000]


class HostileMarkup:
    """One conversion of an input of ``size`` repeats of a hostile pattern."""

    params = SIZES
    param_names = ["size"]
    timeout = 300

    def setup(self, size: int) -> None:
        from jiraplug.jira import markup

        self.markup = markup
        self.stars = "*a" * size
        self.blank_marks = "**" + "<em> </em> " * (size // 4) + "a**"
        self.stars_adf: dict[str, Any] = markup.markdown_to_adf(self.stars)
        self.wiki = "{info:x}\n" * (size // 8) + "[" * size + "{anchor:" * (size // 8)

    def time_markdown_to_adf(self, size: int) -> None:
        self.markup.markdown_to_adf(self.stars)

    def time_markdown_to_wiki(self, size: int) -> None:
        self.markup.markdown_to_wiki(self.stars)

    def time_markdown_to_adf_blank_marks(self, size: int) -> None:
        self.markup.markdown_to_adf(self.blank_marks)

    def time_adf_to_markdown(self, size: int) -> None:
        self.markup.adf_to_markdown(self.stars_adf)

    def time_wiki_to_markdown(self, size: int) -> None:
        self.markup.wiki_to_markdown(self.wiki)
