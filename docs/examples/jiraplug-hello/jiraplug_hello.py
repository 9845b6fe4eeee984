"""An example third-party jiraplug plugin.

It shows the three things most plugins do: declare settings, add a tool, and wrap the
requests jiraplug sends to Jira. Install it next to jiraplug (``pip install .``) and it is
found through its ``jiraplug`` entry point; ``[plugins] hello = false`` switches it off.
"""

from __future__ import annotations

from jiraplug import PluginSettings, current_call, hookimpl

HEADER = "X-Jiraplug-Hello"


class HelloSettings(PluginSettings):
    """``[hello]`` table of jiraplug.toml (an unknown key or a wrong value is an error naming it)."""

    greeting: str = "Hello"


class RequestCounter:
    """Counts the Jira requests that pass through this plugin's middleware (one per server run)."""

    def __init__(self) -> None:
        self.seen = 0

    def wrap(self, send):  # type: ignore[no-untyped-def]
        async def counted(request):  # type: ignore[no-untyped-def]
            self.seen += 1
            request.headers[HEADER] = "1"
            return await send(request)

        return counted


def counter_of(runtime) -> RequestCounter:  # type: ignore[no-untyped-def]
    """This run's counter: state lives on the runtime, not in a module global."""
    return runtime.plugin_state(__name__, RequestCounter)


@hookimpl
def plugin_settings() -> type[PluginSettings]:
    return HelloSettings


@hookimpl
def jira_request_middleware(runtime):  # type: ignore[no-untyped-def]
    return counter_of(runtime).wrap


@hookimpl
def register_tools(registry, settings):  # type: ignore[no-untyped-def]
    greeting = settings.plugin_config("hello").greeting

    @registry.tool(title="Hello, who am I?", read_only=True, idempotent=True)
    async def hello_whoami() -> str:
        """Greet the Jira user this server acts as, and count Jira requests seen."""
        call = current_call()
        me = await call.jira.myself()
        seen = counter_of(call.runtime).seen
        return f"{greeting}, {me.get('displayName')}! Jira requests seen by the hello plugin: {seen}"
