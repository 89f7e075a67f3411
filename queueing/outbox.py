"""Putting messages in the outbox, and the best-effort kick that tells workers to look."""

from __future__ import annotations

import logging
from typing import Any

import redis
from django.db import transaction

from queueing import redis_state
from queueing.models import OutboxMessage

log = logging.getLogger(__name__)

KICK_DEBOUNCE_MS = 500


class NotInTransaction(RuntimeError):
    pass


def enqueue(*, topic: str, key: str, payload: dict[str, Any], priority: int = 0) -> OutboxMessage:
    """Add a message to the outbox. Must run inside the caller's transaction, so the message
    commits (or rolls back) together with the domain change that caused it. A kick is sent to the
    workers after the commit; if it cannot be sent, the periodic sweep finds the message anyway.
    """
    if not transaction.get_connection().in_atomic_block:
        raise NotInTransaction("enqueue() must be called inside transaction.atomic()")
    message = OutboxMessage.objects.create(topic=topic, key=key, payload=payload, priority=priority)
    transaction.on_commit(kick)
    return message


def kick() -> None:
    """Ask a worker to drain now. Never raises and never waits long: it runs on the request path
    after commit, and Redis being down or slow must not hold up accepting applications."""
    try:
        # Debounce: a burst of approvals needs one kick, not one task per approval.
        if not redis_state.client().set("queueing:kick", "1", nx=True, px=KICK_DEBOUNCE_MS):
            return
        from queueing.tasks import drain  # tasks imports the Celery app; keep enqueue light

        drain.apply_async(retry=False)
    except (redis.RedisError, OSError, Exception) as exc:
        log.warning("could not kick the delivery workers (%s); the sweep will find the work",
                    type(exc).__name__)
