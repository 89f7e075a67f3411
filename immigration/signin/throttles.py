"""Request limits counted in Redis, so every gunicorn process and every host shares one count.

DRF's own throttles keep a list of timestamps per client in the default cache: per process here
(a local-memory cache), and a list that grows with the rate. These count in fixed windows with
one Redis counter per client and window instead: O(1) whatever the rate, so benchmarks can set
rates very high without paying for it. If Redis is unreachable the limits fail open: accepting
an application never waits on Redis (DESIGN, "The one rule").
"""

from __future__ import annotations

import hashlib
import logging
import time
import weakref
from dataclasses import dataclass
from typing import Any

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

from immigration.personal_data import blind_index
from immigration.signin.client_ip import client_ip

log = logging.getLogger(__name__)


def throttle_cache() -> Any:
    return caches["throttle"]


# One round trip for any number of counts: for each (counter, marker) pair add one to the
# window's counter unless the marker ("this was counted already", e.g. a retried submission;
# "" for none) exists, and set the marker. Redis runs a script atomically, so concurrent
# requests never lose a count.
_COUNT_SCRIPT = """
local counts = {}
for i = 1, #ARGV do
  local counter, seen, ttl = KEYS[2 * i - 1], KEYS[2 * i], ARGV[i]
  if seen ~= '' and redis.call('SET', seen, 1, 'NX', 'EX', ttl) == false then
    counts[i] = tonumber(redis.call('GET', counter) or '0')
  else
    counts[i] = redis.call('INCR', counter)
    redis.call('EXPIRE', counter, ttl)
  end
end
return counts
"""

# One registered script per cache backend (EVALSHA: the script's text is not resent), on one
# client kept for the process: building a redis-py client for each count, as the cache's own
# get_client() does, cost more CPU than the count itself (profiled on the accept path).
_count_scripts: weakref.WeakKeyDictionary[Any, Any] = weakref.WeakKeyDictionary()


def _count_script(cache: Any) -> Any:
    backend = cache._cache  # Django's RedisCacheClient: its connection pools, its client class
    script = _count_scripts.get(backend)
    if script is None:
        script = backend.get_client(write=True).register_script(_COUNT_SCRIPT)
        _count_scripts[backend] = script
    return script


@dataclass(frozen=True)
class Count:
    """One counter: `key` in fixed windows of `window_seconds`; with `once_per`, only the first
    request with that marker in the window counts."""

    key: str
    window_seconds: int
    once_per: str | None = None


def count_hits(counts: list[Count]) -> list[int]:
    """Add one to each counter in its current window, in one round trip, and return the counts.
    Raises whatever the Redis client raises when Redis is away."""
    cache = throttle_cache()
    now = time.time()
    keys: list[str] = []
    for count in counts:
        window = int(now // count.window_seconds)
        keys.append(cache.make_and_validate_key(f"{count.key}:{window}"))
        keys.append("" if count.once_per is None else cache.make_and_validate_key(
            f"{count.key}:seen:{count.once_per}:{window}"))
    # Django's RedisCache has no atomic "increment or create": a script does it.
    answer = _count_script(cache)(keys=keys, args=[c.window_seconds + 1 for c in counts])
    return [int(n) for n in answer]


def count_hit(key: str, *, window_seconds: int, once_per: str | None = None) -> int:
    """count_hits() for one counter."""
    return count_hits([Count(key, window_seconds, once_per)])[0]


def seconds_left_in_window(window_seconds: int) -> int:
    return max(1, int(window_seconds - time.time() % window_seconds + 0.999))


class SharedRateThrottle(ScopedRateThrottle):
    """DRF's scoped throttle (rates from DEFAULT_THROTTLE_RATES by scope), counted in Redis.
    The scope is the view's `throttle_scope`, or the class's own `fixed_scope` when a view has
    several limits."""

    fixed_scope: str | None = None

    def get_ident(self, request: Request) -> str:
        return client_ip(request)

    def subject(self, request: Request, view: Any) -> str | None:
        """What is counted: the client by default. None: this request is not limited."""
        return self.get_ident(request)

    def once_per(self, request: Request) -> str | None:
        """Requests with the same marker count once (they are still refused while over)."""
        return None

    def allow_request(self, request: Request, view: Any) -> bool:
        self.scope = self.fixed_scope or getattr(view, self.scope_attr, None)
        if not self.scope:
            return True
        self.rate = self.get_rate()
        if not self.rate or self.rate == "off":  # switched off: not even counted
            return True
        self.num_requests, self.duration = self.parse_rate(self.rate)
        if self.num_requests is None or self.duration is None:
            return True
        subject = self.subject(request, view)
        if subject is None:
            return True
        try:
            hits = count_hit(f"{self.scope}:{subject}", window_seconds=self.duration,
                             once_per=self.once_per(request))
        except Exception as exc:  # any Redis failure: fail open, said in the log
            log.warning("throttle %s not counted (%s): allowing", self.scope, type(exc).__name__)
            return True
        return hits <= self.num_requests

    def wait(self) -> float | None:
        return float(seconds_left_in_window(self.duration or 1))


class UploadCreateThrottle(SharedRateThrottle):
    """New tus uploads per client (the `upload` scope counts every tus request)."""

    fixed_scope = "upload_create"

    def subject(self, request: Request, view: Any) -> str | None:
        return self.get_ident(request) if request.method == "POST" else None


class SubmissionThrottle(SharedRateThrottle):
    """Anonymous submissions, per client (`submit_client`) and per NIK (`submit_nik`), both
    counted in one Redis round trip (this is on the accept path). A retry of the same
    submission (same Idempotency-Key) is not a new one, so a flaky phone retrying never uses up
    its client's or its NIK's allowance. The NIK is keyed by a blind index (a keyed HMAC) of its
    own purpose: neither the clear NIK nor the database's index of it reaches Redis."""

    scopes = ("submit_client", "submit_nik")

    def allow_request(self, request: Request, view: Any) -> bool:
        if request.method != "POST" or request.user.is_authenticated:
            return True
        counts, limits = [], []
        marker = self.once_per(request)
        for scope, subject in zip(self.scopes, (self.get_ident(request), self._nik(request)),
                                  strict=True):
            rate = self.THROTTLE_RATES.get(scope)
            if subject is None or not rate or rate == "off":
                continue
            num_requests, duration = self.parse_rate(rate)
            if num_requests is None or duration is None:
                continue
            counts.append(Count(f"{scope}:{subject}", duration, marker))
            limits.append(num_requests)
        if not counts:
            return True
        try:
            hits = count_hits(counts)
        except Exception as exc:  # any Redis failure: fail open, said in the log
            log.warning("submission limits not counted (%s): allowing", type(exc).__name__)
            return True
        over = [c.window_seconds for c, n, limit in zip(counts, hits, limits, strict=True)
                if n > limit]
        self.duration = max(over, default=None)
        return not over

    def once_per(self, request: Request) -> str | None:
        key = request.headers.get("Idempotency-Key", "")[:64]
        return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]

    @staticmethod
    def _nik(request: Request) -> str | None:
        # A body that does not parse raises here, as it would in the view: the client gets the
        # same 400 parse_error (DRF keeps an empty body after a parse failure, so swallowing the
        # error would turn it into a misleading "invalid").
        data = request.data
        applicant = data.get("applicant") if isinstance(data, dict) else None
        nik = applicant.get("nik") if isinstance(applicant, dict) else None
        if not isinstance(nik, str) or not nik.strip():
            return None
        return blind_index(nik.strip(), purpose="submit-limit")
