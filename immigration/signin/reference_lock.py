"""Wrong access codes per reference: after ACCESS_CODE_FAILURE_LIMIT wrong codes within the
window, that reference's lookups are locked for ACCESS_CODE_LOCK_SECONDS, whatever code is sent.

The per-client throttle alone does not stop many clients guessing one reference together. The
count is kept for any reference a caller names, existing or not, and a locked reference answers
the same whether it exists and whether the code is right: the lock tells a guesser nothing about
which references exist. Staff see the lock on the application (`locked_until`).

Counters live in the shared Redis (throttle cache) so every process and host agrees; if Redis is
unreachable the lock fails open and the per-client throttle still applies.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Iterable

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _

from immigration.api.errors import ApiError
from immigration.signin.throttles import count_hit, throttle_cache

log = logging.getLogger(__name__)


def _subject(reference: str) -> str:
    # The normalised reference when it parses (so case and look-alike letters count as one),
    # otherwise the text as sent, bounded.
    from immigration.references import normalize_reference

    return normalize_reference(reference) or reference.strip().upper()[:40]


def _lock_key(subject: str) -> str:
    return f"access-code-lock:{subject}"


class ReferenceLocked(ApiError):
    """429 with Retry-After (DRF's handler sends `wait` as the header)."""

    def __init__(self, wait: int) -> None:
        super().__init__(
            "reference_locked",
            _("Too many wrong access codes for this reference. Lookups are paused for a while; "
              "try again later or ask at the office."),
            429,
        )
        self.wait = wait


def ensure_not_locked(reference: str) -> None:
    """Raise 429 `reference_locked` (with Retry-After) while the reference is locked."""
    try:
        until = throttle_cache().get(_lock_key(_subject(reference)))
    except Exception as exc:  # Redis away: fail open, said in the log
        log.warning("access-code lock not checked (%s)", type(exc).__name__)
        return
    if until is not None:
        raise ReferenceLocked(wait=max(1, int(float(until) - time.time() + 0.999)))


def record_wrong_code(reference: str) -> None:
    """Count one wrong code (or unknown reference); lock the reference at the limit."""
    subject = _subject(reference)
    try:
        failures = count_hit(f"access-code-failures:{subject}",
                             window_seconds=settings.ACCESS_CODE_FAILURE_WINDOW_SECONDS)
        if failures >= settings.ACCESS_CODE_FAILURE_LIMIT:
            seconds = settings.ACCESS_CODE_LOCK_SECONDS
            if throttle_cache().add(_lock_key(subject), time.time() + seconds, timeout=seconds):
                log.warning("access codes locked for a reference after %d failures", failures)
    except Exception as exc:  # Redis away: fail open, said in the log
        log.warning("wrong access code not counted (%s)", type(exc).__name__)


def locked_until(references: Iterable[str]) -> dict[str, dt.datetime]:
    """For staff views: the references (as stored) that are locked now, with the lock's end."""
    wanted = {_lock_key(ref): ref for ref in references}
    if not wanted:
        return {}
    try:
        found = throttle_cache().get_many(list(wanted))
    except Exception as exc:  # Redis away: no flag shown, said in the log
        log.warning("access-code locks not read (%s)", type(exc).__name__)
        return {}
    return {wanted[key]: dt.datetime.fromtimestamp(float(until), tz=dt.UTC)
            for key, until in found.items()
            if until is not None and float(until) > timezone.now().timestamp()}
