"""Built-in toolset ``comments``: read and write issue comments (Markdown in and out)."""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import Field

from jiraplug import hookimpl
from jiraplug.jira.compact import render_text
from jiraplug.jira.shapes import obj, scalar
from jiraplug.server.registry import ToolRegistry
from jiraplug.plugins.toolsets.issue_items import COMMENTS
from jiraplug.server.toolkit import IssueKey, Limit, StartAt, jira, off_loop

CommentId = Annotated[str, Field(description="Comment id (from jira_get_comments)")]
Body = Annotated[str, Field(description="Markdown", min_length=1)]


def _comment(raw: Any) -> dict[str, Any]:
    raw = obj(raw)
    author = obj(raw.get("author"))
    return {
        "id": scalar(raw.get("id")),
        "author": scalar(author.get("displayName") or author.get("name")),
        "created": scalar(raw.get("created")),
        "updated": scalar(raw.get("updated")),
        "body": render_text(raw.get("body")),
    }


async def jira_get_comments(
    issue_key: IssueKey,
    start_at: StartAt = 0,
    limit: Limit = 20,
    newest_first: bool = False,
) -> dict[str, Any]:
    """Comments of an issue, paged."""
    page = await COMMENTS.page(issue_key, start_at, limit, orderBy="-created" if newest_first else "created")
    return {**page, "comments": await off_loop(lambda: [_comment(c) for c in page["comments"]], what="the comments")}


async def jira_add_comment(issue_key: IssueKey, body: Body) -> dict[str, Any]:
    """Add a comment to an issue."""
    key, created = await COMMENTS.add(issue_key, {"body": await jira().text_to_jira(body, argument="body")})
    return {"issue": key, **await off_loop(_comment, created, what="the comment")}


async def jira_edit_comment(issue_key: IssueKey, comment_id: CommentId, body: Body) -> dict[str, Any]:
    """Replace the text of a comment."""
    key, updated = await COMMENTS.update(issue_key, comment_id, {"body": await jira().text_to_jira(body, argument="body")})
    return {"issue": key, **await off_loop(_comment, updated, what="the comment")}


async def jira_delete_comment(issue_key: IssueKey, comment_id: CommentId) -> dict[str, Any]:
    """Delete a comment."""
    key = await COMMENTS.delete(issue_key, comment_id)
    return {"issue": key, "deleted": comment_id}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    registry.add(jira_get_comments, title="List comments", read_only=True, idempotent=True)
    registry.add(jira_add_comment, title="Add comment")
    registry.add(jira_edit_comment, title="Edit comment", idempotent=True)
    registry.add(jira_delete_comment, title="Delete comment", destructive=True, idempotent=True)
