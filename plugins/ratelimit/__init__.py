"""Built-in plugin ``ratelimit``: a good citizen toward Jira, and calls that survive pushback.

- Token buckets toward Jira, global and per credential (aiolimiter).
- Honours 429 (and 503 with ``Retry-After``): waits what ``Retry-After`` or
  ``X-RateLimit-Reset`` says, clamped to ``[min_retry_after_seconds,
  max_retry_after_seconds]`` (beyond the maximum the call fails saying when to retry), and
  slows the credential down after 429s, recovering gradually.
- Retries transient failures with exponential backoff and full jitter (tenacity), capped
  by attempts and total time. Writes are never repeated unless Jira certainly did not act.
- A circuit breaker per Jira site fails calls fast while Jira keeps failing.

It is the innermost built-in on ``jira_request_middleware`` (``BUILTIN_PLUGINS``), inside
the cache, so cache hits spend no budget and every attempt is a real request. Numbers: :func:`stats` and the
MCP resource ``jiraplug://ratelimit``; metrics ``jiraplug.ratelimit.*``. See
``docs/plugins/ratelimit.md``.
"""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Any

from jiraplug import hookimpl
from jiraplug.plugins.ratelimit.settings import RateLimitSettings

if TYPE_CHECKING:
    from jiraplug.jira.middleware import JiraMiddleware
    from jiraplug.plugins.ratelimit.controller import RateLimitController
    from jiraplug.server.registry import ResourceRegistry
    from jiraplug.runtime import Runtime
    from jiraplug.settings import Settings

__all__ = ["RateLimitSettings", "controller_for", "stats", "PLUGIN_NAME", "RESOURCE_URI"]

PLUGIN_NAME = "ratelimit"
RESOURCE_URI = "jiraplug://ratelimit"

# The controller of the latest Jira client built for each Settings object (keyed by id;
# an entry goes away with its Settings), and the latest one overall.
_controllers: dict[int, RateLimitController] = {}
_latest: weakref.ref[RateLimitController] | None = None


def _remember(settings: Settings, controller: RateLimitController) -> None:
    global _latest
    key = id(settings)
    if key not in _controllers:
        weakref.finalize(settings, _controllers.pop, key, None)
    _controllers[key] = controller
    _latest = weakref.ref(controller)


def controller_for(settings: Settings | None = None) -> RateLimitController | None:
    """The live controller for ``settings`` (default: the most recently built one), if any.

    Tests use it to inject a clock and sleep (``controller.clock``, ``.sleep``).
    """
    if settings is None:
        return _latest() if _latest is not None else None
    return _controllers.get(id(settings))


def stats(settings: Settings | None = None) -> dict[str, Any]:
    """Retries, throttled waits, 429s, breaker states... of the live controller (zeros if none).

    ``settings`` picks the server (default: the most recently started one).
    """
    controller = controller_for(settings)
    if controller is None:
        from jiraplug.plugins.ratelimit.metrics import RateLimitStats

        return {**RateLimitStats().as_dict(), "active": False}
    return {**controller.snapshot(), "active": True}


@hookimpl
def plugin_settings() -> type[RateLimitSettings]:
    return RateLimitSettings


@hookimpl(trylast=True)
def jira_request_middleware(runtime: Runtime) -> JiraMiddleware:
    # trylast: inside third-party middleware; innermost built-in (BUILTIN_PLUGINS), so cache
    # hits spend no budget.
    from jiraplug.plugins.ratelimit.controller import RateLimitController

    controller = RateLimitController(runtime.settings.plugin_config(PLUGIN_NAME))
    _remember(runtime.settings, controller)
    return controller.wrap


@hookimpl
def register_resources(registry: ResourceRegistry, settings: Settings) -> None:
    def read() -> dict[str, Any]:
        """Rate limiting: 429s received, retries by reason, waits, breaker states, adaptive rates."""
        return stats(settings)

    registry.add(RESOURCE_URI, read, name="ratelimit", description=read.__doc__, operator_only=True)
