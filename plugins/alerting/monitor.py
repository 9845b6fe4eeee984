"""The alert lifecycle: pending -> firing -> resolved, evaluated on an injectable clock.

A rule whose limit is crossed becomes *pending*; if it stays crossed for ``for_seconds`` it
*fires* (one ``Alert(state="firing")``); while it stays crossed nothing more is sent; when
it clears it *resolves* (one ``Alert(state="resolved")``). A pending rule that clears
before ``for_seconds`` sends nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from jiraplug.plugins.alerting.alerts import Alert
from jiraplug.plugins.alerting.rules import Reading, Rule, Vitals
from jiraplug.plugins.alerting.settings import AlertingSettings
from jiraplug.plugins.alerting.window import WindowFigures


@dataclass
class _RuleState:
    pending_since: float | None = None  # monotonic clock
    pending_wall: float | None = None  # wall clock, for Alert.since
    firing: Alert | None = None
    last: Reading | None = None


class Monitor:
    """Evaluates the rules and remembers which alerts are pending or firing."""

    def __init__(
        self,
        rules: Sequence[Rule],
        settings: AlertingSettings,
        clock: Callable[[], float],
        wall_clock: Callable[[], float],
    ) -> None:
        self.rules = list(rules)
        self.settings = settings
        self._clock = clock
        self._wall = wall_clock
        self._states = {rule.name: _RuleState() for rule in self.rules}

    def evaluate(self, figures: WindowFigures, rss: int, redis_down_seconds: float | None = None) -> list[Alert]:
        """Read every rule now; return the alerts that changed state (to be delivered)."""
        now, wall = self._clock(), self._wall()
        vitals = Vitals(rss, redis_down_seconds)
        changes: list[Alert] = []
        for rule in self.rules:
            reading = rule.read(figures, vitals, self.settings)
            state = self._states[rule.name]
            state.last = reading
            if reading.breached:
                if state.pending_since is None:
                    state.pending_since, state.pending_wall = now, wall
                if state.firing is None and now - state.pending_since >= self.settings.for_seconds:
                    state.firing = self._alert(rule, reading, "firing", state.pending_wall or wall)
                    changes.append(state.firing)
            else:
                state.pending_since = state.pending_wall = None
                if state.firing is not None:
                    state.firing = None
                    changes.append(self._alert(rule, reading, "resolved", wall))
        return changes

    def _alert(self, rule: Rule, reading: Reading, state: str, since: float) -> Alert:
        labels = {"source": "jiraplug.alerting", "rule": rule.name, "window_seconds": f"{self.settings.window_seconds:g}"}
        if rule.name == "response_time":
            labels["statistic"] = self.settings.response_time_statistic
        return Alert(
            name=rule.name,
            state=state,  # type: ignore[arg-type]
            message=reading.message,
            severity="warning",
            value=None if reading.value is None else round(reading.value, 3),
            threshold=rule.threshold,
            unit=rule.unit,
            since=since,
            labels=labels,
        )

    def firing(self) -> set[str]:
        """Names of this monitor's rules that are firing."""
        return {name for name, state in self._states.items() if state.firing is not None}

    def describe(self) -> dict[str, Any]:
        """Each rule's threshold, last reading and state (for ``jiraplug://alerts``)."""
        out: dict[str, Any] = {}
        now = self._clock()
        for rule in self.rules:
            state = self._states[rule.name]
            status = "firing" if state.firing else "pending" if state.pending_since is not None else "ok"
            out[rule.name] = {
                "threshold": rule.threshold,
                "unit": rule.unit,
                "state": status,
                "value": None if state.last is None or state.last.value is None else round(state.last.value, 3),
                "message": state.last.message if state.last else "not evaluated yet",
                "pending_for_seconds": None if state.pending_since is None else round(now - state.pending_since, 3),
            }
        return out
