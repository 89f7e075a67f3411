"""Central restores from an old backup (the ransomware case): reconciliation re-sends what it
lost before printing, and flags what it had already reported printed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command

from immigration.models import PassportApplication
from queueing import deliver
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.fixtures.central import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _approve(submit, bambang_api) -> str:
    reference = submit(application_payload()).json()["reference"]
    make_approvable(reference, User.objects.get(username="bambang"))
    assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200
    return reference


def _status(reference: str) -> str:
    return PassportApplication.objects.get(reference=reference).status


def test_reconcile_resends_lost_jobs_and_flags_lost_printed_ones(wired, submit, bambang_api):
    kept = _approve(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    wired.control.restore_point()  # central's last good backup: it knows `kept`

    printed = _approve(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    wired.control.advance()
    wired.control.advance()  # printing, printed (for both jobs)
    wait_until(lambda: _status(printed) == "printed")
    sent = _approve(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    assert _status(sent) == "sent_to_central"

    assert wired.control.restore() == 2  # ransomware: central loses `printed` and `sent`

    out = StringIO()
    call_command("reconcile", "--office", "NNK", stdout=out)
    assert f"re-sent 1: {sent}" in out.getvalue()
    assert f"need staff attention 1: {printed}" in out.getvalue()
    assert _status(sent) == "queued_for_printing"  # the applicant is told the truth
    assert _status(printed) == "needs_attention"
    assert _status(kept) == "printed"

    deliver.drain(budget_seconds=10)
    assert _status(sent) == "sent_to_central"
    with wired.client() as client:
        assert client.get(f"{sent}:v1") is not None
        assert client.get(f"{printed}:v1") is None  # not printed a second time blindly

    again = StringIO()
    call_command("reconcile", stdout=again)
    assert "re-sent 0" in again.getvalue()
