"""Built-in plugin ``sandbox``: the ``jiraplug sandbox`` command, the Jira emulator in the foreground.

Only the command lives here: :mod:`jiraplug.sandbox` (the emulator and its own argument
parser, ``jiraplug.sandbox.cli``) is imported when the command runs, not at every start of
``jiraplug``.
"""

from __future__ import annotations

import argparse
from typing import Any

from jiraplug import hookimpl


@hookimpl
def register_commands(subparsers: Any) -> None:
    command = subparsers.add_parser("sandbox", help="run the embedded Jira emulator (see: jiraplug sandbox --help)",
                                    add_help=False)
    command.set_defaults(handler=_run, own_arguments=True)


def _run(args: argparse.Namespace) -> int:
    from jiraplug.sandbox.cli import main

    return main(args.arguments)
