"""The shared circuit breaker and the ramping token bucket, on a real Redis."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, transaction
from hypothesis import given
from hypothesis import strategies as st

from queueing import breaker, deliver, limiter
from queueing.backoff import retry_delay
from queueing.models import OutboxMessage, UpstreamHealth
from queueing.outbox import enqueue
from queueing.topics import Deferred, Delivered, UpstreamUnavailable

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_for(condition, seconds: float = 5.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


def test_breaker_opens_after_threshold_and_allows_exactly_one_probe(queue_settings):
    queue_settings(BREAKER_FAILURE_THRESHOLD=3)
    for _ in range(2):
        breaker.record_failure("central", "503")
    assert breaker.gate("central") == "closed"
    breaker.record_failure("central", "503")
    assert breaker.gate("central") == "open"
    assert UpstreamHealth.objects.get(upstream="central").state == "down"
    _wait_for(lambda: breaker.state("central").open_for_seconds == 0)
    with ThreadPoolExecutor(8) as pool:
        gates = list(pool.map(lambda _: breaker.gate("central"), range(8)))
    assert gates.count("probe") == 1
    assert set(gates) == {"probe", "open"}


def test_failed_probe_reopens_with_a_longer_cooldown(queue_settings):
    queue_settings(BREAKER_FAILURE_THRESHOLD=1)
    breaker.record_failure("central", "503")
    _wait_for(lambda: breaker.gate("central") == "probe")
    breaker.probe_result("central", ok=False)
    assert breaker.gate("central") == "open"
    assert breaker.state("central").open_for_seconds > 0.2  # doubled from 0.2 s


def test_successful_probe_half_opens_ramps_and_closes_after_successes(queue_settings):
    queue_settings(BREAKER_FAILURE_THRESHOLD=1, RATE_START_PER_SECOND=2.0)
    breaker.record_failure("central", "503")
    _wait_for(lambda: breaker.gate("central") == "probe")
    breaker.probe_result("central", ok=True)
    assert breaker.gate("central") == "half_open"
    assert UpstreamHealth.objects.get(upstream="central").state == "recovering"
    # The ramp restarts from an empty bucket at the start rate: no stampede.
    assert limiter.take("central", 50).granted <= 2
    for _ in range(breaker.CLOSE_AFTER_SUCCESSES):
        breaker.record_success("central")
    assert breaker.gate("central") == "closed"
    assert UpstreamHealth.objects.get(upstream="central").state == "up"


def test_failure_while_half_open_reopens(queue_settings):
    queue_settings(BREAKER_FAILURE_THRESHOLD=1)
    breaker.record_failure("central", "503")
    _wait_for(lambda: breaker.gate("central") == "probe")
    breaker.probe_result("central", ok=True)
    breaker.record_failure("central", "timeout")
    assert breaker.gate("central") == "open"


def test_limiter_pause_stops_every_worker(queue_settings):
    limiter.pause("central", 30)
    grant = limiter.take("central", 10)
    assert grant.granted == 0
    assert 25 < grant.wait_seconds <= 30


def test_a_binding_rate_grants_fuller_batches_not_a_trickle(queue_settings):
    """Workers polling a bucket the rate binds get at least 50 ms of the rate per grant, or
    nothing and how long to wait for it; never the few tokens since the last call."""
    queue_settings(RATE_START_PER_SECOND=1000.0, RATE_CEILING_PER_SECOND=1000.0)
    least = int(1000 * limiter.MIN_GRANT_SECONDS)
    limiter.restart_ramp("central")  # an empty bucket
    grants, waits = [], []
    for _ in range(100):  # polled every few ms, as several busy workers would
        grant = limiter.take("central", 300)
        (grants if grant.granted else waits).append(grant)
        time.sleep(0.005)
    assert grants and waits
    assert all(g.granted >= least for g in grants)
    assert all(0 < g.wait_seconds <= limiter.MIN_GRANT_SECONDS for g in waits)
    # Never more than asked, and a rate too low for a whole message still grants one.
    queue_settings(RATE_START_PER_SECOND=5.0, RATE_CEILING_PER_SECOND=5.0)
    limiter.restart_ramp("central")
    _wait_for(lambda: limiter.take("central", 300).granted == 1)


def test_limiter_runs_at_the_ceiling_when_never_tripped(queue_settings):
    queue_settings(RATE_CEILING_PER_SECOND=100.0)
    assert limiter.take("central", 50).granted == 50


def test_while_open_the_delivery_loop_only_probes(upstream, queue_settings):
    queue_settings(BREAKER_FAILURE_THRESHOLD=2, BATCH_SIZE=5)
    with transaction.atomic():
        for i in range(40):
            enqueue(topic="test.topic", key=f"k{i}", payload={})
    upstream.raise_ = UpstreamUnavailable("503", retry_after=None)
    upstream.healthy = False
    deadline = time.monotonic() + 1.5
    while time.monotonic() < deadline:
        OutboxMessage.objects.filter(status="pending").update(next_attempt_at="2000-01-01T00:00Z")
        deliver.deliver_batch(deliver.topics.get("test.topic"))
    # Two real sends opened the breaker; after that only probes, one per cooldown window
    # (0.2 s doubling to 1 s), however many times the loop ran and however big the backlog.
    assert len(upstream.batches) == 2
    assert 1 <= upstream.probes <= 4


def test_rounds_that_called_nobody_do_not_close_a_recovering_breaker(upstream, queue_settings):
    """A round whose every message was deferred (texts held for the night after an evening
    outage) made no call: it says nothing about upstream's health, so it must not count towards
    closing the breaker."""
    queue_settings(BREAKER_FAILURE_THRESHOLD=1, RATE_START_PER_SECOND=1e9,
                   RATE_CEILING_PER_SECOND=1e9)  # no ramp to wait for
    with transaction.atomic():
        for i in range(3):
            enqueue(topic="test.topic", key=f"k{i}", payload={})
    breaker.record_failure("test-upstream", "503")
    _wait_for(lambda: breaker.state("test-upstream").open_for_seconds == 0)
    upstream.answer = lambda m: Deferred("quiet hours")
    for _ in range(breaker.CLOSE_AFTER_SUCCESSES + 1):  # the first round probes, then sends
        deliver.deliver_batch(deliver.topics.get("test.topic"))
    assert upstream.probes == 1 and len(upstream.batches) == breaker.CLOSE_AFTER_SUCCESSES + 1
    assert breaker.gate("test-upstream") == "half_open"
    upstream.answer = lambda m: Delivered({"ok": True})
    for _ in range(breaker.CLOSE_AFTER_SUCCESSES):
        deliver.deliver_batch(deliver.topics.get("test.topic"))
    assert breaker.gate("test-upstream") == "closed"


@given(attempts=st.integers(0, 50), retry_after=st.one_of(st.none(), st.floats(0, 100)))
def test_retry_delay_is_jittered_capped_and_honours_retry_after(attempts, retry_after):
    delay = retry_delay(attempts, base=2.0, cap=60.0, retry_after=retry_after)
    assert delay >= 0
    assert delay <= max(60.0, retry_after or 0)
    if retry_after is not None:
        assert delay >= retry_after


@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="planner statistics: PostgreSQL")
def test_recovery_refreshes_the_outbox_statistics_before_the_drain(upstream, queue_settings):
    queue_settings(BREAKER_FAILURE_THRESHOLD=1)
    with transaction.atomic():
        for i in range(20):
            enqueue(topic="test.topic", key=f"k{i}", payload={})
    upstream.raise_ = UpstreamUnavailable("503")
    deliver.deliver_batch(deliver.topics.get("test.topic"))  # the breaker opens
    with connection.cursor() as cursor:  # forget what the planner knows of the backlog
        cursor.execute("SELECT pg_stat_reset_single_table_counters(%s::regclass)",
                       [OutboxMessage._meta.db_table])
    upstream.raise_ = None

    def recovered() -> bool:  # the delivery loop probes after the cooldown, and it passes
        deliver.deliver_batch(deliver.topics.get("test.topic"))
        return upstream.probes > 0

    _wait_for(recovered)

    def analysed() -> bool:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_stat_get_analyze_count(%s::regclass)",
                           [OutboxMessage._meta.db_table])
            return bool(cursor.fetchone()[0])

    _wait_for(analysed)  # the statistics collector reports asynchronously
