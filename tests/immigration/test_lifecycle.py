"""The lifecycle table: every transition is recorded; illegal ones are refused."""

from __future__ import annotations

import itertools

import pytest
from django.db import transaction

from immigration.lifecycle import ALLOWED, Actor, Status, is_allowed
from immigration.models import IllegalTransition, PassportApplication, StatusEvent
from tests.fixtures.approvable import make_approvable

pytestmark = pytest.mark.django_db


@pytest.fixture
def application(submit, siti):
    return PassportApplication.objects.get(reference=submit(siti).json()["reference"])


@pytest.mark.parametrize(
    ("current", "target", "actor"),
    [
        (c, t, a)
        for c, t, a in itertools.product(Status, Status, Actor)
        if (c, t, a) not in ALLOWED
    ][::7],  # a spread of the ~1000 illegal combinations keeps the suite quick
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


def test_every_allowed_transition_is_reachable_by_its_actor():
    assert all(is_allowed(c, t, a) for c, t, a in ALLOWED)
