"""Claiming due messages for delivery, safely across many workers and machines.

Each claim takes a lease: if the worker dies mid-delivery, the lease expires and the message is
due again. A message is therefore delivered at least once; upstream dedupes on the message key,
which makes the end result exactly once.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.db import connection, transaction
from django.db.models import F, QuerySet
from django.utils import timezone

from queueing.models import MessageStatus, OutboxMessage


def claim_queries(
    *, topic: str, limit: int, reserve: int, now: dt.datetime
) -> tuple[QuerySet[OutboxMessage, int], ...]:
    """The ids a claim looks at, as three queries (the benchmark EXPLAINs these very ones).

    Two shapes of due work, queried apart so each walks its own partial index in order instead
    of sorting every due row: messages whose dead worker's lease ran out (rare, first), and
    pending messages (by age for the oldest share, by priority for the rest).
    """
    expired = OutboxMessage.objects.filter(
        topic=topic, status=MessageStatus.IN_FLIGHT, lease_until__lt=now
    )
    pending = OutboxMessage.objects.filter(
        topic=topic, status=MessageStatus.PENDING, next_attempt_at__lte=now
    )
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: rows another worker is claiming right now are skipped, not waited on.
        expired = expired.select_for_update(skip_locked=True)
        pending = pending.select_for_update(skip_locked=True)
    return (
        expired.order_by("lease_until").values_list("id", flat=True)[:limit],
        pending.order_by("created_at", "id").values_list("id", flat=True)[:reserve],
        pending.order_by("-priority", "created_at", "id").values_list("id", flat=True)[:limit],
    )


def claim(
    *, topic: str, limit: int, lease_seconds: float, low_priority_share: float
) -> tuple[str, list[OutboxMessage]]:
    """Lease up to `limit` due messages of `topic`. Returns the lease token and the messages.

    Order: highest priority first, oldest first within a priority; but a share of every batch
    goes to the oldest due messages whatever their priority, so a steady stream of express work
    can never starve regular applications.
    """
    now = timezone.now()
    token = uuid.uuid4().hex
    reserve = int(limit * low_priority_share) if limit > 1 else 0
    if low_priority_share > 0 and limit > 1:
        reserve = max(reserve, 1)
    with transaction.atomic():
        stale, oldest, by_priority = (
            list(qs) for qs in claim_queries(topic=topic, limit=limit, reserve=reserve, now=now)
        )
        ids = list(dict.fromkeys(stale + oldest + by_priority))[:limit]
        if not ids:
            return token, []
        # The conditional UPDATE re-checks due-ness: on SQLite (no row locks; IMMEDIATE
        # transactions serialise writers instead) and for leases expiring in between, only rows
        # still due are taken, and the token marks exactly the rows this worker won.
        OutboxMessage.objects.due(now).filter(id__any=ids).update(
            status=MessageStatus.IN_FLIGHT,
            lease_until=now + dt.timedelta(seconds=lease_seconds),
            lease_token=token,
            attempts=F("attempts") + 1,
        )
    won = list(OutboxMessage.objects.filter(lease_token=token, status=MessageStatus.IN_FLIGHT))
    won.sort(key=lambda m: ids.index(m.id))
    return token, won
