"""Sending again what upstream has lost (e.g. restored from an old backup after ransomware).

Delivered messages are put back in the queue under the same key: upstream no longer knows the
key, so it takes the message as new.
"""

from __future__ import annotations

from collections.abc import Iterable

from django.db import transaction
from django.utils import timezone

from queueing.kick import kick
from queueing.models import MessageStatus, OutboxMessage


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
