"""Built-in toolset ``issues``: search, read, create, change, delete, assign and clone issues."""

from __future__ import annotations

import asyncio
from typing import Annotated, Any

from mcp.server.mcpserver import Context
from pydantic import Field

from jiraplug import hookimpl
from jiraplug.jira.changelog import Changes, latest_changes, latest_from_expand
from jiraplug.jira.compact import DEFAULT_FIELDS, SEARCH_FIELDS, compact_issue, render_field
from jiraplug.jira.client import SEARCH_PAGE_MAX
from jiraplug.jira.fields import FieldCatalog, field_ids
from jiraplug.plugins.toolsets.issue_items import COMMENTS
from jiraplug.server.registry import ToolRegistry
from jiraplug.stages import RENDER, stage
from jiraplug.tool_errors import UserFacingError
from jiraplug.server.projects_filter import guard_issue, guard_project
from jiraplug.server.toolkit import IssueKey, jira, off_loop, scoped_jql, split_csv

MAX_SEARCH = 1000
CHANGES_IN_ISSUE = 50  # changes jira_get_issue shows with changelog=true (more: jira_batch_get_changelogs)
BULK_CHUNK = 50  # Jira's limit of issues per bulk create call

Fields = Annotated[str | None, Field(description="Comma-separated field names or ids; default: common fields")]
CustomFields = Annotated[
    dict[str, Any] | None, Field(description='Other fields by name or id, e.g. {"Story Points": 5}')
]


async def jira_search(
    jql: Annotated[str, Field(description='JQL, e.g. project = PROJ AND status = "In Progress"')],
    fields: Fields = None,
    limit: Annotated[int, Field(ge=1, le=MAX_SEARCH, description="Max issues to return")] = 20,
    page_token: Annotated[str | None, Field(description="next_page_token of a previous call")] = None,
    ctx: Context | None = None,
) -> dict[str, Any]:
    """Search issues with JQL. Returns up to `limit` issues and next_page_token when more exist."""
    client = jira()

    async def progress(done: int, total: int | None) -> None:
        if ctx is not None and limit > SEARCH_PAGE_MAX:  # a search of one page needs no progress
            await ctx.report_progress(done, limit if total is None else min(limit, total), "issues fetched")

    wanted = await field_ids(client, split_csv(fields))
    found = await client.search_all(scoped_jql(jql), limit, fields=wanted or list(SEARCH_FIELDS),
                                    page_token=page_token, progress=progress)
    with stage(RENDER):
        rendered = await off_loop(lambda: [compact_issue(issue, client.base_url) for issue in found.issues],
                                  what="the issues")
    result: dict[str, Any] = {"issues": rendered}
    if found.total is not None:
        result["total"] = found.total
    result["next_page_token"] = found.next_page_token
    return result


async def jira_get_issue(
    issue_key: IssueKey,
    fields: Fields = None,
    expand: Annotated[str | None, Field(description="e.g. renderedFields,changelog")] = None,
    comment_limit: Annotated[int, Field(ge=0, le=100, description="Latest comments to include")] = 10,
    changelog: Annotated[bool, Field(description="Include the latest 50 changes")] = False,
) -> dict[str, Any]:
    """Get one issue: summary, status, people, dates, description and comments as Markdown."""
    client = jira()
    key = guard_issue(issue_key)
    wanted = await field_ids(client, split_csv(fields))
    expands = split_csv(expand) or []
    await client.ready()
    if changelog and client.is_cloud:
        # Cloud's embedded changelog is capped: its changelog list (paged oldest first) is read instead.
        expands = [item for item in expands if item != "changelog"]
    elif changelog and "changelog" not in expands:
        expands.append("changelog")
    latest: Any = None
    comments_error: str | None = None
    if wanted is None and comment_limit:
        # Jira embeds *every* comment in the issue's comment field: a long-lived issue's answer
        # grows without bound. The latest few come from the comment list instead, alongside.
        raw, latest = await asyncio.gather(
            client.get_issue(key, fields=list(DEFAULT_FIELDS), expand=expands or None),
            COMMENTS.page(key, 0, comment_limit, orderBy="-created"),
            return_exceptions=True,
        )
        if isinstance(raw, BaseException):
            raise raw  # a missing issue fails both: name the issue read, not the comment list
        if isinstance(latest, UserFacingError):
            comments_error = str(latest)  # the issue was read: show it, and say why comments are missing
        elif isinstance(latest, BaseException):
            raise latest
    else:
        raw = await client.get_issue(key, fields=wanted or list(DEFAULT_FIELDS), expand=expands or None)
    history: Changes | None = None
    if changelog:
        history = (await latest_changes(client, key, CHANGES_IN_ISSUE) if client.is_cloud
                   else latest_from_expand(raw.get("changelog"), CHANGES_IN_ISSUE))
    with stage(RENDER):
        return await off_loop(_render_issue, raw, client.base_url, latest, comments_error, comment_limit, history,
                              what=f"issue {key}")


def _render_issue(
    raw: dict[str, Any], base_url: str, latest: Any, comments_error: str | None, comment_limit: int,
    history: Changes | None,
) -> dict[str, Any]:
    """jira_get_issue's answer: the issue rendered for reading, with its latest comments."""
    issue = compact_issue(raw, base_url)
    if comments_error is not None:
        issue["comment_error"] = comments_error
    elif latest is not None:
        shown = list(reversed(latest.get("comments") or []))  # oldest first, as Jira embeds them
        if shown:
            issue["comment"] = render_field("comment", shown)
        total = latest.get("total")
        if isinstance(total, int) and total > len(shown):
            issue["comment_total"] = total  # the rest: jira_get_comments
    elif isinstance(issue.get("comment"), list):
        issue["comment"] = issue["comment"][-comment_limit:] if comment_limit else []
    if history is not None:
        issue["changelog"] = history.changes
        issue["changelog_counts"] = history.summary()
    return issue


async def jira_create_issue(
    project_key: Annotated[str, Field(description="Project key, e.g. PROJ")],
    summary: str,
    issue_type: Annotated[str, Field(description="Task, Bug, Story, Epic, Sub-task...")] = "Task",
    description: Annotated[str | None, Field(description="Markdown")] = None,
    assignee: Annotated[str | None, Field(description="accountId (Cloud) or username (DC)")] = None,
    priority: str | None = None,
    labels: list[str] | None = None,
    components: list[str] | None = None,
    fix_versions: list[str] | None = None,
    due_date: Annotated[str | None, Field(description="YYYY-MM-DD")] = None,
    parent: Annotated[str | None, Field(description="Parent issue key (sub-task or epic child)")] = None,
    custom_fields: CustomFields = None,
) -> dict[str, Any]:
    """Create an issue. Returns its key and URL."""
    client = jira()
    fields = await _create_fields(
        guard_project(project_key), summary, issue_type, description, assignee, priority, labels, components,
        fix_versions, due_date, parent, custom_fields,
    )
    created = await client.request(
        "POST", f"{client.api}/issue", operation="issue.create", json_body={"fields": fields},
        touches=(f"project:{project_key.upper()}",),
    )
    return {"key": created["key"], "id": created["id"], "url": f"{client.base_url}/browse/{created['key']}"}


async def jira_batch_create_issues(
    issues: Annotated[
        list[dict[str, Any]],
        Field(description="Objects with the jira_create_issue arguments (project_key, summary, issue_type...)",
              min_length=1, max_length=500),
    ],
    ctx: Context | None = None,
) -> dict[str, Any]:
    """Create many issues with Jira's bulk API. Returns created keys and per-issue errors."""
    client = jira()
    allowed = {"project_key", "summary", "issue_type", "description", "assignee", "priority", "labels",
               "components", "fix_versions", "due_date", "parent", "custom_fields"}
    updates = []
    for index, item in enumerate(issues):
        unknown = set(item) - allowed
        if unknown or "project_key" not in item or "summary" not in item:
            problem = f"unknown keys {sorted(unknown)}" if unknown else "project_key and summary are required"
            raise UserFacingError(f"issues[{index}]: {problem}; accepted keys: {', '.join(sorted(allowed))}")
        fields = await _create_fields(
            guard_project(item["project_key"]), item["summary"], item.get("issue_type", "Task"),
            item.get("description"), item.get("assignee"), item.get("priority"), item.get("labels"),
            item.get("components"), item.get("fix_versions"), item.get("due_date"), item.get("parent"),
            item.get("custom_fields"),
        )
        updates.append({"fields": fields})
    created: list[str] = []
    errors: list[dict[str, Any]] = []
    for start in range(0, len(updates), BULK_CHUNK):
        chunk = updates[start : start + BULK_CHUNK]
        projects = {f"project:{u['fields']['project']['key']}" for u in chunk}
        answer = await client.request(
            "POST", f"{client.api}/issue/bulk", operation="issue.bulk_create",
            json_body={"issueUpdates": chunk}, touches=tuple(sorted(projects)),
        )
        created += [issue["key"] for issue in answer.get("issues", [])]
        for error in answer.get("errors", []):
            element = error.get("elementErrors") or {}
            detail = "; ".join([*element.get("errorMessages", []), *(f"{k}: {v}" for k, v in
                                                                       (element.get("errors") or {}).items())])
            errors.append({"index": start + int(error.get("failedElementNumber", 0)), "error": detail})
        if ctx is not None:
            await ctx.report_progress(min(start + BULK_CHUNK, len(updates)), len(updates), "issues submitted")
    return {"created": created, "errors": errors}


async def jira_update_issue(
    issue_key: IssueKey,
    fields: Annotated[
        dict[str, Any],
        Field(description='Fields to set by name or id, e.g. {"summary": "New", "priority": "High", '
                          '"labels": ["a"], "Story Points": 3}; description is Markdown'),
    ],
) -> dict[str, Any]:
    """Change fields of an issue (any field, custom fields by name)."""
    client = jira()
    key = guard_issue(issue_key)
    if not fields:
        raise UserFacingError("fields is empty: give at least one field to change")
    catalog = await FieldCatalog.of(client)
    converted = {}
    for name, value in fields.items():
        field = catalog.find(name)
        converted[field.id] = await catalog.to_jira(client, field, value)
    await client.request(
        "PUT", f"{client.api}/issue/{key}", operation="issue.update", json_body={"fields": converted},
        touches=(f"issue:{key}",), subject=key,
    )
    return {"key": key, "updated": sorted(catalog.name_of(field_id) for field_id in converted)}


async def jira_delete_issue(
    issue_key: IssueKey,
    delete_subtasks: Annotated[bool, Field(description="Also delete its sub-tasks")] = False,
) -> dict[str, Any]:
    """Delete an issue permanently."""
    client = jira()
    key = guard_issue(issue_key)
    await client.request(
        "DELETE", f"{client.api}/issue/{key}", operation="issue.delete",
        params={"deleteSubtasks": "true" if delete_subtasks else None}, touches=(f"issue:{key}",), subject=key,
    )
    return {"key": key, "deleted": True}


async def jira_assign_issue(
    issue_key: IssueKey,
    assignee: Annotated[str | None, Field(description="accountId (Cloud) or username (DC); null unassigns")],
) -> dict[str, Any]:
    """Assign an issue to a user, or unassign it."""
    client = jira()
    key = guard_issue(issue_key)
    body = client.user_ref(assignee) if assignee else ({"accountId": None} if client.is_cloud else {"name": None})
    await client.request(
        "PUT", f"{client.api}/issue/{key}/assignee", operation="issue.assign", json_body=body,
        touches=(f"issue:{key}",), subject=key,
    )
    return {"key": key, "assignee": assignee}


async def jira_clone_issue(
    issue_key: IssueKey,
    summary: Annotated[str | None, Field(description="Default: 'CLONE - <original summary>'")] = None,
    project_key: Annotated[str | None, Field(description="Target project; default: the same")] = None,
    link_type: Annotated[str | None, Field(description="Link the clone to the original, e.g. Cloners")] = None,
) -> dict[str, Any]:
    """Copy an issue's main fields into a new issue."""
    client = jira()
    key = guard_issue(issue_key)
    fields = ["summary", "issuetype", "description", "priority", "labels", "components", "project", "parent"]
    original = (await client.get_issue(key, fields=fields)).get("fields", {})
    target = guard_project(project_key or original["project"]["key"])
    new_fields: dict[str, Any] = {
        "project": {"key": target},
        "issuetype": {"id": original["issuetype"]["id"]},
        "summary": summary or f"CLONE - {original.get('summary', '')}",
    }
    for name in ("description", "priority", "labels", "components", "parent"):
        value = original.get(name)
        if value:
            new_fields[name] = {"key": value["key"]} if name == "parent" else value
    created = await client.request(
        "POST", f"{client.api}/issue", operation="issue.create", json_body={"fields": new_fields},
        touches=(f"project:{target}",),
    )
    if link_type:
        await client.request(
            "POST", f"{client.api}/issueLink", operation="issuelink.create",
            json_body={"type": {"name": link_type}, "inwardIssue": {"key": created["key"]},
                       "outwardIssue": {"key": key}},
            touches=(f"issue:{key}", f"issue:{created['key']}"),
        )
    return {"key": created["key"], "cloned_from": key, "url": f"{client.base_url}/browse/{created['key']}"}


async def jira_batch_get_changelogs(
    issue_keys: Annotated[list[str], Field(min_length=1, max_length=100)],
    fields: Annotated[str | None, Field(description="Only changes of these fields (comma-separated)")] = None,
    limit: Annotated[int, Field(ge=1, le=100, description="Max changes per issue")] = 20,
) -> dict[str, Any]:
    """Latest changes of several issues, oldest first, with how many histories each issue has."""
    client = jira()
    keys = [guard_issue(key) for key in issue_keys]
    only = {name.lower() for name in split_csv(fields) or []}

    def keep(entry: dict[str, Any]) -> bool:
        return not only or str(entry["field"]).lower() in only

    result: dict[str, Any] = {}
    for key in keys:
        found = await latest_changes(client, key, limit, keep)
        result[key] = {"changes": found.changes, **found.summary()}
    return {"changelogs": result}


# ------------------------------------------------------------------ helpers


async def _create_fields(
    project: str, summary: str, issue_type: str, description: str | None, assignee: str | None,
    priority: str | None, labels: list[str] | None, components: list[str] | None, fix_versions: list[str] | None,
    due_date: str | None, parent: str | None, custom_fields: dict[str, Any] | None,
) -> dict[str, Any]:
    client = jira()
    if not summary or not summary.strip():
        raise UserFacingError("summary is empty: give the issue a one-line summary")
    fields: dict[str, Any] = {
        "project": {"key": project},
        "summary": summary.strip(),
        "issuetype": {"name": issue_type},
    }
    if description:
        fields["description"] = await client.text_to_jira(description, argument="description")
    if assignee:
        fields["assignee"] = client.user_ref(assignee)
    if priority:
        fields["priority"] = {"name": priority}
    if labels:
        fields["labels"] = list(labels)
    if components:
        fields["components"] = [{"name": name} for name in components]
    if fix_versions:
        fields["fixVersions"] = [{"name": name} for name in fix_versions]
    if due_date:
        fields["duedate"] = due_date
    if parent:
        fields["parent"] = {"key": guard_issue(parent)}
    if custom_fields:
        catalog = await FieldCatalog.of(client)
        for name, value in custom_fields.items():
            field = catalog.find(name)
            if field.id in fields and field.id in REFERENCE_FIELDS:
                raise UserFacingError(f"custom_fields cannot set {field.name!r}: use the {field.id}"
                                      f"{'_key' if field.id == 'project' else ''} argument")
            fields[field.id] = await catalog.to_jira(client, field, value, argument="custom_fields")
    return fields


# Fields that have their own argument: custom_fields may not set them a second time. (Every
# reference in every field is checked against JIRA_PROJECTS_FILTER by jiraplug.server.projects_filter.)
REFERENCE_FIELDS = {"project", "parent"}


@hookimpl
def register_tools(registry: ToolRegistry) -> None:
    registry.add(jira_search, title="Search issues (JQL)", read_only=True, idempotent=True)
    registry.add(jira_get_issue, title="Get issue", read_only=True, idempotent=True)
    registry.add(jira_create_issue, title="Create issue")
    registry.add(jira_batch_create_issues, title="Create issues in bulk")
    registry.add(jira_update_issue, title="Update issue", idempotent=True)
    registry.add(jira_delete_issue, title="Delete issue", destructive=True, idempotent=True)
    registry.add(jira_assign_issue, title="Assign issue", idempotent=True)
    registry.add(jira_clone_issue, title="Clone issue")
    registry.add(jira_batch_get_changelogs, title="Get changelogs", read_only=True, idempotent=True)
