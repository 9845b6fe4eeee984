"""Text formats: Markdown <-> ADF (Jira Cloud) and Markdown <-> wiki markup (Jira Data Center).

The AI side reads and writes Markdown (CommonMark with GFM tables and strikethrough);
these four functions are the whole public API. Conventions for what Markdown lacks:

- mentions: ``@[Display Name](accountid:ID)`` (ADF ``mention``, wiki ``[~accountid:ID]``);
  Data Center user names ``@[name](user:name)`` (wiki ``[~name]``; plain text on Cloud);
- panels: GitHub alerts, ``> [!INFO]`` / ``[!NOTE]`` / ``[!WARNING]`` / ``[!ERROR]`` /
  ``[!SUCCESS]`` (also ``[!TIP]``, ``[!IMPORTANT]``, ``[!CAUTION]``); wiki ``{info}``,
  ``{note}``, ``{warning}``, ``{tip}`` matched by colour;
- underline ``<u>x</u>``, subscript ``<sub>``, superscript ``<sup>``: the only HTML tags
  understood (with ``<strong>``/``<em>``/``<del>``, used where ``**`` cannot go, and ``<br>``);
  every other tag stays literal text;
- a single line break inside a paragraph is a line break (as in GitHub comments and Jira);
- bare URLs become links; links other than http(s)/mailto/ftp/tel/relative keep only
  their text (no ``javascript:``).

Reading is tolerant: nodes without a Markdown form degrade to their text or to a
placeholder such as ``[media: file.png]``, and what is written reads back unchanged.
ADF produced by :func:`markdown_to_adf` always validates against Atlassian's schema
(constructs ADF forbids, such as a heading inside a list item, are degraded to fit).
"""

from jiraplug.jira.markup.adf_reader import adf_to_markdown
from jiraplug.jira.markup.adf_writer import markdown_to_adf
from jiraplug.jira.markup.wiki import markdown_to_wiki, wiki_to_markdown

__all__ = ["adf_to_markdown", "markdown_to_adf", "markdown_to_wiki", "wiki_to_markdown"]
