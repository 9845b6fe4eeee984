""""Did you mean ...?": the one way an error suggests the name a person probably meant."""

from __future__ import annotations

import difflib
from collections.abc import Iterable


def did_you_mean(name: str, known: Iterable[str], n: int = 1) -> str:
    """``"; did you mean 'x'?"`` naming up to ``n`` close matches of ``name`` in ``known``, or ``""``."""
    close = difflib.get_close_matches(name, sorted(known), n=n)
    return f"; did you mean {', '.join(repr(c) for c in close)}?" if close else ""
