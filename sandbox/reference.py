"""Fixed reference data shared by every seed: users, statuses, issue types, priorities.

Only the issues (and what hangs off them) depend on the seed; the accounts and their
sandbox-only credentials are stable so that docs, demos and tests can name them.
"""

from __future__ import annotations

import uuid

from jiraplug.sandbox.model import (
    IssueType,
    LinkType,
    Priority,
    Resolution,
    SandboxUser,
    Status,
    StatusCategory,
)

__all__ = [
    "USERS",
    "STATUS_CATEGORIES",
    "STATUSES",
    "ISSUE_TYPES",
    "PRIORITIES",
    "RESOLUTIONS",
    "LINK_TYPES",
    "TRANSITIONS",
    "WORKFLOW",
    "SEVERITY_OPTIONS",
    "KANBAN_BOARDS",
    "PROJECT_SPECS",
]


def _account_id(name: str) -> str:
    """A Cloud-style account id (``712020:<uuid>``), stable for a given user name."""
    return "712020:" + str(uuid.uuid5(uuid.NAMESPACE_URL, f"https://sandbox.jiraplug/users/{name}"))


def _user(index: int, name: str, display: str, tz: str, projects: frozenset[str] | None = None,
          edit: frozenset[str] | None = None) -> SandboxUser:
    return SandboxUser(
        account_id=_account_id(name),
        name=name,
        email=f"{name}@example.com",
        display_name=display,
        api_token=f"sandbox-api-token-{name}",
        personal_token=f"sandbox-pat-{name}",
        key=f"JIRAUSER{10000 + index}",
        projects=projects,
        time_zone=tz,
        edit_projects=edit,
    )


#: The sandbox accounts. The first one is the default user (a Jira administrator) and can
#: see every project. ``erin`` works in MOB, may only read PLAT (writes answer 403) and
#: cannot see OPS at all (404), for permission tests.
USERS: tuple[SandboxUser, ...] = (
    _user(0, "alice", "Alice Nguyen", "Europe/London"),
    _user(1, "bob", "Bob Okafor", "America/New_York"),
    _user(2, "carol", "Carol Díaz", "Europe/Madrid"),
    _user(3, "dave", "Dave Kowalski", "Europe/Warsaw"),
    _user(4, "erin", "Erin Walsh", "Australia/Sydney", frozenset({"MOB", "PLAT"}), frozenset({"MOB"})),
)

STATUS_CATEGORIES: dict[str, StatusCategory] = {
    "new": StatusCategory(2, "new", "To Do", "blue-gray"),
    "indeterminate": StatusCategory(4, "indeterminate", "In Progress", "yellow"),
    "done": StatusCategory(3, "done", "Done", "green"),
}

#: Workflow order matters: the changelog and transitions walk it front to back.
STATUSES: tuple[Status, ...] = (
    Status("10000", "To Do", "The issue is open and ready for the assignee to start work on it.",
           STATUS_CATEGORIES["new"], "/images/icons/statuses/open.png"),
    Status("3", "In Progress", "This issue is being actively worked on at the moment by the assignee.",
           STATUS_CATEGORIES["indeterminate"], "/images/icons/statuses/inprogress.png"),
    Status("10002", "In Review", "The work is done and waiting for review.",
           STATUS_CATEGORIES["indeterminate"], "/images/icons/statuses/generic.png"),
    Status("10001", "Done", "Work has been completed on this issue.",
           STATUS_CATEGORIES["done"], "/images/icons/statuses/closed.png"),
)

ISSUE_TYPES: dict[str, IssueType] = {
    "Epic": IssueType("10000", "Epic", "A big user story that needs to be broken down.", False, 1, 10307),
    "Story": IssueType("10001", "Story", "Functionality or a feature expressed as a user goal.", False, 0, 10315),
    "Task": IssueType("10002", "Task", "A small, distinct piece of work.", False, 0, 10318),
    "Bug": IssueType("10003", "Bug", "A problem or error.", False, 0, 10303),
    "Sub-task": IssueType("10004", "Sub-task", "A small piece of work that's part of a larger task.", True, -1, 10316),
}

PRIORITIES: tuple[Priority, ...] = (
    Priority("1", "Highest", 5, "#d04437"),
    Priority("2", "High", 4, "#f15C75"),
    Priority("3", "Medium", 3, "#f79232"),
    Priority("4", "Low", 2, "#707070"),
    Priority("5", "Lowest", 1, "#999999"),
)

RESOLUTIONS: dict[str, Resolution] = {
    "Done": Resolution("10000", "Done", "Work has been completed on this issue."),
    "Won't Do": Resolution("10001", "Won't Do", "This issue won't be actioned."),
    "Duplicate": Resolution("10002", "Duplicate", "The problem is a duplicate of an existing issue."),
}

LINK_TYPES: dict[str, LinkType] = {
    "Blocks": LinkType("10000", "Blocks", "is blocked by", "blocks"),
    "Relates": LinkType("10003", "Relates", "relates to", "relates to"),
    "Duplicate": LinkType("10002", "Duplicate", "is duplicated by", "duplicates"),
}

#: The transitions of the sandbox workflow, (transition id, target status); each
#: transition is named after its target status, as in Jira Cloud's simplified workflows.
TRANSITIONS: tuple[tuple[str, Status], ...] = (
    ("11", STATUSES[0]),
    ("21", STATUSES[1]),
    ("31", STATUSES[2]),
    ("41", STATUSES[3]),
)

#: Which transitions each status offers (status id -> transition ids): To Do -> In Progress
#: -> In Review -> Done, review can be skipped, and every step can go back.
WORKFLOW: dict[str, tuple[str, ...]] = {
    STATUSES[0].id: ("21",),
    STATUSES[1].id: ("11", "31", "41"),
    STATUSES[2].id: ("21", "41"),
    STATUSES[3].id: ("11", "21"),
}

#: Options of the "Severity" select custom field: (option id, value).
SEVERITY_OPTIONS: tuple[tuple[str, str], ...] = (
    ("10040", "Critical"),
    ("10041", "Major"),
    ("10042", "Minor"),
    ("10043", "Trivial"),
)

#: Kanban boards (no sprints) besides the one scrum board every project has: (id, name, project).
KANBAN_BOARDS: tuple[tuple[int, str, str], ...] = (
    (4, "OPS Kanban", "OPS"),
)

#: (key, name, description, lead user name, components, versions(name, released), areas)
PROJECT_SPECS: tuple[dict[str, object], ...] = (
    {
        "key": "PLAT",
        "name": "Platform",
        "description": "Core backend services: API gateway, auth, billing and search.",
        "lead": "alice",
        "components": ["API Gateway", "Auth Service", "Billing", "Database", "Search"],
        "versions": [("2026.1", True), ("2026.2", True), ("2026.3", False), ("2027.1", False)],
        "areas": ["API gateway", "auth service", "billing service", "search index", "user database",
                  "rate limiter", "webhook dispatcher", "session store", "GraphQL layer", "audit log"],
        "size": (115, 130),
    },
    {
        "key": "MOB",
        "name": "Mobile App",
        "description": "The iOS and Android apps and their release trains.",
        "lead": "bob",
        "components": ["iOS", "Android", "Push Notifications", "Onboarding", "Offline Sync"],
        "versions": [("4.8.0", True), ("4.9.0", True), ("5.0.0", False)],
        "areas": ["iOS app", "Android app", "push notifications", "onboarding flow", "offline sync",
                  "settings screen", "login screen", "deep links", "in-app purchases", "dark mode"],
        "size": (90, 100),
    },
    {
        "key": "OPS",
        "name": "Operations",
        "description": "Infrastructure, CI/CD, monitoring and on-call.",
        "lead": "carol",
        "components": ["Monitoring", "CI/CD", "Networking", "Kubernetes", "On-call"],
        "versions": [("Q3 2026", True), ("Q4 2026", False)],
        "areas": ["Kubernetes cluster", "CI pipeline", "Grafana dashboards", "alerting rules",
                  "VPN gateway", "backup jobs", "DNS records", "TLS certificates", "log shipping",
                  "on-call rotation"],
        "size": (78, 90),
    },
)
