"""Putting messages in the outbox, in the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction

from queueing.kick import kick
from queueing.models import OutboxMessage


class NotInTransaction(RuntimeError):
    pass


def enqueue(*, topic: str, key: str, payload: dict[str, Any], priority: int = 0,
            not_before: dt.datetime | None = None) -> OutboxMessage:
    """Add a message to the outbox. Must run inside the caller's transaction, so the message
    commits (or rolls back) together with the domain change that caused it. A kick is sent to the
    workers after the commit; if it cannot be sent, the periodic sweep finds the message anyway.
    `not_before` holds it in the database until then (never as a Celery ETA: see DESIGN).
    """
    if not transaction.get_connection().in_atomic_block:
        raise NotInTransaction("enqueue() must be called inside transaction.atomic()")
    fields: dict[str, Any] = {"next_attempt_at": not_before} if not_before else {}
    message = OutboxMessage.objects.create(topic=topic, key=key, payload=payload,
                                           priority=priority, **fields)
    transaction.on_commit(kick)
    return message
