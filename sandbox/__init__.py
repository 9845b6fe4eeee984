"""The embedded Jira emulator ("sandbox") used by demos, tests and benchmarks.

Two flavours: ``"cloud"`` (REST v3 with ADF, plus v2; enhanced ``/search/jql``) and
``"dc"`` (Data Center REST v2 with wiki markup; classic ``/search``), both with the agile
API (``/rest/agile/1.0``). Data is generated deterministically from a seed (issues with
comments, worklogs, real attachments, links, remote links, watchers; boards and sprints);
every write the tools can make is stateful (create, edit, delete, transition, comment,
worklog, attachment, link, watcher, sprint, version, component) and visible to later reads
and to JQL. Faults are injected through :class:`Knobs`.

Route modules live in ``routes/``, one per API area (see its docstring); the write logic they
share lives in ``issue_input`` (fields/update), ``issue_side`` and ``ops``.

Permissions: ``alice`` (the default user) administers everything; ``erin`` works in MOB, may
only read PLAT (writes answer 403) and cannot see OPS (404); no credentials answer 401.
Tests can inspect state through :attr:`SandboxServer.state` (``issue_by_key``,
``comments_of``, ``worklogs_of``, ``attachments_of``, ``watchers_of``, ``changelog_of``...).

>>> from jiraplug.sandbox import SandboxServer
>>> with SandboxServer(flavour="cloud", seed=1, port=0) as sb:  # doctest: +SKIP
...     print(sb.url, sb.default_user.email, sb.default_user.api_token)
"""

from jiraplug.sandbox.app import create_app
from jiraplug.sandbox.knobs import Knobs
from jiraplug.sandbox.model import REFERENCE_NOW, SandboxUser
from jiraplug.sandbox.requestlog import RequestLog, RequestRecord
from jiraplug.sandbox.server import SandboxServer
from jiraplug.sandbox.store import Store

__all__ = [
    "SandboxServer",
    "SandboxUser",
    "Knobs",
    "create_app",
    "Store",
    "RequestLog",
    "RequestRecord",
    "REFERENCE_NOW",
]
