"""Central restores from an old backup (the ransomware case): reconciliation re-sends what it
lost before printing, and flags what it had already reported printed."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from immigration.dossier.models import DossierFile
from immigration.dossier.storage import open_chunks
from immigration.models import PassportApplication
from queueing import deliver
from queueing.models import OutboxMessage
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.fixtures.central import wait_until
from tests.fixtures.dossier import dossier_store
from tests.fixtures.photos import passport_photo, signature_png

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


# --- independent of the outbox's retention -------------------------------------------------

_seed = iter(range(5000, 100000))


def _approve_with_own_dossier(submit, bambang_api) -> PassportApplication:
    """Approved, with a photo and signature of its own (the shared fixture's are one blob)."""
    reference = submit(application_payload()).json()["reference"]
    bambang = User.objects.get(username="bambang")
    make_approvable(reference, bambang)
    application = PassportApplication.objects.get(reference=reference)
    dossier_store(application, "photo", passport_photo(next(_seed)), by=bambang)
    dossier_store(application, "signature", signature_png(next(_seed)), by=bambang)
    assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200
    return application


def test_reconcile_finds_lost_jobs_after_the_outbox_purged_their_messages(
    wired, submit, bambang_api, settings
):
    kept = [_approve_with_own_dossier(submit, bambang_api) for _ in range(2)]
    deliver.drain(budget_seconds=10)
    wired.control.restore_point()  # central's last good backup holds `kept` (not their blobs)
    lost = [_approve_with_own_dossier(submit, bambang_api) for _ in range(3)]
    deliver.drain(budget_seconds=10)
    assert {_status(a.reference) for a in kept + lost} == {"sent_to_central"}

    # Two months on: the daily purge has forgotten every delivered message...
    OutboxMessage.objects.update(delivered_at=timezone.now() - dt.timedelta(days=61))
    deliver.purge_delivered(older_than_days=settings.QUEUEING["RETENTION_DAYS"])
    assert not OutboxMessage.objects.exists()
    # ...when central comes back from that backup, without its blob store.
    assert wired.control.restore(all_blobs=True) == 3

    out = StringIO()
    call_command("reconcile", "--office", "NNK", stdout=out)
    assert f"re-sent 3: {' '.join(sorted(a.reference for a in lost))}" in out.getvalue()
    assert (f"photo/signature re-sent for 2: {' '.join(a.reference for a in kept)}"
            in out.getvalue())
    assert {_status(a.reference) for a in lost} == {"queued_for_printing"}
    deliver.drain(budget_seconds=10)

    assert {_status(a.reference) for a in kept + lost} == {"sent_to_central"}
    # Each lost job went to central exactly once more; the kept ones were replays, not prints.
    counts = wired.control.stats()["print_counts"]
    assert counts == {**{a.print_job_key: 1 for a in kept}, **{a.print_job_key: 2 for a in lost}}
    for application in kept + lost:
        for kind in ("photo", "signature"):
            file = DossierFile.objects.get(application=application, kind=kind,
                                           superseded_at=None)
            assert wired.control.blob_bytes(file.sha256) == b"".join(open_chunks(file))

    again = StringIO()
    call_command("reconcile", stdout=again)
    assert "re-sent 0" in again.getvalue()
    assert "photo/signature re-sent for 0" in again.getvalue()
    deliver.drain(budget_seconds=10)
    assert wired.control.stats()["print_counts"] == counts


def test_reconcile_reports_a_dispatched_passport_central_forgot_and_sends_nothing(
    wired, submit, bambang_api
):
    wired.control.restore_point()
    dispatched = _approve(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    for _ in range(3):
        wired.control.advance()  # printing, printed, dispatched
    wait_until(lambda: _status(dispatched) == "ready_for_pickup")
    assert wired.control.restore() == 1

    out = StringIO()
    call_command("reconcile", stdout=out)
    assert f"already dispatched to the office (nothing to send): {dispatched}" in out.getvalue()
    assert "re-sent 0" in out.getvalue()
    assert _status(dispatched) == "ready_for_pickup"
    assert wired.control.stats()["print_counts"] == {f"{dispatched}:v1": 1}
