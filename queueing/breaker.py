"""A circuit breaker per upstream, shared by every worker process through Redis.

closed    -> calls flow; `threshold` transient failures in a row open it.
open      -> no calls at all until the cooldown passes; then exactly one worker wins the right
             to send a health probe (SET NX), so calls while upstream is down are bounded by the
             probe rate, not by the backlog or the number of workers.
half_open -> the probe passed: real traffic resumes through a token bucket that restarts its
             ramp (see limiter.py); `close_after` successes close the breaker, one failure
             reopens it with a doubled cooldown (capped).

If Redis is flushed the breaker forgets and starts closed; at most `threshold` failing calls
later it is open again. If Redis is unreachable the breaker answers "closed" and the caller's
own backoff still spaces the calls out.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

import redis
from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone

from queueing import limiter, outages, redis_state
from queueing.models import UpstreamHealth

log = logging.getLogger(__name__)

Gate = Literal["closed", "open", "probe", "half_open"]

CLOSE_AFTER_SUCCESSES = 3

# All transitions run in Lua so two workers can never both see "closed" and both open it, or both
# win the probe. Times come from the Redis server clock, shared by all hosts.
_GATE = """
local now = redis.call('TIME'); now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local state = redis.call('HGET', KEYS[1], 'state')
if not state or state == 'closed' then return 'closed' end
if state == 'half_open' then return 'half_open' end
local until_ = tonumber(redis.call('HGET', KEYS[1], 'open_until') or '0')
if now < until_ then return 'open' end
if redis.call('SET', KEYS[2], '1', 'NX', 'PX', ARGV[1]) then return 'probe' end
return 'open'
"""

_FAILURE = """
local now = redis.call('TIME'); now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local threshold, base, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'open' then return 'open' end
if state == 'half_open' then
  local cooldown = math.min(cap, tonumber(redis.call('HGET', KEYS[1], 'cooldown') or base) * 2)
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', tostring(now + cooldown),
             'cooldown', tostring(cooldown), 'failures', 0, 'successes', 0)
  return 'reopened'
end
local failures = redis.call('HINCRBY', KEYS[1], 'failures', 1)
if failures >= threshold then
  redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', tostring(now + base),
             'cooldown', tostring(base), 'failures', 0, 'successes', 0)
  return 'opened'
end
return 'closed'
"""

_SUCCESS = """
local state = redis.call('HGET', KEYS[1], 'state') or 'closed'
if state == 'half_open' then
  local successes = redis.call('HINCRBY', KEYS[1], 'successes', 1)
  if successes >= tonumber(ARGV[1]) then
    redis.call('HSET', KEYS[1], 'state', 'closed', 'failures', 0, 'successes', 0)
    return 'closed_now'
  end
  return 'half_open'
end
if state == 'closed' then redis.call('HSET', KEYS[1], 'failures', 0) end
return state
"""

_PROBE = """
local now = redis.call('TIME'); now = tonumber(now[1]) + tonumber(now[2]) / 1e6
local base, cap = tonumber(ARGV[2]), tonumber(ARGV[3])
redis.call('DEL', KEYS[2])
if ARGV[1] == '1' then
  redis.call('HSET', KEYS[1], 'state', 'half_open', 'successes', 0, 'failures', 0)
  return 'half_open'
end
local cooldown = math.min(cap, tonumber(redis.call('HGET', KEYS[1], 'cooldown') or base) * 2)
redis.call('HSET', KEYS[1], 'state', 'open', 'open_until', tostring(now + cooldown),
           'cooldown', tostring(cooldown))
return 'open'
"""


@dataclass(frozen=True)
class BreakerState:
    state: str
    failures: int
    open_for_seconds: float


def _keys(upstream: str) -> list[str]:
    return [f"queueing:breaker:{upstream}", f"queueing:breaker:{upstream}:probe"]


def _conf() -> dict[str, float]:
    q = settings.QUEUEING
    return {
        "threshold": q["BREAKER_FAILURE_THRESHOLD"],
        "base": q["BREAKER_COOLDOWN_SECONDS"],
        "cap": q["BREAKER_COOLDOWN_CAP_SECONDS"],
    }


def _mirror(upstream: str, state: UpstreamHealth.State, note: str) -> None:
    """Record a state change in the database for the public board (rare: on transitions only),
    with the outage history in the same transaction: DOWN opens an outage (once), UP closes it
    (once, sending `upstream_recovered`)."""
    try:
        with transaction.atomic():
            if state == UpstreamHealth.State.DOWN:
                outages.outage_open(upstream=upstream, reason=note)
            elif state == UpstreamHealth.State.UP:
                outages.outage_close(upstream=upstream)
            current = UpstreamHealth.objects.filter(upstream=upstream).values_list(
                "state", flat=True)
            if list(current) == [state]:
                return
            UpstreamHealth.objects.update_or_create(
                upstream=upstream, defaults={"state": state, "since": timezone.now(), "note": note}
            )
    except DatabaseError:
        # Bookkeeping must not break delivery. Nothing was written (one transaction), so the
        # board still says "not up" and the next success tries again (see _db_thinks_not_up).
        log.exception("could not record that upstream %s is %s", upstream, state)
        return
    log.info("upstream %s is now %s", upstream, state)


def gate(upstream: str) -> Gate:
    """May this worker call `upstream` now? "probe" means: send one health probe, then report
    it with `probe_result`."""
    c = _conf()
    probe_ms = int(max(c["base"], 1.0) * 1000)
    try:
        answer = redis_state.run(_GATE, _keys(upstream), probe_ms)
    except redis.RedisError:
        return "closed"
    return answer  # type: ignore[no-any-return,unused-ignore]


def record_failure(upstream: str, reason: str) -> None:
    c = _conf()
    try:
        answer = redis_state.run(
            _FAILURE, _keys(upstream)[:1], c["threshold"], c["base"], c["cap"]
        )
    except redis.RedisError:
        return
    if answer in {"opened", "reopened"}:
        _mirror(upstream, UpstreamHealth.State.DOWN, reason[:200])


def record_success(upstream: str) -> None:
    try:
        answer = redis_state.run(_SUCCESS, _keys(upstream)[:1], CLOSE_AFTER_SUCCESSES)
    except redis.RedisError:
        return
    if answer == "closed_now" or (answer == "closed" and _db_thinks_not_up(upstream)):
        _mirror(upstream, UpstreamHealth.State.UP, "")


def _db_thinks_not_up(upstream: str) -> bool:
    # After a Redis flush the breaker restarts closed without a transition; the first success
    # must still correct a stale "down" on the board. One indexed read per successful batch.
    return (
        UpstreamHealth.objects.filter(upstream=upstream)
        .exclude(state=UpstreamHealth.State.UP)
        .exists()
    )  # an open outage always comes with a "not up" row: both are written in one transaction


def probe_result(upstream: str, ok: bool) -> None:
    c = _conf()
    try:
        answer = redis_state.run(
            _PROBE, _keys(upstream), "1" if ok else "0", c["base"], c["cap"]
        )
    except redis.RedisError:
        return
    if answer == "half_open":
        limiter.restart_ramp(upstream)
        _mirror(upstream, UpstreamHealth.State.RECOVERING, "probe succeeded; ramping up")


def state(upstream: str) -> BreakerState:
    try:
        raw = redis_state.client().hgetall(_keys(upstream)[0])
        now = redis_state.client().time()
    except redis.RedisError:
        return BreakerState("unknown", 0, 0.0)
    now_s = now[0] + now[1] / 1e6
    open_until = float(raw.get("open_until", 0) or 0)
    return BreakerState(
        state=str(raw.get("state", "closed")),
        failures=int(raw.get("failures", 0) or 0),
        open_for_seconds=max(0.0, open_until - now_s) if raw.get("state") == "open" else 0.0,
    )
