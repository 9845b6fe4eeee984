"""docs/telemetry.md documents every span, metric (with its unit and type) and attribute a real export holds."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.docs.gen import ROOT, generator
from tests.redis_server import skip_without_redis

PAGE = ROOT / "docs" / "telemetry.md"


@pytest.fixture(scope="module")
def export(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    skip_without_redis()  # the workload keeps the cache and budget in Redis
    gen = generator("telemetryref")
    spans, metrics = gen.capture()
    return gen, spans, metrics


def table_rows(text: str) -> list[list[str]]:
    return [[cell.strip() for cell in line.strip("|").split("|")] for line in text.splitlines()
            if line.startswith("| `")]


def test_every_exported_span_metric_and_attribute_is_documented(export) -> None:  # type: ignore[no-untyped-def]
    gen, spans, metrics = export
    page = PAGE.read_text()
    span_rows, metric_rows = gen.inventory(spans, metrics)
    documented = {row[0]: row for row in table_rows(page)}
    for name, kind in span_rows:
        assert f"`{name}`" in documented and documented[f"`{name}`"][1] == kind, f"span {name} ({kind}) not on the page"
    for name, row in metric_rows.items():
        doc = documented.get(f"`{name}`")
        assert doc is not None, f"metric {name} is exported but not on the page"
        assert doc[1:3] == [row["type"], f"`{row['unit']}`"], f"metric {name}: page says {doc[1:3]}, export {row}"
    for key in gen.exported_attributes(span_rows, metric_rows):
        assert gen.ATTRIBUTES.get(key), f"attribute {key} has no meaning in docs/gen/telemetryref.py ATTRIBUTES"
        assert f"`{key}`" in documented, f"attribute {key} is exported but not on the page"
    # The workload reaches every plugin that records something.
    assert {"mcp.server.operation.duration", "http.client.request.duration", "jiraplug.cache.hits",
            "jiraplug.pool.wait.duration", "jiraplug.ratelimit.throttled", "jiraplug.profiling.stage.duration",
            "jiraplug.alerting.alerts"} <= set(metric_rows)


def test_every_documented_jiraplug_metric_exists_in_the_code() -> None:
    source = "\n".join(path.read_text() for folder in ("core", "plugins") for path in (ROOT / folder).rglob("*.py"))
    page = PAGE.read_text()
    for name in sorted(set(re.findall(r"^\| `(jiraplug\.[a-z_.]+)` \| (?:gauge|sum|histogram)", page, re.M))):
        assert f'"{name}"' in source, f"{name} is on the page but not in the code"
