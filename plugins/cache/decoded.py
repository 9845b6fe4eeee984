"""Decoded JSON bodies: private copies for callers, and their approximate memory size.

The ``parsed`` layer shares one decoded body between every request that received the same
bytes; each caller gets its own copy, so a tool that edits what it got cannot change what
the next caller sees.
"""

from __future__ import annotations

import sys
from typing import Any


def json_copy(value: Any) -> Any:
    """A deep copy of decoded JSON (dicts, lists, scalars); about as fast as ``json.loads``."""
    kind = type(value)
    if kind is dict:
        return {k: json_copy(v) for k, v in value.items()}
    if kind is list:
        return [json_copy(v) for v in value]
    return value  # str, int, float, bool, None: immutable


def json_size(value: Any) -> int:
    """Approximate bytes held by decoded JSON (containers, strings, numbers)."""
    size = 0
    stack = [value]
    getsizeof = sys.getsizeof
    while stack:
        item = stack.pop()
        size += getsizeof(item)
        kind = type(item)
        if kind is dict:
            # Keys are usually shared (the decoder memoises them), so count them once here.
            stack.extend(item.values())
        elif kind is list:
            stack.extend(item)
    return size
