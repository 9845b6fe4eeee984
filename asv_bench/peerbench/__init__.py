"""Side-by-side comparison of MCP servers for Jira (driven by ``asv_bench/compare_peer.py``).

- :mod:`peerbench.procs`: the sandbox and server processes, start-up timing, RSS sampling, cleanup.
- :mod:`peerbench.workload`: the seeded call plan (skewed keys, a mix of tools) and the
  concurrent MCP clients that play it.
- :mod:`peerbench.report`: statistics, the side-by-side table, ratios, JSON.
"""
