"""The durable outage history: one row per outage, opened and closed once, whatever the
breaker in Redis forgets, and `upstream_recovered` sent once, inside the closing transaction."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from django.db import connections, transaction

from queueing import breaker, deliver, outages, redis_state
from queueing.models import OutboxMessage, UpstreamHealth, UpstreamOutage
from queueing.outbox import enqueue
from queueing.signals import upstream_recovered

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


@pytest.fixture
def recoveries():
    seen: list[tuple[str, int, bool]] = []

    def receiver(sender: Any, upstream: str, outage: UpstreamOutage, **kwargs: Any) -> None:
        in_tx = transaction.get_connection().in_atomic_block
        seen.append((upstream, outage.pk, in_tx))
        # What a real receiver does: an outbox message, committed with the closing.
        enqueue(topic="test.recovered", key=f"outage-{outage.pk}", payload={})

    upstream_recovered.connect(receiver)
    yield seen
    upstream_recovered.disconnect(receiver)


def _open_then_recover(upstream: str) -> None:
    breaker.record_failure(upstream, "503")
    _wait_for(lambda: breaker.gate(upstream) == "probe")
    breaker.probe_result(upstream, ok=True)
    for _ in range(breaker.CLOSE_AFTER_SUCCESSES):
        breaker.record_success(upstream)


def test_breaker_open_and_close_write_one_outage_and_one_recovery(queue_settings, recoveries):
    queue_settings(BREAKER_FAILURE_THRESHOLD=1)
    breaker.record_failure("central", "503 from central")
    outage = UpstreamOutage.objects.get(upstream="central")
    assert outage.closed_at is None and outage.reason == "503 from central"
    assert UpstreamHealth.objects.get(upstream="central").state == "down"
    _wait_for(lambda: breaker.gate("central") == "probe")
    breaker.probe_result("central", ok=True)  # recovering is still the same outage
    assert UpstreamOutage.objects.open().count() == 1
    for _ in range(breaker.CLOSE_AFTER_SUCCESSES + 3):
        breaker.record_success("central")
    outage.refresh_from_db()
    assert outage.closed_at is not None
    assert recoveries == [("central", outage.pk, True)]
    assert OutboxMessage.objects.filter(topic="test.recovered").count() == 1


def test_reopening_after_a_failed_probe_is_the_same_outage(queue_settings, recoveries):
    queue_settings(BREAKER_FAILURE_THRESHOLD=1)
    breaker.record_failure("central", "503")
    _wait_for(lambda: breaker.gate("central") == "probe")
    breaker.probe_result("central", ok=True)
    breaker.record_failure("central", "timeout")  # half-open failure: reopened
    assert UpstreamOutage.objects.count() == 1
    assert recoveries == []


def test_redis_flushed_mid_outage_keeps_one_outage_and_closes_it_once(queue_settings, recoveries):
    queue_settings(BREAKER_FAILURE_THRESHOLD=2)
    breaker.record_failure("central", "503")
    breaker.record_failure("central", "503")
    redis_state.client().flushdb()  # the breaker forgets it was open (our own db only)
    breaker.record_failure("central", "503")
    breaker.record_failure("central", "503")  # opened again, as far as Redis knows
    assert UpstreamOutage.objects.count() == 1
    redis_state.client().flushdb()
    # After the flush the breaker is simply "closed": the first successes (from several
    # workers at once) correct the board and close the outage, exactly once.
    def succeed(_: int) -> None:
        try:
            breaker.record_success("central")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        list(pool.map(succeed, range(12)))
    assert UpstreamOutage.objects.open().count() == 0
    assert UpstreamOutage.objects.count() == 1
    assert len(recoveries) == 1
    assert OutboxMessage.objects.filter(topic="test.recovered").count() == 1
    assert UpstreamHealth.objects.get(upstream="central").state == "up"


def test_two_outages_are_two_rows_and_two_recoveries(queue_settings, recoveries):
    queue_settings(BREAKER_FAILURE_THRESHOLD=1)
    _open_then_recover("central")
    _open_then_recover("central")
    assert UpstreamOutage.objects.filter(closed_at__isnull=False).count() == 2
    assert len(recoveries) == 2


def test_concurrent_openers_make_one_outage():
    def open_(_: int) -> int:
        try:
            return outages.outage_open(upstream="sms_gateway", reason="503").pk
        finally:
            connections.close_all()

    with ThreadPoolExecutor(6) as pool:
        ids = set(pool.map(open_, range(12)))
    assert len(ids) == 1
    assert UpstreamOutage.objects.count() == 1


def test_a_failing_receiver_leaves_the_outage_open_for_the_next_success(queue_settings):
    queue_settings(BREAKER_FAILURE_THRESHOLD=1)
    breaker.record_failure("central", "503")
    calls: list[int] = []

    def broken(sender: Any, outage: UpstreamOutage, **kwargs: Any) -> None:
        calls.append(outage.pk)
        if len(calls) == 1:
            from django.db import DatabaseError
            raise DatabaseError("simulated")

    upstream_recovered.connect(broken)
    try:
        redis_state.client().flushdb()
        breaker.record_success("central")  # the receiver fails: nothing commits
        assert UpstreamOutage.objects.open().count() == 1
        assert UpstreamHealth.objects.get(upstream="central").state == "down"
        breaker.record_success("central")  # the next success closes it
    finally:
        upstream_recovered.disconnect(broken)
    assert UpstreamOutage.objects.open().count() == 0
    assert len(calls) == 2


def test_half_open_with_nothing_to_send_closes_the_outage_by_probes(upstream, queue_settings,
                                                                     recoveries):
    """A small backlog sent in one batch gives one success, not the several that close the
    breaker: with nothing left to send, probes stand in, or the outage would never close."""
    queue_settings(BREAKER_FAILURE_THRESHOLD=1)
    breaker.record_failure("test-upstream", "503")
    assert deliver.has_unsettled_upstream()  # the sweep keeps looking while nothing is due
    _wait_for(lambda: breaker.state("test-upstream").open_for_seconds == 0)
    for _ in range(1 + breaker.CLOSE_AFTER_SUCCESSES):
        deliver.drain(budget_seconds=1)
    assert breaker.gate("test-upstream") == "closed"
    assert upstream.batches == [] and upstream.probes == 1 + breaker.CLOSE_AFTER_SUCCESSES
    assert UpstreamOutage.objects.open().count() == 0 and len(recoveries) == 1
    assert not deliver.has_unsettled_upstream()


def test_held_messages_are_not_released_when_the_upstream_recovers(upstream, queue_settings):
    import datetime as dt

    from django.utils import timezone

    queue_settings(BREAKER_FAILURE_THRESHOLD=1)
    morning = timezone.now() + dt.timedelta(hours=8)
    with transaction.atomic():
        enqueue(topic="test.topic", key="held", payload={}, not_before=morning)
    breaker.record_failure("test-upstream", "503")
    _wait_for(lambda: breaker.state("test-upstream").open_for_seconds == 0)
    deliver.drain(budget_seconds=1)  # the probe passes: backed-off work is released
    held = OutboxMessage.objects.get(key="held")
    assert held.next_attempt_at == morning and upstream.batches == []


def test_a_drain_stopped_by_an_open_breaker_publishes_one_drain_for_its_probe(
        upstream, queue_settings, settings):
    """Central's return is seen when the cooldown ends, not at the sweep after it: the drain
    that found the breaker open publishes a drain for that moment (one, however many workers
    found it open), and that drain's probe is what lets the first delivery through."""
    import datetime as dt
    import json

    import redis
    from django.utils import timezone

    from queueing import tasks

    queue_settings(BREAKER_FAILURE_THRESHOLD=1, BREAKER_COOLDOWN_SECONDS=0.5,
                   BREAKER_COOLDOWN_CAP_SECONDS=0.5)
    broker = redis.Redis.from_url(settings.CELERY_BROKER_URL)
    broker.delete("celery")  # kicks other tests published here: nothing consumes them
    breaker.record_failure("test-upstream", "503")
    summary = deliver.drain(budget_seconds=1)
    assert summary.probe_in is not None and 0 < summary.probe_in <= 0.5
    published_at = timezone.now()
    for _ in range(3):  # three workers' drains stop at the same open breaker
        tasks.drain()
    drains = [json.loads(m)["headers"] for m in broker.lrange("celery", 0, -1)]
    drains = [h for h in drains if h["task"] == "queueing.drain" and h.get("eta")]
    assert len(drains) == 1
    eta = dt.datetime.fromisoformat(drains[0]["eta"])
    assert published_at < eta <= published_at + dt.timedelta(seconds=0.5 + 0.1)
    # At that moment the gate lets one probe through (no sweep needed).
    _wait_for(lambda: timezone.now() >= eta)
    assert breaker.gate("test-upstream") == "probe"
