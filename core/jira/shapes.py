"""Reading Jira answers defensively: real bodies do not always have the shape the spec shows.

Jira 5 answers carry a changelog as a string, apps put lists where objects belong, and fields
come back ``null``. Decoders read through these helpers so that a part they do not understand
is skipped, never a crash; an answer they cannot use at all is a clear :class:`JiraError`
(:func:`expect_object`, :func:`expect_list`) naming the endpoint and what was expected.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from jiraplug.jira.errors import JiraError

_EMPTY: Mapping[str, Any] = {}


def obj(value: Any) -> Mapping[str, Any]:
    """``value`` when it is an object, else an empty one (so ``.get`` finds nothing)."""
    return value if isinstance(value, Mapping) else _EMPTY


def objects(value: Any) -> list[Mapping[str, Any]]:
    """The objects in ``value`` when it is a list; anything else in it (or instead of it) is skipped."""
    return [item for item in value if isinstance(item, Mapping)] if isinstance(value, list) else []


def scalar(value: Any) -> str | int | float | bool | None:
    """A value shown as is when it is a string, number or boolean; ``None`` for objects and lists."""
    return value if isinstance(value, (str, int, float, bool)) else None


def text(value: Any) -> str | None:
    """A string for display: strings as they are, numbers as text, ``None`` for anything else."""
    if isinstance(value, str):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    return None


def expect_object(data: Any, endpoint: str, expected: str) -> Mapping[str, Any]:
    """``data`` when it is an object; else a clear error naming ``endpoint`` and what was ``expected``."""
    if not isinstance(data, Mapping):
        raise JiraError(f"Jira answered {endpoint} with {_kind(data)}; expected {expected}", status=502)
    return data


def expect_list(data: Any, endpoint: str, expected: str) -> list[Any]:
    """``data`` when it is a list; else a clear error naming ``endpoint`` and what was ``expected``."""
    if not isinstance(data, list):
        raise JiraError(f"Jira answered {endpoint} with {_kind(data)}; expected {expected}", status=502)
    return data


def _kind(data: Any) -> str:
    names = {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "nothing"}
    return next((name for kind, name in names.items() if isinstance(data, kind)),
                "a number" if isinstance(data, (int, float)) else type(data).__name__)
