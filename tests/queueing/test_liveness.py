"""A dead worker's leases end at the next sweep, not after LEASE_SECONDS (queueing/liveness.py),
on the real Redis and database; the holder is a real process SIGKILLed where it matters."""

from __future__ import annotations

import multiprocessing
import os
import shutil
import signal
import subprocess
import time
from typing import Any

import pytest
import redis
from django.conf import settings
from django.db import transaction

from queueing import deliver, liveness, redis_state
from queueing.claim import claim
from queueing.models import MessageStatus, OutboxMessage
from queueing.outbox import enqueue
from services.simulator.process import free_port

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def quick(queue_settings: Any) -> None:
    queue_settings(LIVENESS_SECONDS=1.0, RATE_START_PER_SECOND=1e9,
                   RATE_CEILING_PER_SECOND=1e9)  # no ramp to wait for
    redis_state.reset()


def _redis() -> redis.Redis:
    return redis.Redis.from_url(settings.REDIS_URL)


def _epoch_long_ago() -> None:
    """Redis has been keeping keys for a while (no flush just now)."""
    _redis().set(liveness.epoch_key(), f"{time.time() - 3600:.6f}")


def _claimed(n: int, token: str) -> list[int]:
    with transaction.atomic():
        for i in range(n):
            enqueue(topic="test.topic", key=f"k{i}", payload={})
    _, messages = claim(topic="test.topic", limit=n, lease_seconds=60, low_priority_share=0,
                        token=token)
    assert len(messages) == n
    return [m.id for m in messages]


def test_a_round_announces_its_token_renews_it_and_takes_it_back(quick):
    with liveness.holding("round-1"):
        assert _redis().exists("queueing:leases:alive:round-1")
        time.sleep(1.5)  # longer than LIVENESS_SECONDS: the heartbeat kept it
        assert _redis().exists("queueing:leases:alive:round-1")
        _epoch_long_ago()
        assert liveness.dead(["round-1"]) == []
    assert not _redis().exists("queueing:leases:alive:round-1")


def _hold_for_ever(token: str, ready: Any) -> None:
    redis_state.reset()  # no socket shared with the parent
    with liveness.holding(token):
        ready.set()
        while True:
            time.sleep(1)


def test_a_killed_holder_is_dead_once_its_announcement_lapses_and_not_before(quick):
    _epoch_long_ago()
    ctx = multiprocessing.get_context("fork")
    ready = ctx.Event()
    worker = ctx.Process(target=_hold_for_ever, args=("w1-round", ready), daemon=True)
    worker.start()
    try:
        assert ready.wait(30)
        time.sleep(1.5)  # past LIVENESS_SECONDS: alive because its heartbeat renews
        assert liveness.dead(["w1-round"]) == []
        os.kill(worker.pid, signal.SIGKILL)
        worker.join(10)
        time.sleep(1.2)  # its last announcement lapses
        assert liveness.dead(["w1-round"]) == ["w1-round"]
    finally:
        if worker.is_alive():
            os.kill(worker.pid, signal.SIGKILL)


def test_the_sweep_ends_a_dead_workers_leases_and_the_next_round_delivers(quick, upstream):
    ids = _claimed(3, token="died-mid-round")  # claimed, then its worker died: 60 s of lease
    _epoch_long_ago()
    with liveness.holding("alive-round"):
        live = _claimed_more("alive-round")
        assert deliver.release_dead_leases() == 3
    assert set(OutboxMessage.objects.filter(id__in=ids).values_list("status", flat=True)) == {
        MessageStatus.IN_FLIGHT}  # still in flight, but its lease is over: due again
    report = deliver.deliver_batch(deliver.topics.get("test.topic"))
    assert report.delivered == 3
    assert sorted(upstream.delivered) == ["k0", "k1", "k2"]
    # The live round's lease was left alone.
    assert OutboxMessage.objects.get(id=live).lease_token == "alive-round"


def _claimed_more(token: str) -> int:
    with transaction.atomic():
        enqueue(topic="test.topic", key="live", payload={})
    _, messages = claim(topic="test.topic", limit=1, lease_seconds=60, low_priority_share=0,
                        token=token)
    assert [m.key for m in messages] == ["live"]
    return messages[0].id


def test_right_after_redis_forgot_everything_nobody_is_called_dead(quick, upstream):
    _claimed(2, token="maybe-alive")
    _redis().flushdb()  # every live worker re-announces within a third of LIVENESS_SECONDS
    assert deliver.release_dead_leases() == 0
    time.sleep(1.1)  # the epoch is now older than LIVENESS_SECONDS: absence means death
    assert deliver.release_dead_leases() == 2


def _private_redis(port: int, workdir: Any) -> subprocess.Popen[bytes]:
    server = subprocess.Popen(
        [shutil.which("redis-server") or "redis-server", "--port", str(port), "--bind",
         "127.0.0.1", "--dir", str(workdir), "--appendonly", "no"],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 10
    while True:
        try:
            with redis.Redis(port=port) as client:
                if client.ping():
                    return server
        except redis.ConnectionError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.05)


def test_a_restart_that_reloads_a_snapshot_is_a_new_epoch(quick, upstream, settings, tmp_path):
    """A Redis restarted from its snapshot brings the old epoch back but not the workers'
    announcements (their keys lapsed meanwhile): the epoch is per server run, so nobody is
    called dead until live workers have had time to announce again."""
    port = free_port()
    settings.QUEUEING = {**settings.QUEUEING, "REDIS_URL": f"redis://127.0.0.1:{port}/0"}
    server = _private_redis(port, tmp_path)
    try:
        redis_state.reset()
        _claimed(1, token="alive-before-the-restart")
        old_epoch = liveness.epoch_key()
        redis_state.client().set(old_epoch, f"{time.time() - 3600:.6f}")
        redis_state.client().save()  # the snapshot holds the old epoch
        server.terminate()
        server.wait(10)
        server = _private_redis(port, tmp_path)
        redis_state.reset()
        assert redis_state.client().exists(old_epoch)  # the old epoch came back
        assert deliver.release_dead_leases() == 0
        time.sleep(1.1)  # the new run's epoch is old enough now
        assert deliver.release_dead_leases() == 1
    finally:
        server.kill()
        server.wait(10)
        redis_state.reset()


def test_without_redis_leases_run_their_full_length(quick, upstream, settings):
    _claimed(2, token="unknown")
    settings.QUEUEING = {**settings.QUEUEING, "REDIS_URL": "redis://127.0.0.1:1/0"}
    redis_state.reset()
    try:
        with liveness.holding("round"):  # announcing without Redis does not raise
            pass
        assert deliver.release_dead_leases() == 0
    finally:
        redis_state.reset()
    assert OutboxMessage.objects.filter(lease_token="unknown",
                                        status=MessageStatus.IN_FLIGHT).count() == 2
