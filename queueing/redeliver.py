"""Sending again what upstream has lost (e.g. restored from an old backup after ransomware).

Delivered messages are put back in the queue under the same key: upstream no longer knows the
key, so it takes the message as new. Delivered rows are purged after the retention period, so
the caller, who knows what upstream should hold, can also have a purged message made anew.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.db import transaction
from django.utils import timezone

from queueing.kick import kick
from queueing.models import MessageStatus, OutboxMessage
from queueing.outbox import enqueue


def redeliver(*, topic: str, keys: Iterable[str]) -> int:
    """Requeue the delivered messages of `topic` with these keys. Must run inside the caller's
    transaction (the domain records why, in the same commit). Returns how many were requeued."""
    requeued = OutboxMessage.objects.filter(
        topic=topic, key__in=list(keys), status=MessageStatus.DELIVERED
    ).update(
        status=MessageStatus.PENDING, attempts=0, next_attempt_at=timezone.now(),
        delivered_at=None, outcome_unknown=False, last_error="redelivered: upstream lost it",
    )
    if requeued:
        transaction.on_commit(kick)
    return requeued


def send_again(*, topic: str, key: str, payload: dict[str, Any], priority: int = 0) -> bool:
    """Have the message with this key reach upstream again: its delivered row is requeued or,
    if retention purged it, a new one is enqueued with `payload`. A message still waiting goes
    anyway; a dead one is left to an operator (False). Runs in the caller's transaction."""
    if redeliver(topic=topic, keys=[key]):
        return True
    status = (OutboxMessage.objects.filter(topic=topic, key=key)
              .values_list("status", flat=True).first())
    if status is None:
        enqueue(topic=topic, key=key, payload=payload, priority=priority)
        return True
    return status != MessageStatus.DEAD
