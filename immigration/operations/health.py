"""Liveness and readiness for load balancers, systemd and orchestrators.

No authentication and nothing personal in the answers; each check is bounded in time, so a
probe never hangs on a sick dependency. Central being down does not make the office unready:
accepting applications while central is gone is the point of this system.
"""

from __future__ import annotations

import time

import redis
from django.db import connection
from django.http import HttpRequest, JsonResponse
from django.views.decorators.http import require_safe

from queueing import redis_state

#: Bounds a database check on a connection that opened but does not answer (PostgreSQL); the
#: connect itself is bounded by DB_CONNECT_TIMEOUT (settings), Redis by its 1 s/2 s timeouts.
DATABASE_CHECK_TIMEOUT_MS = 2000


def _no_store(response: JsonResponse) -> JsonResponse:
    response["Cache-Control"] = "no-store"
    return response


@require_safe
def healthz(request: HttpRequest) -> JsonResponse:
    """The process answers. Touches nothing else, so a database outage never gets a healthy
    web process restarted."""
    return _no_store(JsonResponse({"status": "ok"}))


def database_ok() -> bool:
    try:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                # Session-level, so it also holds outside a transaction; reset right after.
                cursor.execute(f"SET statement_timeout = {DATABASE_CHECK_TIMEOUT_MS}")
                try:
                    cursor.execute("SELECT 1")
                    answer = cursor.fetchone()
                finally:
                    cursor.execute("SET statement_timeout = 0")
            else:
                cursor.execute("SELECT 1")
                answer = cursor.fetchone()
            return answer == (1,)
    except Exception:
        # Whatever the driver raises, the answer is "not ready"; the connection is dropped so
        # the next request starts clean.
        connection.close_if_unusable_or_obsolete()
        return False


def redis_ok() -> bool:
    try:
        return bool(redis_state.client().ping())
    except redis.RedisError:
        return False


@require_safe
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready to take traffic: the database (the only source of truth) and Redis (the kick,
    breaker and limiter) answer. 503 otherwise, naming which check failed."""
    started = time.perf_counter()
    checks = {
        "database": "ok" if database_ok() else "unavailable",
        "redis": "ok" if redis_ok() else "unavailable",
    }
    ready = all(v == "ok" for v in checks.values())
    body = {
        "status": "ready" if ready else "unavailable",
        "checks": checks,
        "took_ms": round((time.perf_counter() - started) * 1000, 1),
    }
    return _no_store(JsonResponse(body, status=200 if ready else 503))
