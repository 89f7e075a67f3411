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
from typing import Any

from django.core.cache import caches
from rest_framework.request import Request
from rest_framework.throttling import ScopedRateThrottle

from immigration.personal_data import blind_index
from immigration.signin.client_ip import client_ip

log = logging.getLogger(__name__)


def throttle_cache() -> Any:
    return caches["throttle"]


# One round trip per count: add one to the window's counter unless `seen` (a marker for "this
# was counted already", e.g. a retried submission) exists; set the marker. Redis runs a script
# atomically, so concurrent requests never lose a count.
_COUNT_SCRIPT = """
if KEYS[2] ~= nil and redis.call('SET', KEYS[2], 1, 'NX', 'EX', ARGV[1]) == false then
  return tonumber(redis.call('GET', KEYS[1]) or '0')
end
local n = redis.call('INCR', KEYS[1])
redis.call('EXPIRE', KEYS[1], ARGV[1])
return n
"""


def count_hit(key: str, *, window_seconds: int, once_per: str | None = None) -> int:
    """Add one to the counter `key` in the current fixed window and return the count; with
    `once_per`, only the first request with that marker in the window counts. Raises whatever
    the Redis client raises when Redis is away."""
    cache = throttle_cache()
    window = int(time.time() // window_seconds)
    keys = [cache.make_and_validate_key(f"{key}:{window}")]
    if once_per is not None:
        keys.append(cache.make_and_validate_key(f"{key}:seen:{once_per}:{window}"))
    # Django's RedisCache has no atomic "increment or create"; its own client runs the script.
    client = cache._cache.get_client(keys[0], write=True)
    return int(client.eval(_COUNT_SCRIPT, len(keys), *keys, window_seconds + 1))


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


class _SubmissionThrottle(SharedRateThrottle):
    """Anonymous submissions: a retry of the same submission (same Idempotency-Key) is not a new
    one, so a flaky phone retrying never uses up its client's or its NIK's allowance."""

    def subject(self, request: Request, view: Any) -> str | None:
        if request.method != "POST" or request.user.is_authenticated:
            return None
        return self.anonymous_subject(request)

    def anonymous_subject(self, request: Request) -> str | None:
        raise NotImplementedError

    def once_per(self, request: Request) -> str | None:
        key = request.headers.get("Idempotency-Key", "")[:64]
        return hashlib.sha256(key.encode("utf-8", "replace")).hexdigest()[:32]


class SubmissionClientThrottle(_SubmissionThrottle):
    fixed_scope = "submit_client"

    def anonymous_subject(self, request: Request) -> str | None:
        return self.get_ident(request)


class SubmissionNikThrottle(_SubmissionThrottle):
    """Per NIK, keyed by a blind index (a keyed HMAC) of its own purpose: neither the clear NIK
    nor the database's index of it reaches Redis."""

    fixed_scope = "submit_nik"

    def anonymous_subject(self, request: Request) -> str | None:
        # A body that does not parse raises here, as it would in the view: the client gets the
        # same 400 parse_error (DRF keeps an empty body after a parse failure, so swallowing the
        # error would turn it into a misleading "invalid").
        data = request.data
        applicant = data.get("applicant") if isinstance(data, dict) else None
        nik = applicant.get("nik") if isinstance(applicant, dict) else None
        if not isinstance(nik, str) or not nik.strip():
            return None
        return blind_index(nik.strip(), purpose="submit-limit")
