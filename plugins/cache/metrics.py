"""OpenTelemetry instruments of the cache plugin (``jiraplug.cache.*``).

Counters ``jiraplug.cache.hits``, ``.misses`` and ``.evictions`` carry the attribute
``layer`` (``api``, ``parsed``, ``config``; evictions also ``reason``: ``expired``,
``capacity``, ``bytes``, ``invalidated``); ``.coalesced`` counts reads answered by another
read's upstream request (single flight). The observable gauges ``jiraplug.cache.entries``
and ``.bytes`` report every live cache's layers when the metric reader collects.
"""

from __future__ import annotations

import weakref
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opentelemetry.metrics import CallbackOptions, Meter, Observation

from jiraplug.plugins.cache.store import LAYERS, CacheStore
from jiraplug.telemetry import once_per_meter

if TYPE_CHECKING:
    from opentelemetry.metrics import Counter

HITS = "jiraplug.cache.hits"
MISSES = "jiraplug.cache.misses"
EVICTIONS = "jiraplug.cache.evictions"
COALESCED = "jiraplug.cache.coalesced"
ENTRIES = "jiraplug.cache.entries"
BYTES = "jiraplug.cache.bytes"

# Stores whose size the gauges report: every cache alive in the process.
_stores: weakref.WeakSet[Any] = weakref.WeakSet()


@dataclass(frozen=True)
class CacheInstruments:
    """The counters one cache records into."""

    hits: Counter
    misses: Counter
    evictions: Counter
    coalesced: Counter


def watch(store: CacheStore) -> None:
    """Report ``store`` in the entries/bytes gauges while it is alive."""
    _stores.add(store)


@once_per_meter
def instruments(meter: Meter) -> CacheInstruments:
    """The cache instruments of ``meter``, created once per meter."""
    made = CacheInstruments(
        hits=meter.create_counter(HITS, unit="{request}", description="Reads answered from the cache"),
        misses=meter.create_counter(MISSES, unit="{request}", description="Reads the cache could not answer"),
        evictions=meter.create_counter(
            EVICTIONS, unit="{entry}", description="Entries removed before being replaced (expiry, capacity, "
            "byte budget, invalidation by a write)"
        ),
        coalesced=meter.create_counter(
            COALESCED, unit="{request}", description="Reads that shared another read's upstream request"
        ),
    )
    meter.create_observable_gauge(
        ENTRIES, callbacks=[_observe_entries], unit="{entry}", description="Entries held per cache layer"
    )
    meter.create_observable_gauge(
        BYTES, callbacks=[_observe_bytes], unit="By", description="Approximate bytes held per cache layer"
    )
    return made


def _per_layer(field: str) -> Iterable[Observation]:
    totals = dict.fromkeys(LAYERS, 0)
    for store in list(_stores):
        for layer, stats in store.stats().items():
            totals[layer] += getattr(stats, field)
    return [Observation(value, {"layer": layer}) for layer, value in totals.items()]


def _observe_entries(_options: CallbackOptions) -> Iterable[Observation]:
    return _per_layer("entries")


def _observe_bytes(_options: CallbackOptions) -> Iterable[Observation]:
    return _per_layer("bytes")
