"""The one Redis connection used for state shared by all workers (breaker, rate limiter, kick
debounce). Short timeouts: Redis is an optimisation here, never something to wait on."""

from __future__ import annotations

from functools import cache

import redis
from django.conf import settings


@cache
def client() -> redis.Redis:
    return redis.Redis.from_url(
        settings.QUEUEING["REDIS_URL"],
        socket_connect_timeout=1,
        socket_timeout=2,
        decode_responses=True,
    )


def reset() -> None:
    """Close and forget the shared client (after changing settings, e.g. in tests)."""
    if client.cache_info().currsize:
        client().close()
    client.cache_clear()
