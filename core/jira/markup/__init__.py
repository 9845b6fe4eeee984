"""Text formats: Markdown <-> ADF (Jira Cloud) and Markdown <-> wiki markup (Jira Data Center).

The AI side reads and writes Markdown; these four functions are the whole public API.
"""

from jiraplug.jira.markup.adf_reader import adf_to_markdown
from jiraplug.jira.markup.adf_writer import markdown_to_adf
from jiraplug.jira.markup.wiki import markdown_to_wiki, wiki_to_markdown

__all__ = ["adf_to_markdown", "markdown_to_adf", "markdown_to_wiki", "wiki_to_markdown"]
