"""``jiraplug sandbox``: serve the Jira emulator in the foreground until Ctrl-C / SIGTERM."""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn, TextIO

from jiraplug.sandbox.knobs import Knobs
from jiraplug.sandbox.server import SandboxServer

__all__ = ["main", "build_parser"]

PROG = "jiraplug sandbox"


class _UsageError(Exception):
    """A bad command line (reported as one line, exit status 2)."""


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _UsageError(message)


def _non_negative(kind: type) -> argparse._ActionType:  # type: ignore[name-defined]
    def convert(text: str) -> float | int:
        try:
            value = kind(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected a non-negative {kind.__name__}, got {text!r}") from None
        if value < 0:
            raise argparse.ArgumentTypeError(f"expected a non-negative {kind.__name__}, got {text!r}")
        return value

    return convert


def _fraction(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"expected a fraction between 0 and 1, got {text!r}")
    return value


def _port(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}") from None
    if not 0 <= value <= 65535:
        raise argparse.ArgumentTypeError(f"expected a port number 0-65535, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``jiraplug sandbox``."""
    parser = _Parser(
        prog=PROG,
        description="Serve an embedded Jira emulator with seeded demo data (Cloud REST v3 or Data Center "
                    "REST v2). Credentials printed at start are sandbox-only fakes.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("--flavour", "--flavor", choices=("cloud", "dc"), default="cloud",
                        help="Jira Cloud (REST v3, ADF) or Data Center (REST v2, wiki markup)")
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind")
    parser.add_argument("--port", type=_port, default=8080, help="TCP port (0 picks a free one)")
    parser.add_argument("--seed", type=int, default=1, help="seed for the generated projects and issues")
    parser.add_argument("--latency-ms", type=_non_negative(float), default=0.0,
                        help="delay added before every answer")
    parser.add_argument("--jitter-ms", type=_non_negative(float), default=0.0,
                        help="random extra delay, uniform in [0, jitter]")
    parser.add_argument("--error-rate", type=_fraction, default=0.0,
                        help="fraction of requests answered 500/502/503")
    parser.add_argument("--rate-limit", type=_non_negative(float), default=0.0, metavar="RPS",
                        help="token-bucket limit in requests/second; over it the answer is 429 (0 = off)")
    parser.add_argument("--drop-rate", type=_fraction, default=0.0,
                        help="fraction of requests whose connection is closed without an answer")
    parser.add_argument("--slow-body-ms", type=_non_negative(float), default=0.0,
                        help="stream each response body over this many milliseconds")
    parser.add_argument("--admin", action="store_true",
                        help="enable GET/POST /__sandbox__/knobs and GET /__sandbox__/log")
    return parser


def _banner(server: SandboxServer, out: TextIO) -> None:
    user = server.default_user
    flavour = "Jira Cloud (REST v3)" if server.flavour == "cloud" else "Jira Data Center (REST v2)"
    issues = len(server.state.issues)
    keys = ", ".join(server.state.projects)
    lines = [
        f"{PROG}: {flavour} emulator, seed {server.seed}, {issues} issues in {keys}",
        f"  listening on {server.url}",
        "  sandbox-only fake credentials:",
    ]
    if server.flavour == "cloud":
        lines += [f"    email:     {user.email}", f"    API token: {user.api_token}"]
        env = [f"JIRA_URL={server.url}", f"JIRA_USERNAME={user.email}", f"JIRA_API_TOKEN={user.api_token}"]
    else:
        lines += [f"    username:  {user.name}", f"    PAT:       {user.personal_token}"]
        env = [f"JIRA_URL={server.url}", f"JIRA_PERSONAL_TOKEN={user.personal_token}"]
    restricted = [u for u in server.users if u.projects]
    for other in (u for u in server.users if u.projects == frozenset()):
        lines.append(f"    service desk customer {other.name} ({other.email}) sees only their HELP requests; "
                     f"API token {other.api_token}, PAT {other.personal_token}")
    for other in restricted:
        only = ", ".join(sorted(other.projects or ()))
        works = ", ".join(sorted(p for p in (other.projects or ()) if other.can_edit(p)))
        lines.append(f"    restricted user {other.name} ({other.email}) sees only {only} and may change only "
                     f"{works}; API token {other.api_token}, PAT {other.personal_token}")
    lines.append("  point jiraplug at it:")
    lines += [f"    export {item}" for item in env]
    lines.append("    jiraplug serve")
    if server.admin:
        lines.append(f"  admin: {server.url}/__sandbox__/knobs  {server.url}/__sandbox__/log")
    lines.append("Press Ctrl-C to stop.")
    print("\n".join(lines), file=out, flush=True)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``jiraplug sandbox``; returns the process exit status."""
    parser = build_parser()
    try:
        args = parser.parse_args(list(argv) if argv is not None else None)
    except _UsageError as exc:
        print(f"{PROG}: error: {exc} (see --help)", file=sys.stderr)
        return 2
    except SystemExit as exc:  # --help
        return int(exc.code or 0)
    knobs = Knobs(latency_ms=args.latency_ms, jitter_ms=args.jitter_ms, error_rate=args.error_rate,
                  rate_limit_rps=args.rate_limit, drop_rate=args.drop_rate, slow_body_ms=args.slow_body_ms)
    server = SandboxServer(flavour=args.flavour, seed=args.seed, port=args.port, host=args.host, knobs=knobs,
                           admin=args.admin)
    try:
        server.start()
    except OSError as exc:
        print(f"{PROG}: error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    stop = threading.Event()
    previous: dict[signal.Signals, object] = {}
    if threading.current_thread() is threading.main_thread():
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda *_: stop.set())
    try:
        _banner(server, sys.stdout)
        while not stop.wait(0.5):
            if not server.running:
                print(f"{PROG}: error: the server stopped unexpectedly", file=sys.stderr)
                return 1
    except KeyboardInterrupt:
        pass
    finally:
        server.stop()
        for sig, handler in previous.items():
            signal.signal(sig, handler)  # type: ignore[arg-type]
    print(f"{PROG}: stopped", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
