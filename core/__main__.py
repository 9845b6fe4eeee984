"""``python -m jiraplug``: the same as the ``jiraplug`` command."""

import sys

from jiraplug.cli import main

sys.exit(main())
