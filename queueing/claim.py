"""Claiming due messages for delivery, safely across many workers and machines.

Each claim takes a lease: if the worker dies mid-delivery, the lease expires and the message is
due again. A message is therefore delivered at least once; upstream dedupes on the message key,
which makes the end result exactly once.
"""

from __future__ import annotations

import datetime as dt
import uuid

from django.core.exceptions import EmptyResultSet
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
    expired = OutboxMessage.objects.lease_expired(now).filter(topic=topic)
    pending = OutboxMessage.objects.pending_due(now).filter(topic=topic)
    if connection.features.has_select_for_update_skip_locked:
        # PostgreSQL: rows another worker is claiming right now are skipped, not waited on.
        expired = expired.select_for_update(skip_locked=True)
        pending = pending.select_for_update(skip_locked=True)
    return (
        expired.order_by("lease_until").values_list("id", flat=True)[:limit],
        pending.order_by("created_at", "id").values_list("id", flat=True)[:reserve],
        pending.order_by("-priority", "created_at", "id").values_list("id", flat=True)[:limit],
    )


def new_token() -> str:
    return uuid.uuid4().hex


# What a delivery round reads of a claimed message (queueing.deliver and the topics' send
# functions). The rest (timestamps above all, each a conversion) stays deferred: read on access.
CLAIMED_FIELDS = ("id", "topic", "key", "payload", "priority", "status", "attempts",
                  "lease_token", "outcome_unknown")


def claim(
    *, topic: str, limit: int, lease_seconds: float, low_priority_share: float,
    token: str | None = None,
) -> tuple[str, list[OutboxMessage]]:
    """Lease up to `limit` due messages of `topic`. Returns the lease token (`token`, or a new
    one) and the messages.

    Order: highest priority first, oldest first within a priority; but a share of every batch
    goes to the oldest due messages whatever their priority, so a steady stream of express work
    can never starve regular applications.
    """
    now = timezone.now()
    token = token or new_token()
    reserve = int(limit * low_priority_share) if limit > 1 else 0
    if low_priority_share > 0 and limit > 1:
        reserve = max(reserve, 1)
    queries = claim_queries(topic=topic, limit=limit, reserve=reserve, now=now)
    lease_until = now + dt.timedelta(seconds=lease_seconds)
    if connection.vendor == "postgresql":
        return token, _claim_in_one_statement(queries, limit=limit, token=token, now=now,
                                              lease_until=lease_until)
    with transaction.atomic():
        stale, oldest, by_priority = (list(qs) for qs in queries)
        ids = list(dict.fromkeys(stale + oldest + by_priority))[:limit]
        if not ids:
            return token, []
        # The conditional UPDATE re-checks due-ness: on SQLite (no row locks; IMMEDIATE
        # transactions serialise writers instead) and for leases expiring in between, only rows
        # still due are taken, and the token marks exactly the rows this worker won.
        OutboxMessage.objects.due(now).filter(id__any=ids).update(
            status=MessageStatus.IN_FLIGHT, lease_until=lease_until, lease_token=token,
            attempts=F("attempts") + 1,
        )
    won = list(OutboxMessage.objects.held(token).only(*CLAIMED_FIELDS))
    won.sort(key=lambda m: ids.index(m.id))
    return token, won


def _claim_in_one_statement(
    queries: tuple[QuerySet[OutboxMessage, int], ...], *, limit: int, token: str,
    now: dt.datetime, lease_until: dt.datetime,
) -> list[OutboxMessage]:
    """PostgreSQL: the three id queries (row-locked, skipping rows other workers are claiming),
    their merge in order, the lease and the read of what was won, as one statement. Written by
    hand because the ORM cannot UPDATE ... RETURNING: the general path above takes five round
    trips and reads every column back, which profiled at a fifth of a drain worker's CPU.
    The merge keeps each id's first place in stale + oldest + by_priority, as the general path's
    dict.fromkeys does, and the UPDATE re-checks due-ness the same way."""
    parts: list[str] = []
    params: list[object] = []
    table = OutboxMessage._meta.db_table
    returned = ", ".join(f"o.{name}" for name in CLAIMED_FIELDS)  # plain fields: column = name
    with transaction.atomic():  # the ORM compiles FOR UPDATE only inside a transaction
        for qs in queries:
            try:
                sql, part_params = qs.query.sql_with_params()
            except EmptyResultSet:  # a share of 0 (no reserve): nothing to look for
                parts.append("'{}'::bigint[]")
                continue
            parts.append(f"ARRAY({sql})")
            params.extend(part_params)
        statement = (
            f"WITH found AS (SELECT {' || '.join(parts)} AS ids), "  # noqa: S608 (no input)
            f"picked AS (SELECT u.id, min(u.n) AS claim_rank "
            f"FROM found, unnest(found.ids) WITH ORDINALITY AS u(id, n) "
            f"GROUP BY u.id ORDER BY min(u.n) LIMIT %s) "
            f"UPDATE {table} AS o SET status = %s, lease_until = %s, lease_token = %s, "
            f"attempts = o.attempts + 1 FROM picked WHERE o.id = picked.id "
            f"AND ((o.status = %s AND o.next_attempt_at <= %s) "
            f"OR (o.status = %s AND o.lease_until < %s)) "
            f"RETURNING {returned}, picked.claim_rank"
        )
        params += [limit, MessageStatus.IN_FLIGHT, lease_until, token,
                   MessageStatus.PENDING, now, MessageStatus.IN_FLIGHT, now]
        won = list(OutboxMessage.objects.raw(statement, params))
    won.sort(key=lambda m: m.claim_rank)  # type: ignore[attr-defined]  # raw() sets it
    return won
