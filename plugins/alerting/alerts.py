"""The alert record handed to ``deliver_alert`` sinks."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass(frozen=True)
class Alert:
    """A change of an alert's state.

    ``state`` is ``"firing"`` when the condition has held long enough and ``"resolved"``
    when it has cleared. ``value`` is the measured figure, ``threshold`` the configured
    limit, both in ``unit``. Never carries secrets.
    """

    name: str
    state: Literal["firing", "resolved"]
    message: str
    severity: Literal["info", "warning", "critical"] = "warning"
    value: float | None = None
    threshold: float | None = None
    unit: str = ""
    since: float = 0.0
    labels: dict[str, str] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
