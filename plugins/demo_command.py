"""Built-in plugin ``demo``: the ``jiraplug demo`` command, a scripted session on the emulator.

Only the command lives here: :mod:`jiraplug.demo` (the session, the summary and its own
argument parser) is imported when the command runs, not at every start of ``jiraplug``.
"""

from __future__ import annotations

import argparse
from typing import Any

from jiraplug import hookimpl


@hookimpl
def register_commands(subparsers: Any) -> None:
    command = subparsers.add_parser("demo", help="scripted session on the embedded emulator, then what the plugins "
                                    "did (see: jiraplug demo --help)", add_help=False)
    command.set_defaults(handler=_run, own_arguments=True)


def _run(args: argparse.Namespace) -> int:
    from jiraplug.demo import main

    return main(args.arguments)
