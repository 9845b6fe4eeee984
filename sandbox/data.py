"""Seeded generation of the sandbox's projects and issues.

Everything here draws from one ``random.Random(seed)``: the same seed always yields the
same issues, byte for byte, and a different seed yields different ones. Timestamps are
laid out before the frozen :data:`~jiraplug.sandbox.model.REFERENCE_NOW`.
"""

from __future__ import annotations

import datetime as dt
import random
from dataclasses import dataclass, field

from jiraplug.sandbox import reference as ref
from jiraplug.sandbox.model import (
    Board,
    REFERENCE_NOW,
    ChangeItem,
    Comment,
    Component,
    History,
    Issue,
    IssueLink,
    IssueType,
    Project,
    SandboxUser,
    Sprint,
    Status,
    Version,
)
from jiraplug.sandbox.richtext import BulletList, CodeBlock, Doc, Heading, OrderedList, Paragraph, Text
from jiraplug.sandbox.seed_extras import add_extras, make_boards

__all__ = ["Dataset", "generate"]

_DAY = dt.timedelta(days=1)
_HISTORY_DAYS = 240

_LABELS = ("backend", "frontend", "tech-debt", "security", "performance", "customer-reported",
           "regression", "ux", "flaky-test", "documentation", "observability", "accessibility")

_BUG_SYMPTOMS = ("returns 500 on an empty payload", "times out under load", "crashes after the upgrade",
                 "shows stale data after refresh", "leaks memory in long sessions", "fails on Unicode input",
                 "drops events during deploys", "double-charges on retry", "logs tokens in plain text",
                 "ignores the timezone setting", "hangs when the network is flaky", "rejects valid emails")
_STORY_GOALS = ("support single sign-on for", "add audit history to", "export CSV reports from",
                "show live status in", "allow bulk edits in", "add dark mode to", "localise error messages in",
                "add rate-limit feedback to", "let admins configure", "paginate results in")
_TASK_TEMPLATES = ("Upgrade {area} dependencies", "Write runbook for {area}", "Add metrics and alerts for {area}",
                   "Migrate {area} to the new config format", "Remove dead feature flags from {area}",
                   "Load-test {area} before the release", "Rotate credentials used by {area}",
                   "Document the {area} API")
_EPIC_TEMPLATES = ("{Area} reliability", "Revamp the {area}", "{Area} hardening for 2027",
                   "Self-service {area}", "{Area} observability")
_SUBTASK_TEMPLATES = ("Write tests for {thing}", "Update docs for {thing}", "Code review: {thing}",
                      "Add telemetry to {thing}", "QA pass on {thing}", "Clean up after {thing}")
_PERSONAS = ("an admin", "a new user", "a support engineer", "an on-call engineer", "a billing manager",
             "a mobile user")
_BENEFITS = ("I can finish my work without asking for help", "we stop losing customer data",
             "incidents are spotted before customers notice", "I can trust what the dashboard shows",
             "the team saves an hour a week")
_COMMENTS = ("I can reproduce this on staging.", "Looks good to me, merging after CI passes.",
             "Could we split this into two smaller changes?", "Blocked until the schema migration lands.",
             "Added a regression test, see the linked PR.", "Customer confirmed the fix works.",
             "This overlaps with the work in the epic; let's sync tomorrow.",
             "Moved to the next sprint, we ran out of capacity.", "Root cause is a race in the retry loop.",
             "Please attach the logs from the failing run.")
_STACKS = {
    "python": 'Traceback (most recent call last):\n  File "service/handlers.py", line 88, in handle\n'
              '    payload = decode(request.body)\nValueError: unexpected end of JSON input',
    "java": "java.lang.IllegalStateException: Connection pool shut down\n"
            "\tat org.apache.http.impl.conn.PoolingHttpClientConnectionManager.requestConnection(...)\n"
            "\tat com.example.billing.Client.charge(Client.java:142)",
    "bash": "$ curl -s -o /dev/null -w '%{http_code}' https://staging.example.com/healthz\n503",
    "yaml": "resources:\n  limits:\n    memory: 512Mi\n  requests:\n    cpu: 250m",
}


@dataclass(slots=True)
class Dataset:
    """The generated world: users, projects (with components, versions, sprints), boards and issues."""

    seed: int
    users: list[SandboxUser]
    projects: list[Project]
    issues: list[Issue] = field(default_factory=list)
    boards: list[Board] = field(default_factory=list)


class _Ids:
    """Global id counters, as Jira allocates them (issues, comments, versions, ...)."""

    def __init__(self) -> None:
        self.issue = 10000
        self.comment = 10000
        self.component = 10000
        self.version = 10000
        self.link = 10000
        self.history = 10000
        self.sprint = 0
        self.worklog = 10000
        self.attachment = 10000
        self.remote_link = 10000

    def next(self, name: str) -> int:
        value = getattr(self, name) + 1
        setattr(self, name, value)
        return value


def _ts(moment: dt.datetime) -> dt.datetime:
    """Drop sub-second precision (Jira timestamps have milliseconds; ours are .000)."""
    return moment.replace(microsecond=0)


def _between(rng: random.Random, start: dt.datetime, end: dt.datetime) -> dt.datetime:
    if end <= start:
        return start
    span = (end - start).total_seconds()
    return _ts(start + dt.timedelta(seconds=rng.uniform(0, span)))


def _capital(text: str) -> str:
    return text[:1].upper() + text[1:]


# --------------------------------------------------------------------------- projects


def _make_projects(rng: random.Random, ids: _Ids, users: dict[str, SandboxUser]) -> list[Project]:
    projects: list[Project] = []
    for index, spec in enumerate(ref.PROJECT_SPECS):
        pid = str(10000 + index)
        key = str(spec["key"])
        project = Project(id=pid, key=key, name=str(spec["name"]), description=str(spec["description"]),
                          lead=users[str(spec["lead"])], board_id=index + 1)
        visible = [u for u in users.values() if u.can_edit(key)]
        for name in spec["components"]:  # type: ignore[attr-defined]
            project.components.append(Component(
                id=str(ids.next("component")), name=name, description=f"Work on {name}.", project_key=key,
                project_id=pid, lead=rng.choice(visible)))
        versions: list[tuple[str, bool]] = spec["versions"]  # type: ignore[assignment]
        for seq, (name, released) in enumerate(versions):
            # Releases are spaced ~8 weeks apart, the first unreleased one is due soon.
            offset = (seq - sum(1 for _, r in versions if r)) * 56 + 21
            release = (REFERENCE_NOW + dt.timedelta(days=offset)).date()
            project.versions.append(Version(
                id=str(ids.next("version")), name=name, description=f"{project.name} release {name}",
                project_key=key, project_id=pid, sequence=seq, released=released,
                start_date=release - dt.timedelta(days=56), release_date=release))
        project.sprints = _make_sprints(ids, project)
        projects.append(project)
    return projects


def _make_sprints(ids: _Ids, project: Project) -> list[Sprint]:
    """Five two-week sprints: three closed, one active (day 6 of 14), one future."""
    sprints: list[Sprint] = []
    active_start = _ts(REFERENCE_NOW - 6 * _DAY).replace(hour=9, minute=0, second=0)
    for seq in range(5):
        start = active_start + (seq - 3) * 14 * _DAY
        end = start + 14 * _DAY
        state = "closed" if seq < 3 else "active" if seq == 3 else "future"
        sprints.append(Sprint(
            id=ids.next("sprint"), name=f"{project.key} Sprint {seq + 1}", state=state, board_id=project.board_id,
            project_key=project.key, goal="" if seq % 2 else f"Ship the {project.name.lower()} milestone {seq + 1}",
            start=start if state != "future" else None, end=end if state != "future" else None,
            complete=end if state == "closed" else None, sequence=seq + 1))
    return sprints


# --------------------------------------------------------------------------- text


def _summary(rng: random.Random, itype: IssueType, area: str, parent: Issue | None) -> str:
    if itype.name == "Bug":
        return f"{_capital(area)} {rng.choice(_BUG_SYMPTOMS)}"
    if itype.name == "Story":
        return f"As {rng.choice(_PERSONAS)}, {rng.choice(_STORY_GOALS)} the {area}"
    if itype.name == "Task":
        return rng.choice(_TASK_TEMPLATES).format(area=area)
    if itype.name == "Epic":
        return rng.choice(_EPIC_TEMPLATES).format(area=area, Area=_capital(area))
    thing = parent.summary if parent else area
    if len(thing) > 60:
        thing = thing[:57].rstrip() + "..."
    return rng.choice(_SUBTASK_TEMPLATES).format(thing=thing)


def _description(rng: random.Random, itype: IssueType, area: str) -> Doc:
    code = lambda s: Text(s, ("code",))  # noqa: E731
    if itype.name == "Bug":
        lang = rng.choice(sorted(_STACKS))
        return Doc((
            Paragraph((Text(f"The {area} misbehaves since the last deploy. "),
                       Text("Severity: ", ("strong",)), Text(rng.choice(("customer-facing", "internal only"))))),
            Heading(3, (Text("Steps to reproduce"),)),
            OrderedList(((Text(f"Open the {area}"),), (Text("Trigger the request with "), code("retry=3")),
                         (Text("Watch the logs"),))),
            Paragraph((Text("Expected: ", ("strong",)), Text("the request succeeds. "),
                       Text("Actual: ", ("strong",)), Text("it fails with the error below."))),
            CodeBlock(_STACKS[lang], lang),
        ))
    if itype.name == "Story":
        criteria = rng.sample(["The change is behind a feature flag", "Errors are shown inline, not as a toast",
                               "Works offline and syncs later", "Audit events are emitted",
                               "p95 latency stays under 300 ms", "Copy is reviewed by UX"], k=rng.randint(2, 4))
        return Doc((
            Paragraph((Text(f"As {rng.choice(_PERSONAS)} I want the {area} to do more, so that "
                            f"{rng.choice(_BENEFITS)}."),)),
            Heading(3, (Text("Acceptance criteria"),)),
            BulletList(tuple((Text(c),) for c in criteria)),
            Paragraph((Text("Design notes live in the "), Text("RFC", href="https://example.com/rfc/142"),
                       Text("."))),
        ))
    if itype.name == "Epic":
        return Doc((
            Paragraph((Text(f"Goal: make the {area} something we never have to think about."),)),
            BulletList(((Text("Reduce pages from the "), Text(area), Text(" by half")),
                        (Text("Publish an SLO and a dashboard"),), (Text("Retire the legacy code path"),))),
        ))
    blocks: list = [Paragraph((Text(f"Small piece of work on the {area}. Check the "), code("README.md"),
                               Text(" before starting.")))]
    if itype.name == "Task" and rng.random() < 0.5:
        blocks.append(BulletList(((Text("Prepare the change"),), (Text("Roll out to staging"),),
                                  (Text("Roll out to production"),))))
        if rng.random() < 0.5:
            lang = rng.choice(("bash", "yaml"))
            blocks.append(CodeBlock(_STACKS[lang], lang))
    return Doc(tuple(blocks))


# --------------------------------------------------------------------------- issues


def _pick_type(rng: random.Random, candidates_for_subtask: list[Issue]) -> IssueType:
    name = rng.choices(("Story", "Task", "Bug", "Sub-task", "Epic"), weights=(34, 22, 23, 17, 4))[0]
    if name == "Sub-task" and not candidates_for_subtask:
        name = "Task"
    return ref.ISSUE_TYPES[name]


def _pick_status(rng: random.Random, age_fraction: float) -> Status:
    to_do, in_progress, in_review, done = ref.STATUSES
    p_done = 0.1 + 0.75 * age_fraction
    rest = 1 - p_done
    return rng.choices((to_do, in_progress, in_review, done),
                       weights=(rest * 0.5, rest * 0.32, rest * 0.18, p_done))[0]


def _changelog(rng: random.Random, ids: _Ids, issue: Issue, actors: list[SandboxUser]) -> None:
    """Record the status walk from To Do to the issue's status, between created and updated."""
    order = [s.id for s in ref.STATUSES]
    target = order.index(issue.status.id)
    if target == 0:
        issue.status_changed = issue.created
        return
    path = list(ref.STATUSES[: target + 1])
    if issue.status.name == "Done" and rng.random() < 0.4:
        path.remove(ref.STATUSES[2])  # not everything goes through review
    moments = sorted(_between(rng, issue.created, issue.updated) for _ in range(len(path) - 1))
    for before, after, when in zip(path[:-1], path[1:], moments, strict=True):
        issue.changelog.append(History(
            id=str(ids.next("history")), author=issue.assignee or rng.choice(actors), created=when,
            items=[ChangeItem("status", "jira", before.id, before.name, after.id, after.name)]))
    issue.status_changed = moments[-1]
    if issue.resolution is not None:
        issue.resolutiondate = moments[-1]


def _sprints_for(rng: random.Random, issue: Issue, project: Project) -> list[int]:
    closed = [s for s in project.sprints if s.state == "closed"]
    active = next(s for s in project.sprints if s.state == "active")
    future = next(s for s in project.sprints if s.state == "future")
    category = issue.status.category.key
    if category == "done":
        done_at = issue.resolutiondate or issue.updated
        for sprint in closed:
            if sprint.start and sprint.end and sprint.start <= done_at < sprint.end:
                return [sprint.id]
        return [active.id] if done_at >= (active.start or REFERENCE_NOW) else []
    if category == "indeterminate":
        return ([rng.choice(closed).id] if rng.random() < 0.25 else []) + [active.id]
    roll = rng.random()
    return [active.id] if roll < 0.35 else [future.id] if roll < 0.55 else []


def _make_issues(rng: random.Random, ids: _Ids, project: Project, users: list[SandboxUser]) -> list[Issue]:
    spec = next(s for s in ref.PROJECT_SPECS if s["key"] == project.key)
    low, high = spec["size"]  # type: ignore[misc]
    count = rng.randint(low, high)
    areas: list[str] = list(spec["areas"])  # type: ignore[arg-type]
    members = [u for u in users if u.can_edit(project.key)]
    start = REFERENCE_NOW - _HISTORY_DAYS * _DAY
    span = (_HISTORY_DAYS - 2) * 86400
    released = [v for v in project.versions if v.released]
    unreleased = [v for v in project.versions if not v.released]
    issues: list[Issue] = []
    epics: list[Issue] = []
    parents: list[Issue] = []
    rank_order = rng.sample(range(count * 4), count)
    for number in range(1, count + 1):
        itype = ref.ISSUE_TYPES["Epic"] if number == 1 else _pick_type(rng, parents)
        created = _ts(start + dt.timedelta(seconds=span * (number - 1) / count + rng.uniform(0, 3 * 3600)))
        age_fraction = (REFERENCE_NOW - created).total_seconds() / (_HISTORY_DAYS * 86400)
        parent: Issue | None = None
        if itype.subtask:
            parent = rng.choice(parents[-25:])
        elif itype.name != "Epic" and epics and rng.random() < (0.7 if itype.name == "Story" else 0.3):
            parent = rng.choice(epics)
        area = rng.choice(areas)
        status = _pick_status(rng, age_fraction)
        latest = REFERENCE_NOW - dt.timedelta(minutes=5)
        if status.category.key == "done":
            updated = _between(rng, created, min(latest, created + dt.timedelta(days=rng.randint(1, 60))))
        else:  # open work was touched recently
            updated = _between(rng, max(created, REFERENCE_NOW - 21 * _DAY), latest)
        assignee = None if (status.name == "To Do" and rng.random() < 0.45) or rng.random() < 0.06 \
            else rng.choice(members)
        reporter = rng.choice(members)
        weights = (10, 25, 45, 15, 5) if itype.name == "Bug" else (3, 17, 55, 18, 7)
        priority = rng.choices(ref.PRIORITIES, weights=weights)[0]
        resolution = None
        if status.category.key == "done":
            resolution = ref.RESOLUTIONS["Done"] if rng.random() < 0.9 else rng.choice(
                (ref.RESOLUTIONS["Won't Do"], ref.RESOLUTIONS["Duplicate"]))
        issue = Issue(
            id=ids.next("issue"), key=f"{project.key}-{number}", number=number, project_key=project.key,
            issuetype=itype, summary=_summary(rng, itype, area, parent),
            description=None if rng.random() < 0.08 else _description(rng, itype, area),
            status=status, priority=priority, reporter=reporter, creator=reporter, created=created,
            updated=updated, assignee=assignee, resolution=resolution,
            parent_id=parent.id if parent else None, rank=f"0|i{rank_order[number - 1]:05x}:",
        )
        issue.labels = sorted(rng.sample(_LABELS, k=rng.choices((0, 1, 2, 3), weights=(30, 40, 22, 8))[0]))
        issue.components = sorted(rng.sample(project.components, k=rng.choices((0, 1, 2), weights=(20, 65, 15))[0]),
                                  key=lambda c: c.name)
        if resolution is not None and released:
            issue.fix_versions = [rng.choice(released)]
        elif unreleased and rng.random() < 0.5:
            issue.fix_versions = [rng.choice(unreleased)]
        if itype.name == "Bug" and released and rng.random() < 0.6:
            issue.affects_versions = [rng.choice(released)]
        if itype.name != "Epic" and rng.random() < 0.35:
            due_from = created + 3 * _DAY
            issue.duedate = _between(rng, due_from, max(due_from, REFERENCE_NOW + 45 * _DAY)).date()
        if itype.name in ("Story", "Task", "Bug"):
            chance = {"Story": 0.85, "Task": 0.4, "Bug": 0.2}[itype.name]
            if rng.random() < chance:
                issue.story_points = float(rng.choice((1, 2, 3, 5, 8, 13)))
        _changelog(rng, ids, issue, members)
        if not itype.subtask and itype.name != "Epic":
            issue.sprint_ids = _sprints_for(rng, issue, project)
        elif itype.subtask and parent is not None:
            issue.sprint_ids = list(parent.sprint_ids)
        drafts = []
        for _ in range(rng.choices((0, 1, 2, 3, 4), weights=(35, 30, 20, 10, 5))[0]):
            when = _between(rng, created, issue.updated)
            author = rng.choice(members)
            words = rng.choice(_COMMENTS)
            body = Doc((Paragraph((Text(words),)),)) if rng.random() < 0.8 else Doc((
                Paragraph((Text(words + " Relevant setting: "), Text("max_retries", ("code",)), Text("."))),))
            drafts.append((when, author, body))
        drafts.sort(key=lambda d: d[0])
        issue.comments = [Comment(id=str(ids.next("comment")), author=author, body=body, created=when, updated=when)
                          for when, author, body in drafts]
        issues.append(issue)
        if itype.name == "Epic":
            epics.append(issue)
        elif not itype.subtask:
            parents.append(issue)
    _link_issues(rng, ids, issues)
    return issues


def _link_issues(rng: random.Random, ids: _Ids, issues: list[Issue]) -> None:
    """Create a handful of Blocks / Relates / Duplicate links inside one project."""
    candidates = [i for i in issues if not i.issuetype.subtask]
    for _ in range(max(3, len(candidates) // 10)):
        source, target = rng.sample(candidates, 2)
        link_type = rng.choices(list(ref.LINK_TYPES.values()), weights=(5, 4, 1))[0]
        if any(link.inward_issue_id == target.id for link in source.links):
            continue
        link = IssueLink(id=str(ids.next("link")), type=link_type, outward_issue_id=source.id,
                         inward_issue_id=target.id)
        source.links.append(link)
        target.links.append(link)


def generate(seed: int) -> Dataset:
    """Build the sandbox world for ``seed`` (deterministic; never touches global random)."""
    rng = random.Random(seed)
    ids = _Ids()
    users = list(ref.USERS)
    projects = _make_projects(rng, ids, {u.name: u for u in users})
    dataset = Dataset(seed=seed, users=users, projects=projects)
    for project in projects:
        dataset.issues.extend(_make_issues(rng, ids, project, users))
        project.last_issue_number = max((i.number for i in dataset.issues if i.project_key == project.key), default=0)
    dataset.boards = make_boards(projects)
    add_extras(seed, projects, dataset.issues, users, ids.next)
    return dataset
