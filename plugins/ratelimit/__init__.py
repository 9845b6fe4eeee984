"""Built-in plugin ``ratelimit``: a good citizen toward Jira, and calls that survive pushback.

- Token buckets toward Jira, global and per credential (aiolimiter).
- Honours 429 (and 503 with ``Retry-After``): waits what ``Retry-After`` or
  ``X-RateLimit-Reset`` says, clamped to ``[min_retry_after_seconds,
  max_retry_after_seconds]`` (beyond the maximum the call fails saying when to retry), and
  slows the credential down after 429s, recovering gradually.
- Retries transient failures with exponential backoff and full jitter (tenacity), capped
  by attempts and total time. Writes are never repeated unless Jira certainly did not act.
- A circuit breaker per Jira site fails calls fast while Jira keeps failing.
- With ``backend = "redis"`` the buckets, the pause, the adaptive rate and the breaker are
  shared by every replica (:mod:`.shared`); while Redis is unreachable each replica falls
  back to its own share of the budget.

It is the innermost built-in on ``jira_request_middleware`` (``BUILTIN_PLUGINS``), inside
the cache, so cache hits spend no budget and every attempt is a real request. One controller
per running server, ``state_of(runtime)``, shared by every Jira client it builds; its
``snapshot()`` is the MCP resource ``jiraplug://ratelimit``; metrics ``jiraplug.ratelimit.*``.
Its clock, wall clock and sleep are ``runtime.clock``'s. See ``docs/plugins/ratelimit.md``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from jiraplug import hookimpl
from jiraplug.redis_link import close_links, link_for
from jiraplug.plugins.ratelimit.metrics import RATELIMIT_WAIT
from jiraplug.plugins.ratelimit.settings import RateLimitSettings

if TYPE_CHECKING:
    from jiraplug.jira.middleware import JiraMiddleware
    from jiraplug.plugins.ratelimit.controller import RateLimitController
    from jiraplug.server.registry import ResourceRegistry
    from jiraplug.runtime import Runtime

__all__ = ["PLUGIN_NAME", "RATELIMIT_WAIT", "RESOURCE_URI", "RateLimitSettings", "state_of"]

PLUGIN_NAME = "ratelimit"
RESOURCE_URI = "jiraplug://ratelimit"


def state_of(runtime: Runtime) -> RateLimitController:
    """The controller of ``runtime``, made on first use (on ``runtime.clock``)."""
    from jiraplug.plugins.ratelimit.controller import RateLimitController

    clock = runtime.clock

    def build() -> RateLimitController:
        from jiraplug.plugins.ratelimit.shared import SharedLimits

        config: RateLimitSettings = runtime.settings.plugin_config(PLUGIN_NAME)
        shared = None
        if config.backend == "redis":
            shared = SharedLimits(link_for(runtime, config), config, config.key_prefix)
        return RateLimitController(config, clock=clock.monotonic, wall_clock=clock.time, sleep=clock.sleep,
                                   meter=runtime.telemetry.meter, shared=shared)

    return runtime.plugin_state(__name__, build)


@hookimpl
def plugin_settings() -> type[RateLimitSettings]:
    return RateLimitSettings


@hookimpl(trylast=True)
def jira_request_middleware(runtime: Runtime) -> JiraMiddleware:
    # trylast: inside third-party middleware; innermost built-in (BUILTIN_PLUGINS), so cache
    # hits spend no budget.
    return state_of(runtime).wrap


@hookimpl
def register_resources(registry: ResourceRegistry) -> None:
    def read(runtime: Runtime) -> dict[str, Any]:
        """Rate limiting: 429s received, retries by reason, waits, breaker states, adaptive rates."""
        return {**state_of(runtime).snapshot(), "active": True}

    registry.add(RESOURCE_URI, read, name="ratelimit", description=read.__doc__, operator_only=True)


@hookimpl
async def shutdown(runtime: Runtime) -> None:
    """Close the Redis connections of a shared budget (nothing to do in memory)."""
    await close_links(runtime)
