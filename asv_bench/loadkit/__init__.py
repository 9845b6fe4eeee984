"""Shared pieces of the load run (``loadtest.py``) and the fault run (``faulttest.py``).

- :mod:`loadkit.stack`: the processes (sandbox, ``jiraplug serve --transport http``), readiness,
  the file-descriptor limit.
- :mod:`loadkit.mix`: the mixed read/write workload, the users it acts as, unique write markers.
- :mod:`loadkit.driver`: N concurrent MCP sessions over streamable HTTP playing the mix,
  each call classified as ok / tool error / protocol error, with latency statistics.
- :mod:`loadkit.ledger`: which writes were reported done, and whether the sandbox agrees
  (nothing lost, nothing doubled).

Process handling (process groups, SIGTERM then SIGKILL, RSS sampling) comes from
``peerbench.procs``. Everything talks to 127.0.0.1 only.
"""
