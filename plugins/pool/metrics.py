"""OpenTelemetry instruments of the pool plugin (``jiraplug.pool.*``)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from jiraplug.telemetry import once_per_meter

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter, Histogram, Meter, UpDownCounter

KIND = "jiraplug.pool.kind"
"""Attribute of every pool metric: ``task`` (tool calls) or ``connection`` (Jira requests)."""


@dataclass(frozen=True)
class PoolInstruments:
    """The instruments of the pool plugin on one meter."""

    wait: Histogram
    in_flight: UpDownCounter
    queue_depth: UpDownCounter
    rejected: Counter


@once_per_meter
def instruments(meter: Meter) -> PoolInstruments:
    """The pool instruments of ``meter``, created once per meter."""
    return PoolInstruments(
        wait=meter.create_histogram(
            "jiraplug.pool.wait.duration", unit="s",
            description="Time spent waiting for a tool-call slot or a connection slot",
        ),
        in_flight=meter.create_up_down_counter(
            "jiraplug.pool.in_flight", unit="{request}", description="Tool calls or Jira requests being served"
        ),
        queue_depth=meter.create_up_down_counter(
            "jiraplug.pool.queue.depth", unit="{request}", description="Tool calls or Jira requests waiting"
        ),
        rejected=meter.create_counter(
            "jiraplug.pool.rejected", unit="{request}", description="Tool calls refused as busy"
        ),
    )
