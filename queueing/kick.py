"""The best-effort kick that tells delivery workers to look now.

It publishes the drain task by name, so neither the outbox nor anything that enqueues imports
the tasks module (which imports the delivery loop, which would import the outbox back).
"""

from __future__ import annotations

import contextvars
import logging
import threading
import time
from concurrent.futures import ThreadPoolExecutor

from celery import current_app

from queueing import redis_state

log = logging.getLogger(__name__)

DRAIN_TASK = "queueing.drain"
KICK_DEBOUNCE_MS = 500
KICK_QUIET_SECONDS = 5.0
# A probe kick lands this long after the cooldown ends, so the gate has opened for it.
PROBE_KICK_SLACK_SECONDS = 0.05


def kick() -> None:
    """Ask a worker to drain now, without waiting for it: the publish runs on a background thread,
    so a Redis that is down, or worse, slow, never holds up the request that committed. If the
    kick is lost, the periodic sweep finds the work from the database anyway."""
    global _queued
    with _lock:
        if _queued:  # a kick is already waiting to run after this commit: one is enough
            return
        _queued = True
    # In a copy of the caller's context: whatever the caller's context carries (such as the id
    # of the request that committed) is there when the task is published from the kick thread.
    _kicker.submit(contextvars.copy_context().run, _publish)


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
        current_app.send_task(DRAIN_TASK, retry=False)
    except Exception as exc:
        # Stop trying for a while: a dead broker should cost one timeout, not one per request.
        _quiet_until = time.monotonic() + KICK_QUIET_SECONDS
        log.warning("could not kick the delivery workers (%s); the sweep will find the work",
                    type(exc).__name__)


def kick_when_probe_due(seconds: float) -> None:
    """Publish a drain for when an open breaker's cooldown ends, so the probe (and with it the
    first delivery after central recovers) waits out the cooldown only, not the next sweep on
    top of it. One such kick is pending at a time across every process; a lost one leaves it
    to the sweep. Called from a worker (a drain that stopped at the open breaker), not from a
    request: a publish that fails is only logged."""
    delay = max(seconds, 0.0) + PROBE_KICK_SLACK_SECONDS
    try:
        if not redis_state.client().set("queueing:kick:probe", "1", nx=True,
                                        px=max(1, int(delay * 1000))):
            return
        current_app.send_task(DRAIN_TASK, countdown=delay, retry=False)
    except Exception as exc:
        log.warning("could not schedule a drain for the next probe (%s); the sweep will",
                    type(exc).__name__)


def wait_for_kicks(timeout: float = 5.0) -> None:
    """Block until queued kicks have run (tests and short-lived commands)."""
    _kicker.submit(lambda: None).result(timeout=timeout)


_kicker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="queueing-kick")
_lock = threading.Lock()
_queued = False
_quiet_until = 0.0
