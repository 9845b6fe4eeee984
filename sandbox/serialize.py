"""Turn sandbox objects into Jira REST JSON, per flavour and API version.

One :class:`Renderer` is built per request: it knows the base URL (for ``self`` links),
the flavour (``cloud``: account ids, ADF on v3; ``dc``: user names, wiki markup) and the
API version of the request (Cloud serves v2 too, with wiki-markup text).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from typing import Any, TypeGuard
from urllib.parse import quote

from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.fields import EPIC_LINK, RANK, SEVERITY, SPRINT, STORY_POINTS, FieldSelection, catalogue
from jiraplug.sandbox.model import (
    Attachment,
    Board,
    Comment,
    Component,
    History,
    Issue,
    IssueLink,
    IssueType,
    LinkType,
    Priority,
    Project,
    RemoteLink,
    Resolution,
    SandboxUser,
    Sprint,
    Status,
    Version,
    Worklog,
)
from jiraplug.sandbox.richtext import Doc, to_adf, to_html, to_wiki
from jiraplug.sandbox.store import Store
from jiraplug.sandbox.timefmt import format_duration

__all__ = ["Renderer", "jira_datetime", "jira_date", "rendered_datetime"]

_ISSUE_EXPAND_CLOUD = ("renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations,"
                       "customfield_10010.requestTypePractice")
_CLOUD_EMBEDDED_HISTORIES = 100  # the rest: GET /issue/{key}/changelog, paged
_ISSUE_EXPAND_DC = "renderedFields,names,schema,operations,editmeta,changelog,versionedRepresentations"


def jira_datetime(moment: dt.datetime | None) -> str | None:
    """Jira's timestamp format: ``2026-11-20T10:15:30.000+0000``."""
    if moment is None:
        return None
    return moment.astimezone(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{moment.microsecond // 1000:03d}+0000"


def jira_date(day: dt.date | None) -> str | None:
    """Jira's date format: ``2026-11-20``."""
    return day.isoformat() if day is not None else None


def rendered_datetime(moment: dt.datetime | None) -> str | None:
    """How ``renderedFields`` shows a timestamp: ``20/Nov/26 10:15 AM``."""
    if moment is None:
        return None
    return moment.strftime("%d/%b/%y %I:%M %p")


def _sprint_iso(moment: dt.datetime | None) -> str | None:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z") if moment else None


#: Worklogs embedded in the issue's ``worklog`` field (Jira embeds the first 20).
EMBEDDED_WORKLOGS = 20


class Renderer:
    """Renders store objects as the JSON a real Jira of ``flavour`` would send.

    ``viewer`` is the calling user (for per-user values such as ``watches.isWatching``).
    """

    def __init__(self, store: Store, flavour: str, api_version: str, base_url: str,
                 viewer: SandboxUser | None = None) -> None:
        self.store = store
        self.viewer = viewer
        self.flavour = flavour
        self.api_version = "2" if api_version == "latest" else api_version
        self.base = base_url.rstrip("/")
        self.api = f"{self.base}/rest/api/{self.api_version}"
        self.adf = flavour == "cloud" and self.api_version == "3"
        self.fields = {f.id: f for f in catalogue(flavour)}

    # ------------------------------------------------------------------ text

    def text(self, doc: Doc | None) -> Any:
        """A rich-text value: an ADF document on Cloud v3, wiki markup elsewhere."""
        if doc is None:
            return None
        return to_adf(doc) if self.adf else to_wiki(doc)

    # ------------------------------------------------------------------ users

    def _avatar_urls(self, seed: str) -> dict[str, str]:
        if self.flavour == "cloud":
            digest = hashlib.md5(seed.encode(), usedforsecurity=False).hexdigest()
            url = (f"https://secure.gravatar.com/avatar/{digest}?d=https%3A%2F%2Favatar-management--avatars"
                   f".us-west-2.prod.public.atl-paas.net%2Finitials%2F{seed[:2].upper()}-0.png")
            return {size: url for size in ("48x48", "24x24", "16x16", "32x32")}
        return {size: f"{self.base}/secure/useravatar?size={name}&avatarId=10122"
                for size, name in (("48x48", "large"), ("24x24", "small"), ("16x16", "xsmall"),
                                   ("32x32", "medium"))}

    def user(self, user: SandboxUser | None) -> dict[str, Any] | None:
        """A user reference as embedded in issues (``UserDetails`` / ``UserJsonBean``)."""
        if user is None:
            return None
        if self.flavour == "cloud":
            return {
                "self": f"{self.api}/user?accountId={user.account_id}",
                "accountId": user.account_id,
                "emailAddress": user.email,
                "avatarUrls": self._avatar_urls(user.name),
                "displayName": user.display_name,
                "active": user.active,
                "timeZone": user.time_zone,
                "accountType": "atlassian",
            }
        return {
            "self": f"{self.api}/user?username={user.name}",
            "name": user.name,
            "key": user.key,
            "emailAddress": user.email,
            "avatarUrls": self._avatar_urls(user.name),
            "displayName": user.display_name,
            "active": user.active,
            "timeZone": user.time_zone,
        }

    def user_full(self, user: SandboxUser) -> dict[str, Any]:
        """A user as ``GET /user`` returns it (groups and roles collapsed, as without ``expand``)."""
        body = self.myself(user)
        body.pop("locale", None)
        return body

    def myself(self, user: SandboxUser) -> dict[str, Any]:
        """``GET /myself``: the full user with groups and application roles."""
        body = dict(self.user(user) or {})
        body["locale"] = "en_US" if self.flavour == "dc" else "en_GB"
        groups = ["jira-software-users"] + (["jira-administrators"] if user is self.store.default_user else [])
        body["groups"] = {"size": len(groups), "items": []}
        body["applicationRoles"] = {"size": 1, "items": []}
        body["expand"] = "groups,applicationRoles"
        if self.flavour == "dc":
            body["deleted"] = False
        return body

    # ------------------------------------------------------------------ reference objects

    def status(self, status: Status) -> dict[str, Any]:
        """A status with its category."""
        category = status.category
        return {
            "self": f"{self.api}/status/{status.id}",
            "description": status.description,
            "iconUrl": f"{self.base}{status.icon}",
            "name": status.name,
            "id": status.id,
            "statusCategory": {
                "self": f"{self.api}/statuscategory/{category.id}",
                "id": category.id,
                "key": category.key,
                "colorName": category.color_name,
                "name": category.name,
            },
        }

    def issuetype(self, itype: IssueType) -> dict[str, Any]:
        """An issue type reference."""
        body: dict[str, Any] = {
            "self": f"{self.api}/issuetype/{itype.id}",
            "id": itype.id,
            "description": itype.description,
            "iconUrl": f"{self.base}/rest/api/2/universal_avatar/view/type/issuetype/avatar/{itype.avatar_id}"
                       "?size=medium",
            "name": itype.name,
            "subtask": itype.subtask,
            "avatarId": itype.avatar_id,
        }
        if self.flavour == "cloud":
            body["hierarchyLevel"] = itype.hierarchy_level
        return body

    def priority(self, priority: Priority) -> dict[str, Any]:
        """A priority reference."""
        return {
            "self": f"{self.api}/priority/{priority.id}",
            "iconUrl": f"{self.base}/images/icons/priorities/{priority.name.lower()}.svg",
            "name": priority.name,
            "id": priority.id,
        }

    def resolution(self, resolution: Resolution | None) -> dict[str, Any] | None:
        """A resolution reference (``None`` while unresolved)."""
        if resolution is None:
            return None
        return {"self": f"{self.api}/resolution/{resolution.id}", "id": resolution.id,
                "description": resolution.description, "name": resolution.name}

    def component(self, component: Component) -> dict[str, Any]:
        """A component as embedded in issues."""
        return {"self": f"{self.api}/component/{component.id}", "id": component.id, "name": component.name,
                "description": component.description}

    def component_full(self, component: Component) -> dict[str, Any]:
        """A component as ``/project/{key}/components`` and ``/component`` return it."""
        body = {**self.component(component), "assigneeType": "PROJECT_DEFAULT",
                "realAssigneeType": "PROJECT_DEFAULT", "isAssigneeTypeValid": False,
                "project": component.project_key}
        if component.lead is not None:
            body["lead"] = self.user(component.lead)
            if self.flavour == "dc":
                body["leadUserName"] = component.lead.name
        if self.flavour == "cloud":
            body["projectId"] = int(component.project_id)
        else:
            body["archived"] = False
            body["deleted"] = False
        return body

    def severity(self, option_id: str | None) -> dict[str, Any] | None:
        """The Severity select value (``None`` when unset)."""
        value = dict(ref.SEVERITY_OPTIONS).get(option_id or "")
        if value is None:
            return None
        return {"self": f"{self.api}/customFieldOption/{option_id}", "value": value, "id": option_id}

    def version(self, version: Version) -> dict[str, Any]:
        """A version as embedded in issues."""
        body: dict[str, Any] = {"self": f"{self.api}/version/{version.id}", "id": version.id,
                                "description": version.description, "name": version.name,
                                "archived": version.archived, "released": version.released}
        if version.release_date:
            body["releaseDate"] = version.release_date.isoformat()
        return body

    def version_full(self, version: Version) -> dict[str, Any]:
        """A version as ``/project/{key}`` lists it."""
        body = self.version(version)
        if version.start_date:
            body["startDate"] = version.start_date.isoformat()
        if version.released and version.release_date:
            body["userReleaseDate"] = version.release_date.strftime("%d/%b/%y")
        body["projectId"] = int(version.project_id)
        if not version.released and version.release_date:
            body["overdue"] = version.release_date < self.store.now().date()
        if self.flavour == "dc":
            body["project"] = version.project_key
        return body

    def _project_avatars(self, project: Project) -> dict[str, str]:
        return {size: f"{self.base}/secure/projectavatar?size={name}&pid={project.id}"
                for size, name in (("48x48", "large"), ("24x24", "small"), ("16x16", "xsmall"),
                                   ("32x32", "medium"))}

    def project_ref(self, project: Project) -> dict[str, Any]:
        """A project as embedded in issues."""
        body: dict[str, Any] = {"self": f"{self.api}/project/{project.id}", "id": project.id, "key": project.key,
                                "name": project.name, "projectTypeKey": "software"}
        if self.flavour == "cloud":
            body["simplified"] = False
        body["avatarUrls"] = self._project_avatars(project)
        return body

    def project_summary(self, project: Project) -> dict[str, Any]:
        """A project as ``GET /project`` lists it."""
        body: dict[str, Any] = {
            "expand": "description,lead,issueTypes,url,projectKeys,permissions,insight"
            if self.flavour == "cloud" else "description,lead,url,projectKeys",
            "self": f"{self.api}/project/{project.id}",
            "id": project.id,
            "key": project.key,
            "name": project.name,
            "avatarUrls": self._project_avatars(project),
            "projectTypeKey": "software",
        }
        if self.flavour == "cloud":
            body.update({"simplified": False, "style": "classic", "isPrivate": False, "properties": {}})
        else:
            body["archived"] = False
        return body

    def project_detail(self, project: Project) -> dict[str, Any]:
        """A project as ``GET /project/{key}`` returns it."""
        body = self.project_summary(project)
        body.update({
            "description": project.description,
            "lead": self.user(project.lead),
            "components": [self.component_full(c) for c in project.components],
            "issueTypes": [self.issuetype(t) for t in self.store.issue_types],
            "assigneeType": "UNASSIGNED",
            "versions": [self.version_full(v) for v in project.versions],
            "roles": {name: f"{self.api}/project/{project.id}/role/{rid}"
                      for name, rid in (("Administrators", 10002), ("Developers", 10001))},
        })
        if self.flavour == "dc":
            body["projectKeys"] = [project.key]
        return body

    # ------------------------------------------------------------------ issue pieces

    def issue_self(self, issue: Issue) -> str:
        """The ``self`` link of an issue (by id, as Jira does)."""
        return f"{self.api}/issue/{issue.id}"

    def visible(self, issue: Issue | None) -> TypeGuard[Issue]:
        """Whether the viewer may see ``issue``: Jira leaves out linked issues (links, parent,
        sub-tasks, epic) of projects the viewer cannot browse, rather than show their summaries."""
        return issue is not None and (self.viewer is None or self.viewer.can_browse(issue.project_key))

    def issue_ref(self, issue: Issue) -> dict[str, Any]:
        """A compact issue (parent, sub-tasks, links): id, key, self and four fields."""
        return {
            "id": str(issue.id),
            "key": issue.key,
            "self": self.issue_self(issue),
            "fields": {
                "summary": issue.summary,
                "status": self.status(issue.status),
                "priority": self.priority(issue.priority),
                "issuetype": self.issuetype(issue.issuetype),
            },
        }

    def comment(self, issue: Issue, comment: Comment, *, html: bool = False,
                rendered_body: bool = False) -> dict[str, Any]:
        """One comment; ``html`` renders the body and dates as ``renderedFields`` does;
        ``rendered_body`` adds ``renderedBody`` (``expand=renderedBody``)."""
        body: dict[str, Any] = {
            "self": f"{self.api}/issue/{issue.id}/comment/{comment.id}",
            "id": comment.id,
            "author": self.user(comment.author),
            "body": to_html(comment.body) if html else self.text(comment.body),
            "updateAuthor": self.user(comment.update_author or comment.author),
            "created": rendered_datetime(comment.created) if html else jira_datetime(comment.created),
            "updated": rendered_datetime(comment.updated) if html else jira_datetime(comment.updated),
        }
        if rendered_body:
            body["renderedBody"] = to_html(comment.body)
        if self.flavour == "cloud":
            body["jsdPublic"] = True
        return body

    def comment_page(self, issue: Issue, *, html: bool = False) -> dict[str, Any]:
        """The ``comment`` field: a page holding every comment."""
        comments = [self.comment(issue, c, html=html) for c in issue.comments]
        return {"comments": comments, "self": f"{self.api}/issue/{issue.id}/comment",
                "maxResults": len(comments), "total": len(comments), "startAt": 0}

    def link(self, issue: Issue, link: IssueLink) -> dict[str, Any] | None:
        """An issue link seen from ``issue`` (``outwardIssue`` if it is the source)."""
        other_id = link.inward_issue_id if link.outward_issue_id == issue.id else link.outward_issue_id
        other = self.store.issue_by_id(other_id)
        if other is None or not self.visible(other):
            return None
        body: dict[str, Any] = {
            "id": link.id,
            "self": f"{self.api}/issueLink/{link.id}",
            "type": {"id": link.type.id, "name": link.type.name, "inward": link.type.inward,
                     "outward": link.type.outward, "self": f"{self.api}/issueLinkType/{link.type.id}"},
        }
        body["outwardIssue" if link.outward_issue_id == issue.id else "inwardIssue"] = self.issue_ref(other)
        return body

    def link_type(self, link_type: LinkType) -> dict[str, Any]:
        """An issue link type."""
        return {"id": link_type.id, "name": link_type.name, "inward": link_type.inward,
                "outward": link_type.outward, "self": f"{self.api}/issueLinkType/{link_type.id}"}

    def issue_link(self, link: IssueLink) -> dict[str, Any]:
        """``GET /issueLink/{id}``: ``outwardIssue`` is the source, ``inwardIssue`` the target."""
        body: dict[str, Any] = {"id": link.id, "self": f"{self.api}/issueLink/{link.id}",
                                "type": self.link_type(link.type)}
        source = self.store.issue_by_id(link.outward_issue_id)
        target = self.store.issue_by_id(link.inward_issue_id)
        if target is not None:
            body["inwardIssue"] = self.issue_ref(target)
        if source is not None:
            body["outwardIssue"] = self.issue_ref(source)
        return body

    def remote_link(self, issue: Issue, link: RemoteLink) -> dict[str, Any]:
        """A remote issue link."""
        obj: dict[str, Any] = {"url": link.url, "title": link.title}
        if link.summary is not None:
            obj["summary"] = link.summary
        if link.icon_url:
            obj["icon"] = {"url16x16": link.icon_url, "title": link.application_name or link.title}
        if link.resolved is not None:
            obj["status"] = {"resolved": link.resolved, "icon": {}}
        body: dict[str, Any] = {"id": link.id, "self": f"{self.api}/issue/{issue.key}/remotelink/{link.id}"}
        if link.global_id is not None:
            body["globalId"] = link.global_id
        if link.application_name is not None or link.application_type is not None:
            body["application"] = {k: v for k, v in (("type", link.application_type),
                                                     ("name", link.application_name)) if v is not None}
        if link.relationship is not None:
            body["relationship"] = link.relationship
        body["object"] = obj
        return body

    def watchers(self, issue: Issue) -> dict[str, Any]:
        """``GET /issue/{key}/watchers``."""
        return {"self": f"{self.api}/issue/{issue.key}/watchers", "isWatching": self.viewer in issue.watchers,
                "watchCount": len(issue.watchers), "watchers": [self.user(u) for u in issue.watchers]}

    def worklog(self, issue: Issue, worklog: Worklog) -> dict[str, Any]:
        """One worklog."""
        body: dict[str, Any] = {
            "self": f"{self.api}/issue/{issue.id}/worklog/{worklog.id}",
            "author": self.user(worklog.author),
            "updateAuthor": self.user(worklog.update_author or worklog.author),
        }
        if worklog.comment is not None:
            body["comment"] = self.text(worklog.comment)
        body.update({
            "created": jira_datetime(worklog.created),
            "updated": jira_datetime(worklog.updated),
            "started": jira_datetime(worklog.started),
            "timeSpent": format_duration(worklog.time_spent_seconds),
            "timeSpentSeconds": worklog.time_spent_seconds,
            "id": worklog.id,
            "issueId": str(issue.id),
        })
        return body

    def worklog_page(self, issue: Issue, start_at: int = 0, max_results: int = EMBEDDED_WORKLOGS) -> dict[str, Any]:
        """A page of worklogs (the ``worklog`` field and ``GET /issue/{key}/worklog``)."""
        page = issue.worklogs[start_at: start_at + max_results]
        return {"startAt": start_at, "maxResults": max_results, "total": len(issue.worklogs),
                "worklogs": [self.worklog(issue, w) for w in page]}

    def attachment_content_url(self, attachment: Attachment) -> str:
        """Where the bytes are: Cloud's REST content URL, or Data Center's ``/secure/attachment`` URL."""
        if self.flavour == "cloud":
            return f"{self.api}/attachment/content/{attachment.id}"
        return f"{self.base}/secure/attachment/{attachment.id}/{quote(attachment.filename)}"

    def attachment(self, attachment: Attachment, *, metadata: bool = False) -> dict[str, Any]:
        """An attachment as embedded in issues (``metadata``: as ``GET /attachment/{id}`` returns it)."""
        body: dict[str, Any] = {
            "self": f"{self.api}/attachment/{attachment.id}",
            "id": int(attachment.id) if metadata and self.flavour == "cloud" else attachment.id,
            "filename": attachment.filename,
            "author": self.user(attachment.author),
            "created": jira_datetime(attachment.created),
            "size": attachment.size,
            "mimeType": attachment.mime_type,
            "content": self.attachment_content_url(attachment),
        }
        if metadata and self.flavour == "cloud":
            body["properties"] = {}
        return body

    def board(self, board: Board) -> dict[str, Any]:
        """An agile board with its location (the project)."""
        project = self.store.projects[board.project_key]
        body: dict[str, Any] = {"id": board.id, "self": f"{self.base}/rest/agile/1.0/board/{board.id}",
                                "name": board.name, "type": board.type}
        location: dict[str, Any] = {"projectId": int(project.id), "displayName": f"{project.name} ({project.key})",
                                    "projectName": project.name, "projectKey": project.key,
                                    "projectTypeKey": "software",
                                    "avatarURI": f"{self.base}/secure/projectavatar?size=small&pid={project.id}",
                                    "name": f"{project.name} ({project.key})"}
        body["location"] = location
        if self.flavour == "cloud":
            body["isPrivate"] = False
        return body

    def sprint(self, sprint: Sprint) -> dict[str, Any]:
        """An agile sprint (``/rest/agile/1.0/sprint/{id}``)."""
        body: dict[str, Any] = {"id": sprint.id, "self": f"{self.base}/rest/agile/1.0/sprint/{sprint.id}",
                                "state": sprint.state, "name": sprint.name}
        for key, value in (("startDate", sprint.start), ("endDate", sprint.end),
                           ("completeDate", sprint.complete)):
            if value is not None:
                body[key] = _sprint_iso(value)
        if self.flavour == "dc" and sprint.start is not None and sprint.state != "future":
            body["activatedDate"] = _sprint_iso(sprint.start)
        body["originBoardId"] = sprint.board_id
        body["goal"] = sprint.goal
        if self.flavour == "dc":
            body.update({"synced": False, "autoStartStop": False})
        return body

    def time_tracking(self, issue: Issue) -> dict[str, Any]:
        """The ``timetracking`` field (empty when nothing is estimated or logged)."""
        body: dict[str, Any] = {}
        if issue.original_estimate is not None:
            body["originalEstimate"] = format_duration(issue.original_estimate)
        if issue.remaining_estimate is not None:
            body["remainingEstimate"] = format_duration(issue.remaining_estimate)
        if issue.time_spent is not None:
            body["timeSpent"] = format_duration(issue.time_spent)
        if issue.original_estimate is not None:
            body["originalEstimateSeconds"] = issue.original_estimate
        if issue.remaining_estimate is not None:
            body["remainingEstimateSeconds"] = issue.remaining_estimate
        if issue.time_spent is not None:
            body["timeSpentSeconds"] = issue.time_spent
        return body

    @staticmethod
    def progress(issue: Issue) -> dict[str, Any]:
        """The ``progress`` field: time spent over spent plus remaining."""
        spent = issue.time_spent or 0
        total = spent + (issue.remaining_estimate or 0)
        body: dict[str, Any] = {"progress": spent, "total": total}
        if total:
            body["percent"] = spent * 100 // total
        return body

    def sprint_value(self, sprint: Sprint) -> Any:
        """A Sprint field entry: an object on Cloud, the legacy ``toString`` on Data Center."""
        if self.flavour == "cloud":
            body: dict[str, Any] = {"id": sprint.id, "name": sprint.name, "state": sprint.state,
                                    "boardId": sprint.board_id, "goal": sprint.goal}
            for key, value in (("startDate", sprint.start), ("endDate", sprint.end),
                               ("completeDate", sprint.complete)):
                if value is not None:
                    body[key] = _sprint_iso(value)
            return body
        def part(value: dt.datetime | None) -> str:
            return _sprint_iso(value) or "<null>"
        return (f"com.atlassian.greenhopper.service.sprint.Sprint@{sprint.id:x}a1b2[id={sprint.id},"
                f"rapidViewId={sprint.board_id},state={sprint.state.upper()},name={sprint.name},"
                f"startDate={part(sprint.start)},endDate={part(sprint.end)},completeDate={part(sprint.complete)},"
                f"activatedDate={part(sprint.start)},sequence={sprint.sequence},goal={sprint.goal},"
                f"synced=false,autoStartStop=false,incompleteIssuesDestinationId=<null>]")

    # ------------------------------------------------------------------ fields

    def field_value(self, issue: Issue, field_id: str) -> Any:
        """The JSON value of one field of ``issue``."""
        store = self.store
        if field_id == "summary":
            return issue.summary
        if field_id == "description":
            return self.text(issue.description)
        if field_id == "environment":
            return issue.environment
        if field_id == "issuetype":
            return self.issuetype(issue.issuetype)
        if field_id == "status":
            return self.status(issue.status)
        if field_id == "priority":
            return self.priority(issue.priority)
        if field_id in ("assignee", "reporter", "creator"):
            return self.user(getattr(issue, field_id))
        if field_id == "project":
            return self.project_ref(store.project_of(issue))
        if field_id == "labels":
            return list(issue.labels)
        if field_id == "components":
            return [self.component(c) for c in issue.components]
        if field_id == "fixVersions":
            return [self.version(v) for v in issue.fix_versions]
        if field_id == "versions":
            return [self.version(v) for v in issue.affects_versions]
        if field_id == "duedate":
            return jira_date(issue.duedate)
        if field_id in ("created", "updated", "resolutiondate"):
            return jira_datetime(getattr(issue, field_id))
        if field_id == "statuscategorychangedate":
            return jira_datetime(issue.status_changed or issue.created)
        if field_id == "resolution":
            return self.resolution(issue.resolution)
        if field_id == "parent":
            parent = store.parent_of(issue)
            if not self.visible(parent) or (self.flavour == "dc" and not issue.issuetype.subtask):
                return None
            return self.issue_ref(parent)
        if field_id == "subtasks":
            return [self.issue_ref(s) for s in store.subtasks_of(issue) if self.visible(s)]
        if field_id == "issuelinks":
            return [x for x in (self.link(issue, link) for link in issue.links) if x is not None]
        if field_id == "comment":
            return self.comment_page(issue)
        if field_id == "worklog":
            return self.worklog_page(issue)
        if field_id == "attachment":
            return [self.attachment(a) for a in issue.attachments]
        if field_id == "watches":
            return {"self": f"{self.api}/issue/{issue.key}/watchers", "watchCount": len(issue.watchers),
                    "isWatching": self.viewer in issue.watchers}
        if field_id == "votes":
            return {"self": f"{self.api}/issue/{issue.key}/votes", "votes": 0, "hasVoted": False}
        if field_id in ("progress", "aggregateprogress"):
            return self.progress(issue)
        if field_id == "timetracking":
            return self.time_tracking(issue)
        if field_id in ("timeoriginalestimate", "aggregatetimeoriginalestimate"):
            return issue.original_estimate
        if field_id in ("timeestimate", "aggregatetimeestimate"):
            return issue.remaining_estimate
        if field_id in ("timespent", "aggregatetimespent"):
            return issue.time_spent
        if field_id == "workratio":
            if not issue.original_estimate:
                return -1
            return (issue.time_spent or 0) * 100 // issue.original_estimate
        if field_id == SEVERITY:
            return self.severity(issue.severity)
        if field_id == STORY_POINTS:
            return issue.story_points
        if field_id == SPRINT:
            sprints = [store.sprints[s] for s in issue.sprint_ids if s in store.sprints]
            return [self.sprint_value(s) for s in sprints] or None
        if field_id == RANK:
            return issue.rank
        if field_id == EPIC_LINK:
            parent = store.parent_of(issue)
            return parent.key if self.visible(parent) and parent.issuetype.name == "Epic" else None
        return None  # security, lastViewed, time tracking numbers, ...

    def rendered_value(self, issue: Issue, field_id: str) -> Any:
        """The ``renderedFields`` value of one field (HTML text, human dates, else null)."""
        if field_id == "description":
            return to_html(issue.description) if issue.description is not None else None
        if field_id == "comment":
            return self.comment_page(issue, html=True)
        if field_id in ("created", "updated", "resolutiondate"):
            return rendered_datetime(getattr(issue, field_id))
        if field_id == "duedate":
            return issue.duedate.strftime("%d/%b/%y") if issue.duedate else None
        if field_id == "environment":
            return issue.environment
        if field_id == "worklog":
            page = self.worklog_page(issue)
            for entry, worklog in zip(page["worklogs"], issue.worklogs, strict=False):
                entry["comment"] = to_html(worklog.comment) if worklog.comment is not None else ""
                for key in ("created", "updated", "started"):
                    entry[key] = rendered_datetime(getattr(worklog, key))
            return page
        if field_id == "attachment":
            return [{**self.attachment(a), "created": rendered_datetime(a.created),
                     "size": f"{max(1, round(a.size / 1024))} kB"} for a in issue.attachments]
        return None

    def history(self, history: History) -> dict[str, Any]:
        """One changelog history entry."""
        items = []
        for item in history.items:
            entry: dict[str, Any] = {"field": item.field, "fieldtype": item.field_type}
            if self.flavour == "cloud":
                entry["fieldId"] = item.field_id or item.field
            entry.update({"from": item.from_id, "fromString": item.from_string, "to": item.to_id,
                          "toString": item.to_string})
            items.append(entry)
        return {"id": history.id, "author": self.user(history.author), "created": jira_datetime(history.created),
                "items": items}

    def changelog(self, issue: Issue) -> dict[str, Any]:
        """The ``changelog`` expansion, most recent first; Cloud embeds at most 100 histories."""
        ordered = sorted(issue.changelog, key=lambda h: (h.created, int(h.id)), reverse=True)
        shown = ordered[:_CLOUD_EMBEDDED_HISTORIES] if self.flavour == "cloud" else ordered
        histories = [self.history(h) for h in shown]
        return {"startAt": 0, "maxResults": len(histories), "total": len(ordered), "histories": histories}

    def transitions(self, issue: Issue) -> list[dict[str, Any]]:
        """The workflow transitions available from the issue's status (none for read-only users)."""
        if self.viewer is not None and not self.viewer.can_edit(issue.project_key):
            return []
        targets = dict(ref.TRANSITIONS)
        result = []
        for tid in ref.WORKFLOW.get(issue.status.id, ()):
            target = targets[tid]
            body: dict[str, Any] = {"id": tid, "name": target.name, "to": self.status(target)}
            if self.flavour == "cloud":
                body.update({"hasScreen": False, "isGlobal": True, "isInitial": False, "isAvailable": True,
                             "isConditional": False, "isLooped": False})
            else:
                body["opsbarSequence"] = int(tid)
            result.append(body)
        return result

    def names(self, field_ids: list[str]) -> dict[str, str]:
        """The ``names`` expansion: field id to display name."""
        return {fid: self.fields[fid].display_name(self.flavour) for fid in field_ids if fid in self.fields}

    def schema(self, field_ids: list[str]) -> dict[str, Any]:
        """The ``schema`` expansion: field id to JSON type bean."""
        return {fid: dict(self.fields[fid].schema or {}) for fid in field_ids
                if fid in self.fields and self.fields[fid].schema}

    def issue(self, issue: Issue, selection: FieldSelection, expand: set[str]) -> dict[str, Any]:
        """A full issue bean limited to ``selection`` and with the requested expansions."""
        body: dict[str, Any] = {
            "expand": _ISSUE_EXPAND_CLOUD if self.flavour == "cloud" else _ISSUE_EXPAND_DC,
            "id": str(issue.id),
            "self": self.issue_self(issue),
            "key": issue.key,
        }
        if "renderedfields" in expand:
            body["renderedFields"] = {fid: self.rendered_value(issue, fid) for fid in selection.ids}
        if "names" in expand:
            body["names"] = self.names(selection.ids)
        if "schema" in expand:
            body["schema"] = self.schema(selection.ids)
        if "transitions" in expand:
            body["transitions"] = self.transitions(issue)
        if "changelog" in expand:
            body["changelog"] = self.changelog(issue)
        body["fields"] = {fid: self.field_value(issue, fid) for fid in selection.ids}
        return body
