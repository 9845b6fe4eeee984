"""The embedded Jira emulator ("sandbox") used by demos, tests and benchmarks.

Two flavours: ``"cloud"`` (REST v3 with ADF, plus v2; enhanced ``/search/jql``) and
``"dc"`` (Data Center REST v2 with wiki markup; classic ``/search``). Data is generated
deterministically from a seed; faults are injected through :class:`Knobs`.

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
