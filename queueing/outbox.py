"""Putting messages in the outbox, and the best-effort kick that tells workers to look."""

from __future__ import annotations

import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from django.db import transaction

from queueing import redis_state
from queueing.models import OutboxMessage

log = logging.getLogger(__name__)

KICK_DEBOUNCE_MS = 500
KICK_QUIET_SECONDS = 5.0


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
    """Ask a worker to drain now, without waiting for it: the publish runs on a background thread,
    so a Redis that is down, or worse, slow, never holds up the request that committed. If the
    kick is lost, the periodic sweep finds the work from the database anyway."""
    global _queued
    with _lock:
        if _queued:  # a kick is already waiting to run after this commit: one is enough
            return
        _queued = True
    _kicker.submit(_publish)


def _publish() -> None:
    global _queued, _quiet_until
    with _lock:
        _queued = False
    if time.monotonic() < _quiet_until:
        return
    try:
        # Debounce across processes: a burst of approvals needs one drain task, not hundreds.
        if not redis_state.client().set("queueing:kick", "1", nx=True, px=KICK_DEBOUNCE_MS):
            return
        from queueing.tasks import drain  # tasks imports the Celery app; keep enqueue light

        drain.apply_async(retry=False)
    except Exception as exc:
        # Stop trying for a while: a dead broker should cost one timeout, not one per request.
        _quiet_until = time.monotonic() + KICK_QUIET_SECONDS
        log.warning("could not kick the delivery workers (%s); the sweep will find the work",
                    type(exc).__name__)


def wait_for_kicks(timeout: float = 5.0) -> None:
    """Block until queued kicks have run (tests and short-lived commands)."""
    _kicker.submit(lambda: None).result(timeout=timeout)


_kicker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="queueing-kick")
_lock = threading.Lock()
_queued = False
_quiet_until = 0.0
