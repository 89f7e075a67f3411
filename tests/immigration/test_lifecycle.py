"""The lifecycle table, checked against the rules stated independently below (by who acts, as a
clerk would tell them), and through the model: every transition is recorded; illegal ones are
refused."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction

from immigration.lifecycle import ACTIVE_STATUSES, Actor, Status, is_allowed
from immigration.models import IllegalTransition, PassportApplication, StatusEvent
from tests.fixtures.approvable import make_approvable

pytestmark = pytest.mark.django_db


S = Status
# The print chain as central reports it, in order; central may skip steps (callbacks arrive out of
# order or before our own delivery was recorded), never go back.
CHAIN = ["queued_for_printing", "sent_to_central", "printing", "printed", "ready_for_pickup"]


def rule(current: str, target: str, actor: str) -> bool:
    """Who may move an application from `current` to `target`, written out from the design
    (DESIGN.md, "Lifecycle") without looking at lifecycle.ALLOWED."""
    move = (current, target)
    if actor == "applicant":
        # Only withdraw, and only before the office has acted.
        return move == ("received", "cancelled")
    if actor == "staff":
        return move in {
            ("received", "queued_for_printing"),  # approve
            ("received", "rejected"),
            ("received", "cancelled"),
            ("queued_for_printing", "cancelled"),  # not yet at central: can still be stopped
            ("needs_attention", "queued_for_printing"),  # resubmit / retry the dead letter
            ("needs_attention", "rejected"),
            ("needs_attention", "cancelled"),
            ("ready_for_pickup", "collected"),  # hand-over at the counter
        }
    if actor == "delivery":
        return move in {
            ("queued_for_printing", "sent_to_central"),  # central acknowledged
            ("queued_for_printing", "needs_attention"),  # central refused: dead letter
            # Reconciliation after central restored an old backup:
            ("sent_to_central", "queued_for_printing"),  # lost before printing: send again
            ("printing", "queued_for_printing"),
            ("printed", "needs_attention"),  # lost after printing: ask, never reprint blindly
        }
    if actor == "central":
        if current in CHAIN and target in CHAIN:
            return CHAIN.index(target) > CHAIN.index(current)
        # Central refuses a job it has not printed yet.
        return target == "needs_attention" and current in CHAIN[:3]
    return False


ALL = list(itertools.product(Status, Status, Actor))


def test_the_table_says_exactly_what_the_rules_say():
    disagreements = [
        (c.value, t.value, a.value, is_allowed(c, t, a))
        for c, t, a in ALL
        if is_allowed(c, t, a) != rule(c.value, t.value, a.value)
    ]
    assert disagreements == []
    assert sum(rule(c.value, t.value, a.value) for c, t, a in ALL) == 27  # not vacuous


def test_finished_applications_never_move_and_nothing_returns_to_received():
    finished = set(Status) - ACTIVE_STATUSES
    assert finished == {S.COLLECTED, S.REJECTED, S.CANCELLED}
    for c, t, a in ALL:
        if c in finished or t == S.RECEIVED:
            assert not is_allowed(c, t, a), (c, t, a)


def test_every_status_is_reachable_and_every_active_one_can_finish():
    edges = {(c, t) for c, t, a in ALL if is_allowed(c, t, a)}

    def reachable(start: Status) -> set[Status]:
        seen, todo = {start}, [start]
        while todo:
            here = todo.pop()
            for c, t in edges:
                if c == here and t not in seen:
                    seen.add(t)
                    todo.append(t)
        return seen

    assert reachable(S.RECEIVED) == set(Status)
    for status in ACTIVE_STATUSES:
        assert reachable(status) & {S.COLLECTED, S.REJECTED, S.CANCELLED}, status


@pytest.fixture
def application(submit, siti):
    return PassportApplication.objects.get(reference=submit(siti).json()["reference"])


@pytest.mark.parametrize(
    ("current", "target", "actor"),
    [
        (c, t, a)
        for c, t, a in ALL
        if not rule(c.value, t.value, a.value)
    ][::7],  # a spread of the ~370 illegal combinations keeps the suite quick
)
def test_illegal_transitions_are_refused_and_leave_no_event(application, current, target, actor):
    PassportApplication.objects.filter(pk=application.pk).update(status=current)
    application.refresh_from_db()
    before = StatusEvent.objects.count()
    with pytest.raises(IllegalTransition):
        application._transition(target, actor=actor)
    application.refresh_from_db()
    assert application.status == current
    assert StatusEvent.objects.count() == before


def test_full_happy_path_writes_one_event_per_step(application, bambang):
    make_approvable(application, bambang)
    with transaction.atomic():
        application.approve(by=bambang)
    application.mark_sent_to_central(job_id="J1")
    for target in [Status.PRINTING, Status.PRINTED, Status.READY_FOR_PICKUP]:
        assert application.advance_from_central(target)
    application.collect(by=bambang)
    events = list(application.events.values_list("from_status", "to_status", "actor"))
    assert events == [
        ("", "received", "applicant"),
        ("received", "queued_for_printing", "staff"),
        ("queued_for_printing", "sent_to_central", "delivery"),
        ("sent_to_central", "printing", "central"),
        ("printing", "printed", "central"),
        ("printed", "ready_for_pickup", "central"),
        ("ready_for_pickup", "collected", "staff"),
    ]


def test_late_central_callbacks_never_move_backwards(application, bambang):
    make_approvable(application, bambang)
    with transaction.atomic():
        application.approve(by=bambang)
    assert application.advance_from_central(Status.PRINTED)  # jumped ahead (response was lost)
    assert not application.advance_from_central(Status.PRINTING)
    application.mark_sent_to_central(job_id="J1")  # the late delivery record is a no-op
    assert application.status == Status.PRINTED


def test_status_events_are_append_only(application):
    event = application.events.get()
    event.note = "tampered"
    with pytest.raises(RuntimeError):
        event.save()


def test_resubmit_bumps_the_data_version_and_requeues(application, bambang):
    make_approvable(application, bambang)
    with transaction.atomic():
        application.approve(by=bambang)
        application.needs_attention(reason="name mismatch", actor=Actor.DELIVERY)
        application.resubmit(by=bambang, applicant={"full_name": "Siti Aminah Binti Ahmad"})
    application.refresh_from_db()
    assert application.data_version == 2
    assert application.print_job_key.endswith(":v2")
    assert application.full_name == "Siti Aminah Binti Ahmad"
    assert application.status == Status.QUEUED_FOR_PRINTING


@pytest.mark.parametrize(
    ("current", "target", "actor"),
    [(c, t, a) for c, t, a in ALL if rule(c.value, t.value, a.value)],
)
def test_legal_transitions_are_recorded_with_their_actor(application, current, target, actor):
    PassportApplication.objects.filter(pk=application.pk).update(status=current)
    application.refresh_from_db()
    application._transition(target, actor=actor)
    application.refresh_from_db()
    assert application.status == target
    event = application.events.last()
    assert (event.from_status, event.to_status, event.actor) == (current, target, actor)
