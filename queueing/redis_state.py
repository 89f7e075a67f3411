"""The one Redis connection used for state shared by all workers (breaker, rate limiter, kick
debounce). Short timeouts: Redis is an optimisation here, never something to wait on."""

from __future__ import annotations

from functools import cache
from typing import Any

import redis
from django.conf import settings
from redis.commands.core import Script


@cache
def client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.QUEUEING["REDIS_URL"],
        socket_connect_timeout=1,
        socket_timeout=2,
        decode_responses=True,
    )


def run(script: str, keys: list[str], *args: Any) -> Any:
    """Run one of our Lua scripts by its SHA (EVALSHA, loading it once per server: after a
    restart too). EVAL sent the whole script with every call; for the delivery loop's several
    calls per round that was a measurable share of a worker's CPU."""
    return _script(script)(keys=keys, args=list(args), client=client())


@cache
def _script(text: str) -> Script:
    return client().register_script(text)


def reset() -> None:
    """Close and forget the shared client (after changing settings, e.g. in tests)."""
    if client.cache_info().currsize:
        client().close()
    client.cache_clear()
