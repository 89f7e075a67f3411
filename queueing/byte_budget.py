"""A byte budget per upstream, shared by every worker through Redis: a token bucket in bytes.

`limiter.py` counts calls; over a thin link what runs out is bytes. A sender that streams large
bodies (files, in chunks) asks `spend(upstream, n)` before each chunk. The bucket is charged at
once and may go into debt; the caller then sleeps until the debt is repaid at the configured
rate. Charging first makes concurrent workers queue in the order they asked (no worker can
starve the others by retrying faster) and keeps the sum of all workers' traffic at the rate.

Configured per upstream in `QUEUEING["BYTE_BUDGETS"]` (bytes per second; missing or 0 means
unlimited) with `QUEUEING["BYTE_BURST_SECONDS"]` worth of burst. If Redis is unreachable each
process falls back to a local bucket at the same rate: a few workers may then exceed the budget
together, but none stampedes, and delivery never stops because Redis did.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import redis
from django.conf import settings

from queueing import metrics, redis_state

__all__ = ["rate", "reserve", "spend", "spender"]

DEFAULT_BURST_SECONDS = 0.25
#: Never ask a caller to wait longer than this per chunk: a misconfigured tiny rate should
#: slow delivery, not park a worker past its lease.
MAX_WAIT_SECONDS = 30.0

_RESERVE = """
local now = redis.call('TIME'); now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local want, rate, burst = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'ts')
local tokens, ts = burst, now
if b[1] and b[2] then tokens, ts = tonumber(b[1]), tonumber(b[2]) end
tokens = math.min(burst, tokens + math.max(now - ts, 0) * rate) - want
-- '%.6f': Lua's tostring keeps 14 digits, which rounds a Unix time to 0.1 ms.
redis.call('HSET', KEYS[1], 'tokens', string.format('%.6f', tokens),
           'ts', string.format('%.6f', now))
redis.call('EXPIRE', KEYS[1], 3600)
if tokens >= 0 then return '0' end
return tostring(-tokens / rate)
"""


def _key(upstream: str) -> str:
    return f"queueing:bytes:{upstream}"


def rate(upstream: str) -> float:
    """The configured bytes per second for `upstream`; 0 means unlimited."""
    budgets = settings.QUEUEING.get("BYTE_BUDGETS") or {}
    return float(budgets.get(upstream) or 0)


def _burst(per_second: float) -> float:
    seconds = float(settings.QUEUEING.get("BYTE_BURST_SECONDS", DEFAULT_BURST_SECONDS))
    return max(1.0, per_second * seconds)


class _LocalBucket:
    """The same reservation bucket in one process, used only while Redis is unreachable."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._tokens: dict[str, tuple[float, float]] = {}

    def reserve(self, upstream: str, nbytes: int, per_second: float, burst: float) -> float:
        with self._lock:
            now = time.monotonic()
            tokens, stamp = self._tokens.get(upstream, (burst, now))
            tokens = min(burst, tokens + (now - stamp) * per_second) - nbytes
            self._tokens[upstream] = (tokens, now)
        return 0.0 if tokens >= 0 else -tokens / per_second


_local = _LocalBucket()


def reserve(upstream: str, nbytes: int) -> float:
    """Charge `nbytes` to `upstream`'s shared budget; returns the seconds to wait before sending."""
    if nbytes > 0:
        # Every byte-streaming sender passes here (limited or not), so this is where bytes sent
        # to an upstream are counted, for any upstream.
        metrics.BYTES_SENT.labels(upstream=upstream).inc(nbytes)
    per_second = rate(upstream)
    if per_second <= 0 or nbytes <= 0:
        return 0.0
    burst = _burst(per_second)
    try:
        wait = float(
            redis_state.run(_RESERVE, [_key(upstream)], nbytes, per_second, burst)
        )
    except redis.RedisError:
        wait = _local.reserve(upstream, nbytes, per_second, burst)
    return min(max(wait, 0.0), MAX_WAIT_SECONDS)


def spend(
    upstream: str, nbytes: int, *, sleep: Callable[[float], None] = time.sleep
) -> float:
    """Reserve `nbytes` and wait until they may go out. Returns the seconds waited."""
    wait = reserve(upstream, nbytes)
    if wait > 0:
        sleep(wait)
    return wait


def spender(upstream: str) -> Callable[[int], None]:
    """`spend` bound to one upstream: the `before_chunk` hook a streaming sender takes."""

    def before_chunk(nbytes: int) -> None:
        spend(upstream, nbytes)

    return before_chunk
