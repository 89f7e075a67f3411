"""The durable history of upstream outages, kept in step with the shared breaker.

The breaker's state lives in Redis and may be flushed at any moment; these rows may not. Both
writes are idempotent across workers and across a breaker that forgot it was open:
- opening inserts a row unless one is open already (a partial unique index refuses a second),
- closing is a conditional UPDATE of the open row; only the worker whose UPDATE changed it
  sends `upstream_recovered`, inside the same transaction.
"""

from __future__ import annotations

import logging

from django.db import IntegrityError, transaction
from django.utils import timezone

from queueing.models import UpstreamOutage
from queueing.signals import upstream_recovered

log = logging.getLogger(__name__)


def outage_open(*, upstream: str, reason: str = "") -> UpstreamOutage:
    """The open outage of `upstream`, created now unless one is open already."""
    with transaction.atomic():
        current = UpstreamOutage.objects.open().filter(upstream=upstream).first()
        if current is not None:
            return current
        try:
            with transaction.atomic():  # savepoint: a concurrent opener may win the insert
                outage = UpstreamOutage.objects.create(upstream=upstream, reason=reason[:200])
        except IntegrityError:
            return UpstreamOutage.objects.open().get(upstream=upstream)
        log.info("outage of %s opened", upstream)
        return outage


def outage_close(*, upstream: str) -> UpstreamOutage | None:
    """Close the open outage of `upstream`, if any, and tell receivers, in one transaction.
    Returns the outage this call closed, or None if there was none (or another worker closed
    it first)."""
    with transaction.atomic():
        outage = UpstreamOutage.objects.open().filter(upstream=upstream).first()
        if outage is None:
            return None
        now = timezone.now()
        # The row count says who won: two workers may both see the breaker close (after a
        # Redis flush, each success checks the database), only one closes the outage.
        won = UpstreamOutage.objects.filter(pk=outage.pk, closed_at__isnull=True).update(
            closed_at=now
        )
        if not won:
            return None
        outage.closed_at = now
        log.info("outage of %s closed after %.0f s", upstream,
                 (now - outage.opened_at).total_seconds())
        upstream_recovered.send(sender=UpstreamOutage, upstream=upstream, outage=outage)
        return outage


def current_outage(upstream: str) -> UpstreamOutage | None:
    return UpstreamOutage.objects.open().filter(upstream=upstream).first()
