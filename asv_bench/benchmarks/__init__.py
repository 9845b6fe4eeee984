"""asv benchmarks for jiraplug (see docs/benchmarks.md).

Families: ``bench_client`` (request building, issue parsing and rendering, Markdown <-> ADF
and wiki markup), ``bench_cache`` (the cache plugin's store and its middleware hit path),
``bench_async`` (concurrent tool calls), ``bench_integration`` (one tool call end to end),
``bench_startup`` (process start to first ``tools/list``, peak memory).
"""
