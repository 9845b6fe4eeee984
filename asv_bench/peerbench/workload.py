"""The workload: a seeded plan of tool calls, and the concurrent MCP clients that play it.

The plan is fixed by the seed: the same sequence of calls for every server. Issue keys
follow a Zipf-like distribution over a seeded shuffle of the sandbox's issues (weight
``1 / rank ** skew``), so a few issues are read often and most rarely, as in an assistant's
session; JQL queries are chosen the same way from a small set. Clients take the next call
from the shared plan, so N clients replay one sequence; the run stops when the plan is
done or the duration cap is reached.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

KINDS = ("get_issue", "search", "transitions", "comment")

# Tool name and arguments per kind; the same for jiraplug and mcp-atlassian (checked against
# each server's tools/list before a run: a kind whose tool or arguments are missing is skipped).
TOOLS: dict[str, tuple[str, Callable[[Call], dict[str, Any]]]] = {
    "get_issue": ("jira_get_issue", lambda call: {"issue_key": call.key}),
    "search": ("jira_search", lambda call: {"jql": call.jql, "limit": 10}),
    "transitions": ("jira_get_transitions", lambda call: {"issue_key": call.key}),
    "comment": ("jira_add_comment", lambda call: {"issue_key": call.key, "body": call.text}),
}

QUERIES = (
    "project = PLAT ORDER BY updated DESC",
    'project = OPS AND status = "In Progress"',
    "assignee = currentUser() ORDER BY priority DESC",
    "project = MOB AND issuetype = Bug",
    'text ~ "webhook"',
    "statusCategory != Done AND project = PLAT",
    "labels = backend",
)


@dataclass(frozen=True)
class Call:
    """One planned tool call."""

    index: int
    kind: str
    key: str | None = None
    jql: str | None = None
    text: str | None = None

    def tool(self) -> tuple[str, dict[str, Any]]:
        name, arguments = TOOLS[self.kind]
        return name, arguments(self)


def parse_mix(text: str, kinds: Sequence[str] = KINDS, option: str = "--mix") -> dict[str, float]:
    """``get_issue=50,search=25,...`` -> weights; unknown kinds or bad numbers raise ``ValueError``."""
    mix: dict[str, float] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        name, _, weight = part.partition("=")
        name = name.strip()
        if name not in kinds:
            raise ValueError(f"unknown call kind {name!r} in {option}; expected some of {', '.join(kinds)}")
        try:
            value = float(weight)
        except ValueError:
            raise ValueError(f"{option} {part!r}: expected {name}=<weight>, a number >= 0") from None
        if value < 0:
            raise ValueError(f"{option} {part!r}: a weight must be >= 0")
        mix[name] = value
    if not mix or sum(mix.values()) <= 0:
        raise ValueError(f"{option} needs at least one kind with a weight > 0")
    return mix


def zipf_weights(n: int, skew: float) -> list[float]:
    """Weights ``1 / rank ** skew`` for ranks 1..n."""
    return [1 / rank**skew for rank in range(1, n + 1)]


def make_plan(calls: int, keys: Sequence[str], mix: dict[str, float], *, seed: int, skew: float) -> list[Call]:
    """``calls`` calls drawn from ``mix``, keys and queries Zipf-distributed, fixed by ``seed``."""
    if not keys:
        raise ValueError("the sandbox returned no issue keys")
    rng = random.Random(seed)
    ranked = list(keys)
    rng.shuffle(ranked)  # which issues are hot is seeded, not "the first ones"
    key_weights = zipf_weights(len(ranked), skew)
    query_weights = zipf_weights(len(QUERIES), skew)
    kinds = [kind for kind in KINDS if mix.get(kind, 0) > 0]
    kind_weights = [mix[kind] for kind in kinds]
    plan = []
    for index in range(calls):
        kind = rng.choices(kinds, kind_weights)[0]
        if kind == "search":
            plan.append(Call(index, kind, jql=rng.choices(QUERIES, query_weights)[0]))
        else:
            key = rng.choices(ranked, key_weights)[0]
            text = f"Benchmark comment {index} (seed {seed})" if kind == "comment" else None
            plan.append(Call(index, kind, key=key, text=text))
    return plan


@dataclass
class Outcome:
    """What happened to one call."""

    kind: str
    seconds: float
    error: str | None = None


@dataclass
class Played:
    """The result of playing (a prefix of) a plan."""

    outcomes: list[Outcome] = field(default_factory=list)
    seconds: float = 0.0
    skipped: dict[str, int] = field(default_factory=dict)  # kind -> calls skipped (tool missing)


def unsupported_kinds(tools: Sequence[Any]) -> dict[str, str]:
    """Kinds this server cannot play (tool missing, or an argument we pass is unknown): kind -> why."""
    by_name = {tool.name: tool for tool in tools}
    problems = {}
    for kind, (name, arguments) in TOOLS.items():
        tool = by_name.get(name)
        if tool is None:
            problems[kind] = f"no tool {name}"
            continue
        schema = tool.input_schema or {}
        given = set(arguments(Call(0, kind, key="X-1", jql="x", text="x")))
        unknown = given - set(schema.get("properties", {}))
        missing = set(schema.get("required", [])) - given
        if unknown or missing:
            problems[kind] = f"{name} arguments differ (unknown {sorted(unknown)}, missing {sorted(missing)})"
    return problems


async def play(url: str, plan: Sequence[Call], *, clients: int, duration: float, call_timeout: float,
               skip: set[str], progress: Callable[[int, int, float], None]) -> Played:
    """Replay ``plan`` against the server at ``url`` with ``clients`` concurrent MCP sessions.

    Sessions are opened before the clock starts; the clock stops when the last call ends,
    after the plan is done or ``duration`` seconds have passed (calls in flight then finish
    and count).
    """
    import anyio
    from mcp import Client

    played = Played()
    cursor = opened = in_flight = 0
    ready, done = anyio.Event(), anyio.Event()
    started = ended = 0.0
    deadline = float("inf")

    def next_call() -> Call | None:
        nonlocal cursor
        while cursor < len(plan) and time.perf_counter() < deadline:
            call = plan[cursor]
            cursor += 1
            if call.kind in skip:
                played.skipped[call.kind] = played.skipped.get(call.kind, 0) + 1
                continue
            return call
        return None

    async def client_loop() -> None:
        nonlocal opened, in_flight, ended
        async with Client(url, cache=None) as client:
            opened += 1
            if opened == clients:
                ready.set()
            await ready.wait()
            while (call := next_call()) is not None:
                in_flight += 1
                played.outcomes.append(await _one(client, call, call_timeout))
                in_flight -= 1
            if in_flight == 0 and not done.is_set():  # the last call of the run has ended
                ended = time.perf_counter()
                done.set()

    async with anyio.create_task_group() as tasks:
        for _ in range(clients):
            tasks.start_soon(client_loop)
        with anyio.fail_after(60):
            await ready.wait()
        started = time.perf_counter()
        deadline = started + duration
        while not done.is_set():
            with anyio.move_on_after(1.0):
                await done.wait()
            errors = sum(outcome.error is not None for outcome in played.outcomes)
            progress(len(played.outcomes), errors, time.perf_counter() - started)
    played.seconds = ended - started
    return played


async def _one(client: Any, call: Call, timeout: float) -> Outcome:
    """Make one call; an error result, an exception or a timeout is recorded, not raised."""
    import anyio

    name, arguments = call.tool()
    started = time.perf_counter()
    error = None
    try:
        with anyio.fail_after(timeout):
            result = await client.call_tool(name, arguments)
        if result.is_error:
            text = result.content[0].text if result.content else "tool error"
            error = " ".join(text.split())[:200]
    except TimeoutError:
        error = f"no answer within {timeout:g} s"
    except Exception as exc:  # noqa: BLE001 - counted as an error of this call
        error = f"{type(exc).__name__}: {exc}"[:200]
    return Outcome(call.kind, time.perf_counter() - started, error)
