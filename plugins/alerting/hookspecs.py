"""The hooks the ``alerting`` plugin declares: how other plugins receive its alerts.

They exist only while the plugin is loaded (it adds them with the core hook
``add_hookspecs``, as pytest plugins do with ``pytest_addhooks``). A plugin that implements
one and must also load when alerting is switched off marks it
``@hookimpl(optionalhook=True)``. The hook reference (docs/plugin-hooks.md) is generated
from these docstrings too.
"""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING

from jiraplug.hookspecs import hookspec

if TYPE_CHECKING:
    from jiraplug.plugins.alerting.alerts import Alert
    from jiraplug.runtime import Runtime


@hookspec
def deliver_alert(alert: Alert, runtime: Runtime) -> Awaitable[None] | None:
    """Deliver an alert state change (firing or resolved) to a sink.

    Called by the ``alerting`` plugin for every plugin that implements it, each time an
    alert changes state; every implementation is a sink (log, MCP log notification,
    webhook, pager...). ``Alert`` (``jiraplug.plugins.alerting.Alert``) has ``name``,
    ``state``, ``message``, ``severity``, ``value``, ``threshold``, ``unit``, ``since`` and
    ``labels``. May return an awaitable. A failing sink is reported and does not stop the
    others. Mark the implementation ``optionalhook=True`` so that your plugin still loads
    when alerting is switched off.

    Example::

        @hookimpl(optionalhook=True)
        async def deliver_alert(alert):
            if alert.state == "firing":
                await page_someone(alert.message)
    """
