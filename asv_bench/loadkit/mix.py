"""The workload: who calls, which tools, with which arguments; unique markers on every write.

A run acts as several sandbox users at once, each through its own ``X-Jira-Authorization``
header (the shared-server set-up). Each user only plays calls Jira lets them make (a
restricted user reads and writes only where they may), so a tool error in a run is a real
failure, not a permission the workload asked for. Every write carries a marker unique to
the run and the call (``lk-<run>-<n>``), so the sandbox's state can be checked against the
writes that were reported successful.
"""

from __future__ import annotations

import base64
import itertools
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from peerbench import workload

READS = ("get_issue", "search", "transitions")
WRITES = ("comment", "worklog", "create")
KINDS = READS + WRITES

DEFAULT_MIX = {"get_issue": 40, "search": 20, "transitions": 15, "comment": 15, "worklog": 10}


@dataclass(frozen=True)
class Actor:
    """A sandbox user the workload acts as: the header that says so, and where they may go."""

    name: str
    authorization: str  # value of X-Jira-Authorization (a secret: never printed)
    read_keys: tuple[str, ...]
    write_keys: tuple[str, ...]
    projects: tuple[str, ...]
    write_projects: tuple[str, ...]

    def headers(self) -> dict[str, str]:
        return {"X-Jira-Authorization": self.authorization}

    def __repr__(self) -> str:  # keeps the credential out of logs and tracebacks
        return f"Actor({self.name!r}, {len(self.read_keys)} readable issues)"


def actors_for(users: Iterable[Any], issue_keys: Sequence[str], flavour: str = "cloud",
               names: Sequence[str] | None = None) -> list[Actor]:
    """Actors for sandbox ``users`` (``SandboxUser``-like: name, email, tokens, can_browse/can_edit).

    Cloud users authenticate with ``Basic email:api-token``, Data Center ones with their PAT.
    ``names`` picks users by name (default: every user who can read one of ``issue_keys``: a
    service desk's customer-only account reads no issue, so it has no calls to make).
    """
    chosen = [u for u in users if names is None or u.name in names]
    if names is not None and len(chosen) != len(set(names)):
        known = ", ".join(u.name for u in users)
        raise ValueError(f"unknown sandbox user in {', '.join(names)}; known: {known}")
    actors = []
    projects = sorted({key.rsplit("-", 1)[0] for key in issue_keys})
    for user in chosen:
        if flavour == "cloud":
            auth = "Basic " + base64.b64encode(f"{user.email}:{user.api_token}".encode()).decode()
        else:
            auth = f"Bearer {user.personal_token}"
        readable = tuple(k for k in issue_keys if user.can_browse(k.rsplit("-", 1)[0]))
        if names is None and not readable:
            continue
        writable = tuple(k for k in readable if user.can_edit(k.rsplit("-", 1)[0]))
        actors.append(Actor(user.name, auth, readable, writable,
                            tuple(p for p in projects if user.can_browse(p)),
                            tuple(p for p in projects if user.can_edit(p))))
    return actors


def parse_mix(text: str) -> dict[str, float]:
    """``get_issue=40,search=20,...`` -> weights; unknown kinds or bad numbers raise ``ValueError``."""
    return workload.parse_mix(text, KINDS, "--mix")


@dataclass(frozen=True)
class Call:
    """One tool call to make: what, as whom, and (for a write) its unique marker."""

    kind: str
    actor: Actor
    tool: str
    arguments: dict[str, Any]
    marker: str | None = None  # writes only
    target: str | None = None  # issue key (comment, worklog) or project key (create)


@dataclass
class Planner:
    """Draws calls from the mix, fixed by ``seed``; markers are ``<prefix>-<n>``, unique per planner."""

    mix: dict[str, float]
    seed: int = 1
    prefix: str = "lk"
    _rng: random.Random = field(init=False)
    _counter: itertools.count = field(init=False)  # type: ignore[type-arg]

    def __post_init__(self) -> None:
        self._rng = random.Random(self.seed)
        self._counter = itertools.count(1)
        self._kinds = [k for k, w in self.mix.items() if w > 0]
        self._weights = [self.mix[k] for k in self._kinds]

    def next(self, actor: Actor) -> Call:
        """The next call for ``actor`` (a write kind it may not make falls back to ``get_issue``)."""
        rng = self._rng
        kind = rng.choices(self._kinds, self._weights)[0]
        if kind in ("comment", "worklog") and not actor.write_keys or kind == "create" and not actor.write_projects:
            kind = "get_issue"
        marker = f"{self.prefix}-{next(self._counter)}" if kind in WRITES else None
        if kind == "get_issue":
            key = rng.choice(actor.read_keys)
            return Call(kind, actor, "jira_get_issue", {"issue_key": key}, target=key)
        if kind == "transitions":
            key = rng.choice(actor.read_keys)
            return Call(kind, actor, "jira_get_transitions", {"issue_key": key}, target=key)
        if kind == "search":
            project = rng.choice(actor.projects)
            jql = rng.choice((f"project = {project} ORDER BY updated DESC",
                              f"project = {project} AND statusCategory != Done",
                              f'project = {project} AND text ~ "error"'))
            return Call(kind, actor, "jira_search", {"jql": jql, "limit": 10})
        if kind == "comment":
            key = rng.choice(actor.write_keys)
            return Call(kind, actor, "jira_add_comment", {"issue_key": key, "body": f"Load check {marker}"},
                        marker=marker, target=key)
        if kind == "worklog":
            key = rng.choice(actor.write_keys)
            return Call(kind, actor, "jira_add_worklog",
                        {"issue_key": key, "time_spent": "5m", "comment": f"Load check {marker}"},
                        marker=marker, target=key)
        project = rng.choice(actor.write_projects)
        return Call(kind, actor, "jira_create_issue",
                    {"project_key": project, "summary": f"Load check {marker}", "issue_type": "Task"},
                    marker=marker, target=project)
