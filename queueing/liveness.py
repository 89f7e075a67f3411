"""Is the worker holding a lease still alive? A heartbeat per lease token in Redis.

A claimed message's lease (LEASE_SECONDS, 60 by default) must outlast the slowest round, blob
uploads over a thin link included. When a worker dies mid-round its messages wait out the
whole lease before another worker takes them, and if central had already taken the batch the
applicant's view stays behind central's for that long (DESIGN.md asks for 10 s). So each
round announces its token while it runs (`holding`): a key per token that a thread of the
worker's process renews every third of LIVENESS_SECONDS. A SIGKILLed process stops renewing,
its keys lapse, and the sweep (`queueing.deliver.release_dead_leases`) ends those leases at
once; the messages are then claimed like any expired lease, and central's dedupe makes the
second send harmless.

Absence proves death only if Redis kept its keys: after a flush or a restart nothing is known
until every live worker has renewed again, so an epoch key says since when this Redis server
(its run id, new at every start, so a restart that reloads an old snapshot counts too) has been
keeping them, and nothing is declared dead before the epoch is LIVENESS_SECONDS old. Without
Redis nothing is declared dead either: leases then run their full length, as before.

Written by hand: a few Redis commands around the lease this project already has; a worker
registry (Celery's own inspect/ping) answers per worker, not per lease, and over the broker.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager

import redis
from django.conf import settings

from queueing import redis_state

EPOCH_KEY = "queueing:leases:epoch"

# Set the epoch if missing (Redis was flushed or restarted, or never used) and return its age.
_EPOCH_AGE = """
local now = redis.call('TIME'); now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local since = redis.call('GET', KEYS[1])
if not since then
  redis.call('SET', KEYS[1], string.format('%.6f', now))
  return '0'
end
return tostring(now - tonumber(since))
"""


def epoch_key() -> str:
    """This Redis server's epoch key (raises redis.RedisError when it cannot be asked)."""
    run_id = redis_state.client().info("server").get("run_id", "")
    return f"{EPOCH_KEY}:{run_id}"


def _key(token: str) -> str:
    return f"queueing:leases:alive:{token}"


def _ttl() -> float:
    return float(settings.QUEUEING["LIVENESS_SECONDS"])


class _Heartbeat:
    """The tokens this process holds, renewed by one daemon thread (started on first use in
    each process: a forked Celery pool child does not inherit the parent's thread)."""

    def __init__(self) -> None:
        self._forked()
        # A child starts with nothing held (the parent's rounds are the parent's to announce)
        # and a fresh lock (the parent's heartbeat may have held it at the fork).
        os.register_at_fork(after_in_child=self._forked)

    def _forked(self) -> None:
        self._lock = threading.Lock()
        self._tokens: set[str] = set()
        self._pid = 0
        self._wake = threading.Event()

    def hold(self, token: str) -> None:
        with self._lock:
            self._tokens.add(token)
            if self._pid != os.getpid():
                self._pid = os.getpid()
                threading.Thread(target=self._run, name="lease-heartbeat", daemon=True).start()
        _announce([token])

    def release(self, token: str) -> None:
        with self._lock:
            self._tokens.discard(token)
        try:
            redis_state.client().delete(_key(token))
        except redis.RedisError:
            pass  # it lapses by itself

    def _run(self) -> None:
        pid = os.getpid()
        while self._pid == pid:
            self._wake.wait(_ttl() / 3)
            with self._lock:
                tokens = list(self._tokens)
            if tokens:
                _announce(tokens)


def _announce(tokens: list[str]) -> None:
    try:
        with redis_state.client().pipeline(transaction=False) as pipe:
            for token in tokens:
                pipe.set(_key(token), "1", px=int(_ttl() * 1000))
            pipe.execute()
    except redis.RedisError:
        pass  # no worse than without liveness: the lease runs its full length


_heartbeat = _Heartbeat()


@contextmanager
def holding(token: str) -> Iterator[None]:
    """Announce `token` as held by a live process for the `with` block."""
    _heartbeat.hold(token)
    try:
        yield
    finally:
        _heartbeat.release(token)


def dead(tokens: list[str]) -> list[str]:
    """The tokens whose holder has stopped announcing them (died), of `tokens`. Empty while
    Redis cannot tell (unreachable, or flushed less than LIVENESS_SECONDS ago)."""
    if not tokens:
        return []
    try:
        if float(redis_state.run(_EPOCH_AGE, [epoch_key()])) < _ttl():
            return []
        with redis_state.client().pipeline(transaction=False) as pipe:
            for token in tokens:
                pipe.exists(_key(token))
            alive = pipe.execute()
    except redis.RedisError:
        return []
    return [token for token, found in zip(tokens, alive, strict=True) if not found]
