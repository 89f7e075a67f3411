"""The outbox: enqueue in the caller's transaction, claim with leases, settle, dead letters."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection, transaction
from django.utils import timezone

from queueing import deliver
from queueing.claim import claim
from queueing.dead_letters import NotDead, dead_letter_retry
from queueing.models import MessageStatus, OutboxMessage
from queueing.outbox import NotInTransaction, enqueue
from queueing.redeliver import send_again
from queueing.topics import Delivered, Refused, RetryLater, UpstreamUnavailable


def _enqueue(n: int, *, priority: int = 0, prefix: str = "m") -> list[str]:
    keys = [f"{prefix}{i}" for i in range(n)]
    with transaction.atomic():
        for key in keys:
            enqueue(topic="test.topic", key=key, payload={"n": key}, priority=priority)
    return keys


@pytest.mark.django_db(transaction=True)
def test_enqueue_outside_a_transaction_is_refused():
    with pytest.raises(NotInTransaction):
        enqueue(topic="test.topic", key="k", payload={})
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_enqueue_rolls_back_with_the_domain_change():
    with pytest.raises(ZeroDivisionError), transaction.atomic():
        enqueue(topic="test.topic", key="k", payload={})
        1 / 0
    assert OutboxMessage.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_delivery_settles_messages_and_runs_the_domain_hook(upstream, queue_settings):
    keys = _enqueue(5)
    summary = deliver.drain(budget_seconds=5)
    assert summary.report.delivered == 5
    assert sorted(upstream.delivered) == sorted(keys)
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {"delivered"}


@pytest.mark.django_db(transaction=True)
def test_transient_failures_retry_later_with_backoff_and_keep_the_message(upstream,
                                                                          queue_settings):
    queue_settings(BACKOFF_BASE_SECONDS=30, BACKOFF_CAP_SECONDS=60)
    _enqueue(1)
    upstream.answer = lambda m: RetryLater("503", retry_after=40)
    report = deliver.deliver_batch(deliver.topics.get("test.topic"))
    assert report.retried == 1
    message = OutboxMessage.objects.get()
    assert message.status == MessageStatus.PENDING
    # Retry-After is a floor; the wait lives in the database, not in a Celery countdown.
    assert message.next_attempt_at >= timezone.now() + dt.timedelta(seconds=39)
    assert message.last_error == "503"
    assert not deliver.has_due_work()


@pytest.mark.django_db(transaction=True)
def test_refused_messages_become_dead_letters_and_can_be_retried(upstream, queue_settings):
    _enqueue(2)
    upstream.answer = lambda m: Refused("invalid NIK") if m.key == "m0" else Delivered()
    deliver.drain(budget_seconds=5)
    dead = OutboxMessage.objects.get(status=MessageStatus.DEAD)
    assert dead.key == "m0"
    assert upstream.dead == [("m0", "invalid NIK")]
    with pytest.raises(NotDead):
        dead_letter_retry(message_id=OutboxMessage.objects.get(key="m1").pk)
    upstream.answer = lambda m: Delivered()
    dead_letter_retry(message_id=dead.pk)
    deliver.drain(budget_seconds=5)
    assert OutboxMessage.objects.get(key="m0").status == MessageStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_ambiguous_failures_are_remembered_for_the_next_attempt(upstream, queue_settings):
    _enqueue(1)
    upstream.raise_ = UpstreamUnavailable("read timeout", ambiguous=True)
    deliver.deliver_batch(deliver.topics.get("test.topic"))
    assert OutboxMessage.objects.get().outcome_unknown is True


@pytest.mark.django_db(transaction=True)
def test_an_ambiguous_outcome_is_asked_again_on_the_next_pass_not_after_its_backoff(
    upstream, queue_settings
):
    # A backoff far longer than the test: only an at-once retry can deliver it below.
    queue_settings(BACKOFF_BASE_SECONDS=600, BACKOFF_CAP_SECONDS=600)
    _enqueue(1)
    upstream.raise_ = UpstreamUnavailable("response dropped", ambiguous=True)
    deliver.deliver_batch(deliver.topics.get("test.topic"))
    message = OutboxMessage.objects.get()
    assert message.status == MessageStatus.PENDING and message.outcome_unknown
    upstream.raise_ = None
    summary = deliver.drain(budget_seconds=5)
    assert summary.report.delivered == 1
    assert upstream.delivered == ["m0"]
    assert OutboxMessage.objects.get().status == MessageStatus.DELIVERED


@pytest.mark.django_db(transaction=True)
def test_a_plain_transient_failure_still_waits_its_backoff(upstream, queue_settings):
    queue_settings(BACKOFF_BASE_SECONDS=600, BACKOFF_CAP_SECONDS=600)
    _enqueue(1)
    upstream.raise_ = UpstreamUnavailable("503")
    deliver.deliver_batch(deliver.topics.get("test.topic"))
    upstream.raise_ = None
    assert deliver.drain(budget_seconds=1).report.delivered == 0
    assert OutboxMessage.objects.get().next_attempt_at > timezone.now()


@pytest.mark.django_db(transaction=True)
def test_an_expired_lease_is_claimed_again_and_the_old_holder_cannot_settle(upstream,
                                                                           queue_settings):
    _enqueue(1)
    dead_worker_token, taken = claim(topic="test.topic", limit=10, lease_seconds=60,
                                     low_priority_share=0.2)
    assert len(taken) == 1
    assert claim(topic="test.topic", limit=10, lease_seconds=60, low_priority_share=0.2)[1] == []
    OutboxMessage.objects.update(lease_until=timezone.now() - dt.timedelta(seconds=1))
    token, again = claim(topic="test.topic", limit=10, lease_seconds=60, low_priority_share=0.2)
    assert [m.key for m in again] == ["m0"]
    assert again[0].attempts == 2
    report = deliver.Report()
    deliver._settle(deliver.topics.get("test.topic"), dead_worker_token, taken,
                    [Delivered()], report)
    assert report.lost_lease == 1 and report.delivered == 0
    deliver._settle(deliver.topics.get("test.topic"), token, again, [Delivered()], report)
    assert report.delivered == 1
    assert upstream.delivered == ["m0"]


@pytest.mark.django_db(transaction=True)
def test_express_goes_first_but_regular_work_is_never_starved(upstream, queue_settings):
    _enqueue(3, priority=0, prefix="regular")
    _enqueue(50, priority=1, prefix="express")
    _, batch = claim(topic="test.topic", limit=10, lease_seconds=60, low_priority_share=0.2)
    keys = [m.key for m in batch]
    assert len(keys) == 10
    assert sum(k.startswith("express") for k in keys) == 8
    assert keys[:2] == ["regular0", "regular1"]  # the oldest share


@pytest.mark.django_db(transaction=True)
def test_concurrent_workers_claim_disjoint_batches(upstream, queue_settings):
    _enqueue(200)
    won: list[list[str]] = []
    lock = threading.Lock()

    def worker() -> None:
        try:
            while True:
                _, batch = claim(topic="test.topic", limit=7, lease_seconds=60,
                                 low_priority_share=0.2)
                if not batch:
                    return
                with lock:
                    won.append([m.key for m in batch])
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = [k for batch in won for k in batch]
    assert len(claimed) == 200
    assert len(set(claimed)) == 200


@pytest.mark.django_db(transaction=True)
def test_a_flushed_redis_loses_nothing(upstream, queue_settings, settings):
    import redis

    from queueing.tasks import sweep

    _enqueue(3)
    redis.Redis.from_url(settings.REDIS_URL).flushdb()
    assert sweep() is True  # found from the database alone, and kicked
    deliver.drain(budget_seconds=5)
    assert OutboxMessage.objects.filter(status="delivered").count() == 3


@pytest.mark.django_db(transaction=True)
def test_only_old_delivered_messages_are_purged(upstream, queue_settings):
    _enqueue(3)
    deliver.drain(budget_seconds=5)
    _enqueue(1, prefix="waiting")
    OutboxMessage.objects.filter(key__in=["m0", "m1"]).update(
        delivered_at=timezone.now() - dt.timedelta(days=61)
    )
    assert deliver.purge_delivered(older_than_days=60) == 2
    assert sorted(OutboxMessage.objects.values_list("key", flat=True)) == ["m2", "waiting0"]


@pytest.mark.django_db(transaction=True)
def test_send_again_requeues_recreates_a_purged_message_and_leaves_waiting_and_dead_ones():
    _enqueue(4)
    OutboxMessage.objects.filter(key="m0").update(status=MessageStatus.DELIVERED,
                                                  delivered_at=timezone.now())
    OutboxMessage.objects.filter(key="m1").delete()  # delivered long ago, purged
    OutboxMessage.objects.filter(key="m3").update(status=MessageStatus.DEAD)
    with transaction.atomic():
        results = [send_again(topic="test.topic", key=f"m{i}", payload={"n": f"m{i}"})
                   for i in range(4)]
    assert results == [True, True, True, False]
    statuses = dict(OutboxMessage.objects.values_list("key", "status"))
    assert statuses == {"m0": "pending", "m1": "pending", "m2": "pending", "m3": "dead"}
    assert OutboxMessage.objects.get(key="m1").payload == {"n": "m1"}
    assert OutboxMessage.objects.count() == 4


@pytest.mark.django_db(transaction=True)
@pytest.mark.skipif("connection.vendor != 'postgresql'", reason="PostgreSQL's planner")
def test_the_sweep_asks_the_due_index_not_the_whole_outbox_after_a_drain():
    """Statistics taken at recovery (everything pending, as `_refresh_statistics` leaves them)
    and a drained outbox: "is anything due?" still reads only the small partial index."""
    from django.test.utils import CaptureQueriesContext

    now = timezone.now()
    OutboxMessage.objects.bulk_create(
        OutboxMessage(topic="test.topic", key=f"k{i}", payload={}, next_attempt_at=now)
        for i in range(5000))
    with connection.cursor() as cursor:
        cursor.execute(f"ANALYZE {OutboxMessage._meta.db_table}")
    OutboxMessage.objects.update(status=MessageStatus.DELIVERED, delivered_at=now)

    with CaptureQueriesContext(connection) as asked:
        assert not deliver.has_due_work()
    assert asked.captured_queries
    for query in asked.captured_queries:
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN {query['sql']}")
            plan = "\n".join(row[0] for row in cursor.fetchall())
        assert "outbox_due" in plan and "Seq Scan" not in plan, plan
