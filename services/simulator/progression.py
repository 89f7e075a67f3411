"""Background work of the simulator: stepping jobs along and delivering status callbacks.

Both run on their own threads and talk to the office only outside the store lock, so a
slow or dead callback target never holds up intake.
"""

from __future__ import annotations

import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import httpx

from services.signing import sign_headers
from services.simulator.config import SimulatorConfig
from services.simulator.store import Callback, Store

log = logging.getLogger(__name__)

#: How often the stepper and the callback dispatcher look for due work. Small enough for
#: tests running with step_seconds=0.05, large enough to stay idle on a laptop.
TICK_SECONDS = 0.02
#: Callback backoff: doubling from the base, capped, jittered over the upper half so an
#: unreachable office is not hammered with near-zero retries (which would steal the store
#: lock and CPU from intake).
CALLBACK_BACKOFF_BASE = 0.25
CALLBACK_BACKOFF_CAP = 30.0
#: Statuses after which retrying a callback is pointless: the office refused it for good.
#: 408 and 429 are the office asking us to come back later.
GIVE_UP_BELOW = 500


def callback_backoff(attempts: int) -> float:
    ceiling = min(CALLBACK_BACKOFF_CAP, CALLBACK_BACKOFF_BASE * 2 ** min(attempts, 20))
    return random.uniform(ceiling / 2, ceiling)  # noqa: S311 - jitter, not a secret


class Stepper(threading.Thread):
    """Moves each unfinished job one step every `step_seconds` (if it is not 0)."""

    def __init__(
        self, store: Store, config: Callable[[], SimulatorConfig], wake: Callable[[], None]
    ) -> None:
        super().__init__(name="simulator-stepper", daemon=True)
        self._store = store
        self._config = config
        self._wake_sender = wake
        self.stopping = threading.Event()

    def run(self) -> None:
        while not self.stopping.wait(TICK_SECONDS):
            config = self._config()
            if config.step_seconds <= 0:
                continue
            now = time.time()
            moved = self._store.advance(
                now=now,
                due_before=now - config.step_seconds,
                reject_references=frozenset(config.reject_references),
            )
            if moved:
                self._wake_sender()


class CallbackSender(threading.Thread):
    """Delivers queued callbacks, signed, with retries; a few in parallel, in order per job."""

    def __init__(self, store: Store, secret: str, *, workers: int = 4, timeout: float = 5.0):
        super().__init__(name="simulator-callbacks", daemon=True)
        self._store = store
        self._secret = secret
        self._workers = workers
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="callback")
        self._http = httpx.Client(timeout=httpx.Timeout(timeout, connect=2.0))
        self._busy: set[str] = set()
        self._busy_lock = threading.Lock()
        self._wake = threading.Event()
        self.stopping = threading.Event()

    def wake(self) -> None:
        self._wake.set()

    def run(self) -> None:
        while not self.stopping.is_set():
            self._wake.wait(TICK_SECONDS * 5)
            self._wake.clear()
            with self._busy_lock:
                free = self._workers - len(self._busy)
                busy = set(self._busy)
            if free <= 0:
                continue
            for callback in self._store.due_callbacks(now=time.time(), busy_keys=busy, limit=free):
                with self._busy_lock:
                    self._busy.add(callback.key)
                self._pool.submit(self._deliver, callback)

    def _deliver(self, callback: Callback) -> None:
        try:
            body = callback.payload.encode("utf-8")
            headers = sign_headers(self._secret, body, msg_id=callback.event_id)
            headers["content-type"] = "application/json"
            try:
                response = self._http.post(callback.url, content=body, headers=headers)
                status: int | None = response.status_code
            except httpx.HTTPError:
                status = None
            if status is not None and 200 <= status < 300:
                self._store.callback_done(callback, state="delivered", now=time.time())
            elif status is not None and 400 <= status < GIVE_UP_BELOW and status not in (408, 429):
                self._store.callback_done(callback, state="abandoned", now=time.time())
            else:
                retry_at = time.time() + callback_backoff(callback.attempts)
                self._store.callback_done(
                    callback, state="pending", now=time.time(), next_attempt_at=retry_at
                )
        except Exception:
            # A sender thread must outlive any one bad callback; the row stays pending.
            log.exception("callback %s could not be processed", callback.event_id)
        finally:
            with self._busy_lock:
                self._busy.discard(callback.key)
            # The job's next event may be waiting behind this one.
            self._wake.set()

    def close(self) -> None:
        self.stopping.set()
        self._wake.set()
        self._pool.shutdown(wait=False, cancel_futures=True)
        self._http.close()
