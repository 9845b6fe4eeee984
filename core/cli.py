"""The ``jiraplug`` command line.

Every failure a user can fix ends as one line on stderr (``jiraplug: error: ...``) and a
non-zero exit status, without a traceback.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import json
import logging
import os
import signal
import sys
from collections.abc import Sequence
from typing import Any

from jiraplug import __version__
from jiraplug.errors import StartupError

EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def build_parser() -> tuple[argparse.ArgumentParser, Any]:
    parser = argparse.ArgumentParser(
        prog="jiraplug",
        description="A Jira MCP server built as a small core plus plugins.",
        epilog="Configuration: --config PATH, $JIRAPLUG_CONFIG or ./jiraplug.toml, plus JIRA_* / JIRAPLUG_* "
        "environment variables. See docs/configuration.md.",
    )
    parser.add_argument("--version", action="version", version=f"jiraplug {__version__}")
    parser.add_argument("--config", metavar="PATH", help="TOML configuration file")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    serve = sub.add_parser("serve", help="serve MCP over stdio (default) or streamable HTTP",
                           description="Serve MCP over stdio (default) or streamable HTTP.")
    serve.add_argument("--transport", choices=["stdio", "http"], help="default: server.transport (stdio)")
    serve.add_argument("--host", help="HTTP bind address (default 127.0.0.1)")
    serve.add_argument("--port", type=int, help="HTTP port (default 8000)")
    serve.add_argument("--workers", type=_positive_int, metavar="N",
                       help="HTTP worker processes sharing the port, one per core (default server.workers, 1)")
    serve.add_argument("--sandbox", action="store_true",
                       help="serve the embedded Jira emulator instead of a real Jira (no credentials needed)")
    serve.add_argument("--sandbox-flavour", choices=["cloud", "dc"], default="cloud",
                       help="which Jira the sandbox emulates (default cloud)")
    serve.add_argument("--sandbox-seed", type=int, default=1, help="seed of the sandbox data (default 1)")

    plugins = sub.add_parser("plugins", help="list plugins: source, version, enabled, hooks, errors",
                             description="List discovered plugins.")
    plugins.add_argument("--json", action="store_true", help="print JSON")

    config = sub.add_parser("config", help="print the effective configuration (secrets redacted)",
                            description="Print the effective configuration with every secret redacted.")
    config.add_argument("--json", action="store_true", help="print JSON instead of TOML-like text")
    # Every other command (demo, sandbox, profile...) comes from a plugin: register_commands.
    return parser, sub


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= 64:
        raise argparse.ArgumentTypeError(f"expected a whole number from 1 to 64, got {text!r}")
    return value


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``jiraplug`` console script."""
    argv = list(sys.argv[1:] if argv is None else argv)
    parser, sub = build_parser()
    app, startup_error, command = _load(argv)
    if app is not None:
        app.plugins.register_commands(sub)
    elif command is not None and command not in sub.choices:
        # A plugin's command is missing because the configuration did not load: say why.
        print(f"jiraplug: error: {startup_error}", file=sys.stderr)
        return EXIT_USAGE
    args, rest = parser.parse_known_args(argv)
    if getattr(args, "own_arguments", False):  # a command that parses the rest of the line itself
        args.arguments = rest
    elif rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    try:
        if startup_error is not None:
            raise startup_error
        assert app is not None
        if args.command == "serve":
            return _serve(args, app)
        if args.command == "plugins":
            return _plugins(args, app)
        if args.command == "config":
            return _config(args, app)
        handler = getattr(args, "handler", None)
        if handler is not None:
            return int(handler(args) or 0)
    except StartupError as exc:
        print(f"jiraplug: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:
        if os.environ.get("JIRAPLUG_DEBUG"):
            raise
        print(f"jiraplug: internal error: {type(exc).__name__}: {exc} (set JIRAPLUG_DEBUG=1 for a traceback)",
              file=sys.stderr)
        return 1
    return EXIT_USAGE


def _load(argv: list[str]) -> tuple[Any, StartupError | None, str | None]:
    """Load configuration and plugins once, before parsing, so plugins can add commands.

    Returns the app or the error that stopped it, and the command named on the line.
    """
    from jiraplug.bootstrap import bootstrap

    early = argparse.ArgumentParser(add_help=False)
    early.add_argument("--config")
    early.add_argument("command", nargs="?")
    known, _ = early.parse_known_args(argv)
    try:
        return bootstrap(known.config), None, known.command
    except StartupError as exc:
        return None, exc, known.command


def _serve(args: argparse.Namespace, app: Any) -> int:
    from jiraplug.bootstrap import attach_sandbox
    from jiraplug.server.workers import worker_index

    server = app.settings.server
    for key in ("transport", "host", "port", "workers"):
        if getattr(args, key) is not None:
            setattr(server, key, getattr(args, key))
    is_worker = worker_index() is not None
    if server.workers > 1 and server.transport != "http":
        raise StartupError(f"--workers {server.workers} needs --transport http (stdio serves one client)")
    _configure_logging(server.log_level, server.log_bodies)
    if server.workers > 1 and not is_worker:
        return _supervise(args, app)
    if not is_worker:  # the supervisor reported them once
        _report_plugin_errors(app.plugins)

    from jiraplug import telemetry

    try:
        tel = telemetry.setup_telemetry()
    except ValueError as exc:
        raise StartupError(str(exc)) from None
    sandbox = attach_sandbox(app.settings, args.sandbox_flavour, args.sandbox_seed) if args.sandbox else None
    try:
        _check_jira_config(app.settings, quiet=is_worker)
        import anyio

        from jiraplug.server.build import build_server

        mcp = build_server(app.settings, app.plugins)
        # SIGTERM is a requested stop: unwind normally (telemetry flushed, sandbox stopped) and exit 0.
        # Over HTTP, uvicorn handles it first (in-flight calls finish, new connections are refused)
        # and then re-raises it, which lands here instead of killing the process before the flush.
        signal.signal(signal.SIGTERM, _terminate)
        terminated_stdio = False
        try:
            if server.transport == "http":
                from jiraplug.server.http_app import check_exposure, serve_http, uses_uvloop

                check_exposure(server)
                if not is_worker:
                    print(f"jiraplug: serving MCP at http://{_url_host(server.host)}:{server.port}/mcp", file=sys.stderr)
                anyio.run(functools.partial(serve_http, reuse_port=is_worker), mcp, server,
                          backend_options={"use_uvloop": uses_uvloop(server)})
            else:
                anyio.run(mcp.run_stdio_async)
        except _Terminated:
            terminated_stdio = server.transport != "http"
    finally:
        tel.shutdown()
        if sandbox is not None:
            sandbox.stop()
    if terminated_stdio:
        # The stdin reader is a worker thread blocked in read(); the interpreter would wait for it
        # until the client closes the pipe. Everything is flushed and stopped: leave now.
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):  # the client may have closed its end
                stream.flush()
        os._exit(0)
    return 0


class _Terminated(KeyboardInterrupt):
    """SIGTERM arrived: a graceful stop (a KeyboardInterrupt, so asyncio unwinds the same way)."""


def _terminate(signum: int, frame: Any) -> None:
    raise _Terminated


def _supervise(args: argparse.Namespace, app: Any) -> int:
    """``--workers N``: start N ``jiraplug serve`` processes on one port and supervise them."""
    from jiraplug.bootstrap import attach_sandbox
    from jiraplug.server.http_app import check_exposure
    from jiraplug.server.workers import Supervisor, reuse_port_socket, unshared_state_warning, worker_environment

    server = app.settings.server
    _report_plugin_errors(app.plugins)
    check_exposure(server)
    reserved = reuse_port_socket(server.host, server.port)  # fails now if the port is taken; keeps it ours
    port = reserved.getsockname()[1]
    sandbox = attach_sandbox(app.settings, args.sandbox_flavour, args.sandbox_seed) if args.sandbox else None
    try:
        _check_jira_config(app.settings)
        overrides: dict[str, str] = {}
        environ = dict(os.environ)
        if sandbox is not None:  # the workers use the supervisor's sandbox and its fake credentials
            environ = {k: v for k, v in environ.items() if not k.startswith("JIRA_")}
            jira = app.settings.jira
            overrides = {"JIRA_URL": sandbox.url, "JIRA_DEPLOYMENT": sandbox.flavour}
            if jira.username:
                overrides["JIRA_USERNAME"] = jira.username
            for name, secret in (("JIRA_API_TOKEN", jira.api_token), ("JIRA_PERSONAL_TOKEN", jira.personal_token)):
                if secret is not None:
                    overrides[name] = secret.get_secret_value()
        warning = unshared_state_warning(app.settings, server.workers)
        if warning:
            print(f"jiraplug: warning: {warning}", file=sys.stderr)
        if not server.stateless_http:
            print("jiraplug: workers serve stateless HTTP (server.stateless_http): an MCP session would live in "
                  "one worker while the client's next request may reach another", file=sys.stderr)
        config = ["--config", str(app.settings.config_file)] if app.settings.config_file else []
        command = [sys.executable, "-m", "jiraplug", *config, "serve", "--transport", "http",
                   "--host", server.host, "--port", str(port)]
        print(f"jiraplug: serving MCP at http://{_url_host(server.host)}:{port}/mcp with {server.workers} worker "
              "processes", file=sys.stderr)
        return Supervisor(command, server.workers, worker_environment(environ, overrides)).run()
    finally:
        reserved.close()
        if sandbox is not None:
            sandbox.stop()


def _check_jira_config(settings: Any, *, quiet: bool = False) -> None:
    """Fail at start-up, not at the first call, when Jira is not configured.

    An HTTP server may start without a credential: its callers then bring their own.
    """
    from jiraplug.jira.auth import auth_from_settings
    from jiraplug.runtime import per_request_only

    settings.jira.required_url()
    try:
        auth_from_settings(settings.jira)
    except StartupError:
        if not per_request_only(settings):
            raise
        if not quiet:
            print("jiraplug: no Jira credential configured: every call must carry X-Jira-Authorization",
                  file=sys.stderr)


def _url_host(host: str) -> str:
    return f"[{host}]" if ":" in host else host


# Loggers that write message bodies or Jira URLs (JQL in the query) at these levels and below:
# every user's Jira data. Held above them unless server.log_bodies asks for it.
BODY_LOGGERS = {"sse_starlette": logging.INFO, "mcp": logging.INFO, "httpx2": logging.WARNING}


def _configure_logging(level: str, log_bodies: bool = False) -> None:
    # stdout carries the MCP stdio protocol: logs go to stderr only.
    logging.basicConfig(stream=sys.stderr, level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    if not log_bodies:
        for name, floor in BODY_LOGGERS.items():
            logger = logging.getLogger(name)
            logger.setLevel(max(floor, logging.getLogger().getEffectiveLevel()))


def _report_plugin_errors(plugins: Any) -> None:
    for info in plugins.plugins:
        for error in info.errors:
            print(f"jiraplug: warning: plugin {info.name} disabled: {error}", file=sys.stderr)


def _plugins(args: argparse.Namespace, app: Any) -> int:
    rows = [info.as_dict() for info in app.plugins.plugins]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    for row in rows:
        state = "enabled" if row["enabled"] else "disabled"
        if row["error"]:
            state = "FAILED"
        source = f"{row['distribution'] or '?'} {row['version'] or ''}".strip()
        print(f"{row['name']:<16} {state:<9} {source}")
        if row["hooks"]:
            print(f"{'':<16} hooks: {', '.join(row['hooks'])}")
        if row["error"]:
            print(f"{'':<16} error: {row['error']}")
    return 0


def _config(args: argparse.Namespace, app: Any) -> int:
    data = app.settings.redacted()
    if args.json:
        print(json.dumps(data, indent=2, default=str))
        return 0
    if app.settings.config_file:
        print(f"# from {app.settings.config_file} and the environment")
    for table, values in data.items():
        print(f"[{table}]")
        for key, value in values.items():
            print(f"{key} = {json.dumps(value, default=str)}")
        print()
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
