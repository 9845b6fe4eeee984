"""``jiraplug demo``: the sandbox and the server in one process, a scripted session, a summary.

The demo starts the embedded Jira emulator on loopback (with a little injected latency, as
a real Jira has), builds the MCP server with every enabled plugin, and drives it through
the MCP SDK's client (in memory): a search, reads, a write (a comment), the read after the
write (checked to show the new comment), and repeated reads skewed toward a few hot
issues, the way an assistant works through a task. Each call prints a progress line with
its latency and the Jira requests it caused; the session ends with a table of calls,
latency percentiles, cache hit rate, Jira requests saved, retries and alerts, read from the
plugins' resources (``jiraplug://cache``, ``jiraplug://ratelimit``, ``jiraplug://alerts``)
and shown as "n/a" when a plugin is off. No credentials and no network beyond 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, NoReturn, TextIO

from jiraplug import hookimpl

PROG = "jiraplug demo"
METER_PLUGIN = "demo-meter"
COMMENT_TEXT = "Looked at by the jiraplug demo"
MAX_LATENCY_MS = 10_000

__all__ = ["DemoSummary", "RequestMeter", "build_parser", "main", "run_demo"]


class _UsageError(Exception):
    """A bad command line (one line on stderr, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number >= 1, got {text!r}")
    return value


def _latency(text: str) -> float:
    expected = f"expected milliseconds from 0 to {MAX_LATENCY_MS}, got {text!r}"
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(expected) from None
    if not 0 <= value <= MAX_LATENCY_MS:  # also refuses nan
        raise argparse.ArgumentTypeError(expected)
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jiraplug demo``."""
    parser = _Parser(
        prog=PROG,
        description="Start the embedded Jira emulator and a jiraplug server in this process, run a scripted "
        "MCP session against them (searches, reads, a comment, repeated reads) and print what the plugins did. "
        "Needs no Jira and no credentials.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--calls", type=_positive_int, default=40, help="tool calls in the session")
    parser.add_argument("--flavour", "--flavor", choices=("cloud", "dc"), default="cloud",
                        help="Jira Cloud (REST v3) or Data Center (REST v2) emulator")
    parser.add_argument("--latency-ms", type=_latency, default=30.0,
                        help="latency the emulator adds to every Jira answer")
    parser.add_argument("--seed", type=int, default=1, help="seed of the sandbox data and of the session")
    parser.add_argument("--disable", default="", metavar="PLUGINS",
                        help="comma-separated plugins to switch off, e.g. cache,ratelimit "
                        "(added to $JIRAPLUG_DISABLE_PLUGINS)")
    parser.add_argument("--config", metavar="PATH",
                        help="a jiraplug.toml whose plugin tables to use (default: built-in defaults; "
                        "./jiraplug.toml is not read, and [jira] always points at the emulator)")
    parser.add_argument("--json", metavar="PATH", dest="json_path", help="also write the summary and every call as JSON")
    return parser


# ------------------------------------------------------------------------ measuring


class RequestMeter:
    """A plugin that counts the Jira requests tools ask for, before any cache answers them.

    Registered outermost on ``jira_request_middleware`` (``tryfirst``, registered after the
    built-in plugins), so ``asked`` minus the requests that reached the emulator is what
    the plugins saved.
    """

    def __init__(self) -> None:
        self.asked = 0

    @hookimpl(tryfirst=True)
    def jira_request_middleware(self, runtime: Any) -> Callable[[Any], Any]:
        def wrap(send: Any) -> Any:
            async def counted(request: Any) -> Any:
                self.asked += 1
                return await send(request)

            return counted

        return wrap


@dataclass
class CallRecord:
    """One tool call of the session, as the client saw it."""

    step: str
    tool: str
    arguments: dict[str, Any]
    milliseconds: float
    jira_requests: int
    error: str | None = None
    note: str = ""


@dataclass
class DemoSummary:
    """The figures of the final table (``None`` where a plugin that provides them is off)."""

    calls: int
    errors: int
    p50_ms: float
    p95_ms: float
    jira_requests_asked: int
    jira_requests_sent: int
    requests_saved: int
    jira_connections: int
    cache_hit_rate: float | None
    cache_hits: int | None
    cache_reads: int | None
    cache_coalesced: int | None
    retries: int | None
    alerts_firing: int | None
    alert_names: list[str] = field(default_factory=list)
    stale_reads: int = 0
    seconds: float = 0.0


def percentile(values: Sequence[float], pct: float) -> float:
    """The ``pct`` percentile (0-100) of ``values``, interpolated; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    return float(cuts[int(pct) - 1]) if 1 <= pct <= 99 else float(max(values) if pct >= 100 else min(values))


# -------------------------------------------------------------------------- session


class Session:
    """Runs the scripted calls through an MCP client and prints a line per call."""

    def __init__(self, client: Any, sandbox: Any, tools: set[str], out: TextIO, total: int, seed: int) -> None:
        self.client = client
        self.sandbox = sandbox
        self.tools = tools
        self.out = out
        self.total = total
        self.rng = random.Random(seed)
        self.records: list[CallRecord] = []
        self.stale_reads = 0

    @property
    def done(self) -> bool:
        return len(self.records) >= self.total

    async def call(self, step: str, tool: str, arguments: dict[str, Any], describe: str) -> Any:
        """Call ``tool``; print and record the outcome. Returns the decoded payload or ``None``."""
        if self.done or tool not in self.tools:
            return None
        before = len(self.sandbox.request_log)
        started = time.perf_counter()
        error: str | None = None
        payload: Any = None
        try:
            result = await self.client.call_tool(tool, arguments)
        except Exception as exc:  # noqa: BLE001 - a demo reports, it does not crash
            error = f"{type(exc).__name__}: {exc}"
        else:
            text = result.content[0].text if result.content else ""
            if result.is_error:
                error = text.splitlines()[0] if text else "tool error"
            else:
                payload = result.structured_content if result.structured_content is not None else _json(text)
        elapsed = (time.perf_counter() - started) * 1000
        record = CallRecord(step, tool, arguments, round(elapsed, 3), len(self.sandbox.request_log) - before, error)
        self.records.append(record)
        self._print(record, describe)
        return payload if error is None else None

    def note(self, text: str) -> None:
        """Attach ``text`` to the last call and print it."""
        self.records[-1].note = text
        print(f"{'':>9}{text}", file=self.out, flush=True)

    def _print(self, record: CallRecord, describe: str) -> None:
        width = len(str(self.total))
        if record.jira_requests:
            jira = f"jira +{record.jira_requests}"
        else:  # every scripted tool reads Jira: no request means a plugin (the cache) answered
            jira = "jira  0" if record.error else "jira  0 (cache)"
        outcome = f"ERROR {record.error}" if record.error else describe
        print(f"[{len(self.records):>{width}}/{self.total}] {record.step:<8} {record.tool:<22} {outcome[:48]:<48} "
              f"{record.milliseconds:8.1f} ms  {jira}", file=self.out, flush=True)

    async def run(self, project: str) -> None:
        """Search, read, repeat the search, write, read after the write, then skewed repeated reads."""
        jql = f"project = {project} ORDER BY updated DESC"
        found = await self.call("search", "jira_search", {"jql": jql, "limit": 10}, f"{project}, newest first")
        keys = [issue["key"] for issue in (found or {}).get("issues", []) if issue.get("key")]
        if found is not None:
            self.records[-1].note = f"{len(keys)} issues"
        if not keys:
            keys = [f"{project}-{n}" for n in range(1, 11)]
        for key in keys[:3]:
            await self.call("read", "jira_get_issue", {"issue_key": key}, key)
        target = keys[0]
        await self.call("read", "jira_get_transitions", {"issue_key": target}, f"{target} workflow")
        await self.call("repeat", "jira_search", {"jql": jql, "limit": 10}, f"{project}, same search")
        marker = f"{COMMENT_TEXT} ({self.rng.randrange(10**6):06d})"
        wrote = await self.call("write", "jira_add_comment", {"issue_key": target, "body": marker},
                                f"{target} +comment")
        after = await self.call("re-read", "jira_get_issue", {"issue_key": target}, f"{target} after the write")
        if wrote is not None and after is not None:
            if marker in json.dumps(after):
                self.note("the new comment is in the re-read: the write invalidated the cached issue")
            else:
                self.stale_reads += 1
                self.note("STALE: the re-read does not show the new comment")
        # The rest: reads skewed toward the first issues (weight 1/rank), as a session revisits them.
        weights = [1 / rank for rank in range(1, len(keys) + 1)]
        while not self.done and self.tools & {"jira_get_issue"}:
            key = self.rng.choices(keys, weights)[0]
            await self.call("repeat", "jira_get_issue", {"issue_key": key}, key)


def _json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return None


async def _read_resource(client: Any, uri: str) -> Any:
    """A JSON resource's content, or ``None`` when the plugin serving it is not there."""
    try:
        result = await client.read_resource(uri)
        return json.loads(result.contents[0].text)
    except Exception:  # noqa: BLE001 - absent plugin, or a resource not in JSON: "n/a"
        return None


def summarise(session: Session, meter: RequestMeter, sandbox: Any, resources: dict[str, Any],
              seconds: float) -> DemoSummary:
    """The table's figures from the session, the meter, the emulator and the plugin resources."""
    times = [record.milliseconds for record in session.records]
    cache = resources.get("cache") if isinstance(resources.get("cache"), dict) else None
    if cache is not None and not cache.get("enabled", True):
        cache = None
    ratelimit = resources.get("ratelimit") if isinstance(resources.get("ratelimit"), dict) else None
    alerts = resources.get("alerts") if isinstance(resources.get("alerts"), dict) else None
    retries = None
    if ratelimit is not None:
        total = (ratelimit.get("retries") or {}).get("total") if isinstance(ratelimit.get("retries"), dict) else None
        retries = int(total) if isinstance(total, int) else None
    sent = len(sandbox.request_log)
    active = list(alerts.get("active") or []) if alerts is not None else []
    return DemoSummary(
        calls=len(session.records),
        errors=sum(record.error is not None for record in session.records),
        p50_ms=round(percentile(times, 50), 3),
        p95_ms=round(percentile(times, 95), 3),
        jira_requests_asked=meter.asked,
        jira_requests_sent=sent,
        requests_saved=meter.asked - (sent - (retries or 0)),
        jira_connections=sandbox.connections_opened,
        cache_hit_rate=cache.get("hit_rate") if cache is not None else None,
        cache_hits=cache.get("hits") if cache is not None else None,
        cache_reads=cache.get("reads") if cache is not None else None,
        cache_coalesced=cache.get("coalesced") if cache is not None else None,
        retries=retries,
        alerts_firing=len(active) if alerts is not None else None,
        alert_names=[str(alert.get("name")) for alert in active if isinstance(alert, dict)],
        stale_reads=session.stale_reads,
        seconds=round(seconds, 3),
    )


def format_table(summary: DemoSummary) -> str:
    """The closing table, one ``label  value`` row per figure."""

    def na(value: Any, fmt: str = "{}") -> str:
        return "n/a" if value is None else fmt.format(value)

    hit_rate = "n/a" if summary.cache_hit_rate is None else (
        f"{summary.cache_hit_rate * 100:.1f}% ({summary.cache_hits} hits of {summary.cache_reads} reads, "
        f"{summary.cache_coalesced} shared in flight)")
    alerts = na(summary.alerts_firing, "{} firing")
    if summary.alert_names:
        alerts += f" ({', '.join(summary.alert_names)})"
    rows = [
        ("calls", f"{summary.calls} ({summary.errors} errors)"),
        ("latency p50", f"{summary.p50_ms:.1f} ms"),
        ("latency p95", f"{summary.p95_ms:.1f} ms"),
        ("cache hit rate", hit_rate),
        ("jira requests", f"{summary.jira_requests_asked} asked by tools, {summary.jira_requests_sent} sent to Jira"),
        ("upstream requests saved", str(summary.requests_saved)),
        ("jira connections opened", str(summary.jira_connections)),
        ("retries", na(summary.retries)),
        ("alerts", alerts),
        ("stale reads after writes", str(summary.stale_reads)),
    ]
    width = max(len(label) for label, _ in rows)
    rule = "-" * (width + 50)
    lines = [rule, *(f"{label:<{width}}  {value}" for label, value in rows), rule]
    return "\n".join(lines)


# ---------------------------------------------------------------------------- driver


def _environ(sandbox: Any, disable: str) -> dict[str, str]:
    """The server's environment: the emulator's fake credentials plus the user's JIRAPLUG_* switches."""
    environ = {key: value for key, value in os.environ.items()
               if key.startswith("JIRAPLUG_") and key not in ("JIRAPLUG_CONFIG", "JIRAPLUG_HTTP_TOKEN")}
    user = sandbox.default_user
    environ.update(JIRA_URL=sandbox.url, JIRA_DEPLOYMENT=sandbox.flavour)
    if sandbox.flavour == "cloud":
        environ.update(JIRA_USERNAME=user.email, JIRA_API_TOKEN=user.api_token)
    else:
        environ["JIRA_PERSONAL_TOKEN"] = user.personal_token
    switched_off = [name.strip() for name in (environ.get("JIRAPLUG_DISABLE_PLUGINS", "") + "," + disable).split(",")]
    switched_off = [name for name in switched_off if name]
    if switched_off:
        environ["JIRAPLUG_DISABLE_PLUGINS"] = ",".join(dict.fromkeys(switched_off))
    return environ


def run_demo(args: argparse.Namespace, out: TextIO = sys.stdout) -> tuple[DemoSummary, list[CallRecord]]:
    """Run the demo described by parsed ``args``; print progress and the table to ``out``.

    Returns the table's figures and every call of the session.
    """
    import anyio

    from jiraplug.bootstrap import bootstrap
    from jiraplug.sandbox import Knobs, SandboxServer

    started = time.perf_counter()
    sandbox = SandboxServer(flavour=args.flavour, seed=args.seed, port=0, knobs=Knobs(latency_ms=args.latency_ms))
    sandbox.start()
    try:
        kind = "Jira Cloud (REST v3)" if args.flavour == "cloud" else "Jira Data Center (REST v2)"
        projects = list(sandbox.state.projects)
        print(f"{PROG}: {kind} emulator at {sandbox.url}: {len(sandbox.state.issues)} issues in "
              f"{', '.join(projects)}; {args.latency_ms:g} ms added to every answer", file=out, flush=True)
        meter = RequestMeter()
        with tempfile.TemporaryDirectory(prefix="jiraplug-demo-") as scratch:
            config = args.config
            if config is None:  # built-in defaults: an empty file, so ./jiraplug.toml is not read
                config = Path(scratch, "jiraplug.toml")
                config.write_text("# jiraplug demo: built-in defaults\n")
            app = bootstrap(config, _environ(sandbox, args.disable), extra_plugins={METER_PLUGIN: meter})
        _describe_plugins(app, out)
        session, resources = anyio.run(_session, app, sandbox, args, out)
        summary = summarise(session, meter, sandbox, resources, time.perf_counter() - started)
    finally:
        sandbox.stop()
    print(format_table(summary), file=out, flush=True)
    print(f"{PROG}: done in {summary.seconds:.1f} s. Connect a client: jiraplug serve --sandbox", file=out, flush=True)
    return summary, session.records


def _describe_plugins(app: Any, out: TextIO) -> None:
    performance = ("cache", "pool", "ratelimit", "profiling", "alerting")
    infos = {info.name: info for info in app.plugins.plugins}
    on = [name for name in performance if name in infos and infos[name].loaded]
    off = [name for name in performance if name in infos and not infos[name].enabled]
    print(f"{PROG}: plugins on: {', '.join(on) or 'none'}; off: {', '.join(off) or 'none'}", file=out, flush=True)
    for info in infos.values():
        for error in info.errors:
            print(f"{PROG}: warning: plugin {info.name}: {error}", file=out, flush=True)


async def _session(app: Any, sandbox: Any, args: argparse.Namespace, out: TextIO) -> tuple[Session, dict[str, Any]]:
    from mcp import Client

    from jiraplug.server.build import build_server

    server = build_server(app.settings, app.plugins)
    async with Client(server, cache=None) as client:
        tools = {tool.name for tool in (await client.list_tools()).tools}
        print(f"{PROG}: MCP session open (in-memory client), {len(tools)} tools; {args.calls} calls follow",
              file=out, flush=True)
        session = Session(client, sandbox, tools, out, args.calls, args.seed)
        project = next(iter(sandbox.state.projects))
        await session.run(project)
        resources = {name: await _read_resource(client, f"jiraplug://{name}") for name in ("cache", "ratelimit", "alerts")}
    return session, resources


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``jiraplug demo``; returns the exit status (1 when a call failed or a read was stale)."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(sys.argv[1:] if argv is None else argv))
    except _UsageError as exc:
        print(f"{PROG}: error: {exc} (see --help)", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    logging.basicConfig(stream=sys.stderr, level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    from jiraplug import telemetry
    from jiraplug.errors import StartupError

    try:
        tel = telemetry.setup_telemetry()
    except ValueError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    try:
        summary, records = run_demo(args)
    except StartupError as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        tel.shutdown()
    if args.json_path:
        Path(args.json_path).write_text(json.dumps(
            {"summary": asdict(summary), "calls": [asdict(r) for r in records]}, indent=2) + "\n")
    return 1 if summary.errors or summary.stale_reads else 0
