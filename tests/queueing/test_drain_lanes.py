"""A drain's lanes: several delivery loops in one worker, so the upstream always holds a batch
of this worker's while another lane settles and claims; and the drain task's spread budget."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, transaction

from queueing import deliver, tasks
from queueing.models import MessageStatus, OutboxMessage
from queueing.outbox import enqueue
from queueing.topics import Delivered

pytestmark = pytest.mark.django_db(transaction=True)  # lanes use connections of their own


def _enqueue(n: int) -> list[str]:
    keys = [f"lane{i}" for i in range(n)]
    with transaction.atomic():
        for key in keys:
            enqueue(topic="test.topic", key=key, payload={})
    return keys


def _meet_at_the_upstream(upstream, *, timeout: float) -> list[str]:
    """Make the first message each thread sends wait until another lane's batch is at the
    upstream too (a barrier of two); returns what happened at the barrier."""
    barrier = threading.Barrier(2, timeout=timeout)
    seen: set[int] = set()
    met: list[str] = []

    def answer(message: OutboxMessage) -> Delivered:
        me = threading.get_ident()
        if me not in seen:
            seen.add(me)
            try:
                barrier.wait()
                met.append("met")
            except threading.BrokenBarrierError:
                met.append("alone")
        return Delivered({"ok": True})

    upstream.answer = answer
    return met


def test_two_lanes_have_two_batches_at_the_upstream_at_once_and_share_no_message(
        upstream, queue_settings):
    queue_settings(BATCH_SIZE=10)
    keys = _enqueue(60)
    met = _meet_at_the_upstream(upstream, timeout=10)
    summary = deliver.drain(budget_seconds=10, lanes=2)
    # Both lanes were inside the upstream call together: one batch did not wait for the other.
    assert met == ["met", "met"]
    # Each message went out once, in one batch, and was settled once.
    sent = [key for batch in upstream.batches for key in batch]
    assert sorted(sent) == sorted(keys)
    assert sorted(upstream.delivered) == sorted(keys)
    assert summary.report.delivered == 60 and summary.report.lost_lease == 0
    assert not summary.more_due
    assert set(OutboxMessage.objects.values_list("status", flat=True)) == {
        MessageStatus.DELIVERED}


def test_one_lane_sends_one_batch_at_a_time(upstream, queue_settings):
    """The control for the test above: with one lane the barrier is never met."""
    queue_settings(BATCH_SIZE=10)
    keys = _enqueue(20)
    met = _meet_at_the_upstream(upstream, timeout=0.5)
    summary = deliver.drain(budget_seconds=10, lanes=1)
    assert met == ["alone"]
    assert summary.report.delivered == 20
    assert sorted(upstream.delivered) == sorted(keys)


def test_an_open_breaker_stops_every_lane_and_says_when_to_probe(upstream, queue_settings):
    from queueing import breaker

    queue_settings(BREAKER_FAILURE_THRESHOLD=1, BREAKER_COOLDOWN_SECONDS=5,
                   BREAKER_COOLDOWN_CAP_SECONDS=5)
    _enqueue(5)
    breaker.record_failure("test-upstream", "503")
    summary = deliver.drain(budget_seconds=5, lanes=3)
    assert summary.report.settled == 0 and upstream.batches == []
    assert summary.probe_in is not None and 0 < summary.probe_in <= 5
    assert summary.more_due


def test_lanes_are_for_postgresql_only(settings):
    settings.QUEUEING = {**settings.QUEUEING, "DRAIN_LANES": 3}
    assert deliver.lanes() == (3 if connection.vendor == "postgresql" else 1)


def test_a_drain_task_budget_is_spread_between_half_and_all_of_the_setting(settings):
    settings.QUEUEING = {**settings.QUEUEING, "DRAIN_BUDGET_SECONDS": 20.0}
    budgets = [tasks._budget() for _ in range(200)]
    assert all(10.0 <= b <= 20.0 for b in budgets)
    assert max(budgets) - min(budgets) > 5  # spread, not one value
