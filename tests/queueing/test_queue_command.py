"""`manage.py queue status|drain|retry-dead` against the real print path and simulator."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from immigration.models import PassportApplication
from queueing.models import OutboxMessage
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable

pytestmark = pytest.mark.django_db(transaction=True)


def _run(*args: str) -> str:
    out = StringIO()
    call_command("queue", *args, stdout=out)
    return out.getvalue()


def _approve_some(submit, bambang_api, n, **overrides):
    refs = []
    for _ in range(n):
        ref = submit(application_payload(**overrides)).json()["reference"]
        make_approvable(ref, User.objects.get(username="bambang"))
        bambang_api.post(f"/api/v1/applications/{ref}/approve")
        refs.append(ref)
    return refs


def test_status_shows_counts_by_state_and_priority(wired, submit, bambang_api):
    _approve_some(submit, bambang_api, 2)
    _approve_some(submit, bambang_api, 1, service="express")
    out = _run("status")
    assert "pending    3" in out
    assert "priority 1: 1" in out and "priority 0: 2" in out
    assert "breaker central_printing: closed" in out
    assert "oldest waiting" in out


def test_drain_delivers_everything_in_the_foreground(wired, submit, bambang_api):
    refs = _approve_some(submit, bambang_api, 5)
    out = _run("drain", "--max-seconds", "30")
    assert "delivered 5" in out
    assert "still waiting: 0" in out
    assert set(PassportApplication.objects.filter(reference__in=refs)
               .values_list("status", flat=True)) == {"sent_to_central"}


def test_retry_dead_requeues_dead_letters(wired, submit, bambang_api):
    (ref,) = _approve_some(submit, bambang_api, 1)
    wired.control.configure(refuse_references=[ref])
    _run("drain", "--max-seconds", "10")
    assert OutboxMessage.objects.get().status == "dead"
    wired.control.configure(refuse_references=[])
    assert "requeued 1 dead letter(s)" in _run("retry-dead")
    _run("drain", "--max-seconds", "10")
    assert PassportApplication.objects.get(reference=ref).status == "sent_to_central"
