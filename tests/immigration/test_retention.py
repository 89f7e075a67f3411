"""Retention (UU PDP): documents go a set time after an application closed, the application's
personal data later; nothing still in progress is touched."""

from __future__ import annotations

import datetime as dt
import io
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.db import connection, transaction
from django.utils import timezone
from rest_framework.test import APIClient

from immigration import tasks
from immigration.counter.models import Handover, Interview
from immigration.dossier.models import DossierFile, FileChunk, PendingUpload
from immigration.dossier.uploads import upload_create
from immigration.lifecycle import Status
from immigration.models import IdempotencyRecord, PassportApplication
from immigration.retention import Periods, application_anonymised, retention_run
from tests.counter.conftest import ready_for_pickup, submit_with
from tests.fixtures.dossier import complete_dossier

pytestmark = pytest.mark.django_db

PERIODS = Periods(dossier=dt.timedelta(days=30), application=dt.timedelta(days=365))
LATER = dt.timedelta(days=31)  # past the dossier period, before the application's
MUCH_LATER = dt.timedelta(days=366)


def _submitted(api: APIClient) -> dict[str, Any]:
    response = submit_with(api)
    assert response.status_code == 201, response.content
    return response.json()


def _rejected(api: APIClient, clerk: User) -> PassportApplication:
    reference = _submitted(api)["reference"]
    with transaction.atomic():
        application = PassportApplication.objects.select_for_update().get(reference=reference)
        complete_dossier(application, clerk)
        # And an upload left half done (its chunks are personal data too).
        upload_create(application=application, kind="kk", length=100,
                      declared_sha256="0" * 64, by=clerk)
        application.reject(by=clerk, reason="dokumen palsu")
    return application


def _collected(api: APIClient, bambang_api: APIClient, clerk: User) -> PassportApplication:
    application = ready_for_pickup(_submitted(api)["reference"], clerk)
    response = bambang_api.post(f"/api/v1/applications/{application.reference}/pickup", {
        "nik": application.nik, "recipient": "proxy", "proxy_name": "Budi Santoso",
        "proxy_id_number": "6504010101800001", "letter_no": "SK/12/2026"}, format="json")
    assert response.status_code == 200, response.content
    return PassportApplication.objects.get(pk=application.pk)


def _in_progress(api: APIClient, clerk: User) -> list[PassportApplication]:
    """One received and one approved application, both with files."""
    received = PassportApplication.objects.get(reference=_submitted(api)["reference"])
    complete_dossier(received, clerk)
    queued = ready_for_pickup(_submitted(api)["reference"], clerk)
    return [received, queued]


def test_files_go_after_the_dossier_period_and_the_person_stays_until_the_longer_one(
        api: APIClient, bambang: User, bambang_api: APIClient) -> None:
    rejected = _rejected(api, bambang)
    collected = _collected(api, bambang_api, bambang)
    busy = _in_progress(api, bambang)
    files_before = {a.pk: DossierFile.objects.filter(application=a).count() for a in busy}
    assert all(files_before.values())

    # Within the period nothing goes.
    assert retention_run(now=timezone.now() + dt.timedelta(days=29), periods=PERIODS).done == {
        "dossier_files": 0, "applications": 0}

    report = retention_run(now=timezone.now() + LATER, periods=PERIODS)
    assert report.done == {"dossier_files": 2, "applications": 0}
    assert report.files_deleted >= 4
    for closed in (rejected, collected):
        assert not DossierFile.objects.filter(application=closed).exists()
        closed.refresh_from_db()
        assert closed.anonymised_at is None and len(closed.nik) == 16  # still a person
    assert not PendingUpload.objects.filter(application=rejected).exists()
    assert not FileChunk.objects.filter(file__application__in=[rejected, collected]).exists()
    # In progress: untouched, however old.
    assert {a.pk: DossierFile.objects.filter(application=a).count() for a in busy} == files_before
    assert retention_run(now=timezone.now() + dt.timedelta(days=5000), periods=PERIODS).done[
        "dossier_files"] == 0


def test_applications_are_anonymised_after_their_period_keeping_statistics(
        api: APIClient, bambang: User, bambang_api: APIClient) -> None:
    receipt = _submitted(api)
    cancelled = PassportApplication.objects.get(reference=receipt["reference"])
    with transaction.atomic():
        PassportApplication.objects.select_for_update().get(pk=cancelled.pk).cancel(
            by=bambang, note="pemohon membatalkan")
    collected = _collected(api, bambang_api, bambang)
    assert Interview.objects.filter(application=collected).exists()
    busy = _in_progress(api, bambang)
    heard: list[str] = []
    application_anonymised.connect(lambda sender, application, **_: heard.append(
        application.reference), weak=False, dispatch_uid="test-heard")
    try:
        report = retention_run(now=timezone.now() + MUCH_LATER, periods=PERIODS)
    finally:
        application_anonymised.disconnect(dispatch_uid="test-heard")
    assert report.done == {"dossier_files": 1, "applications": 2}
    assert sorted(heard) == sorted([cancelled.reference, collected.reference])

    for closed, status in ((cancelled, Status.CANCELLED), (collected, Status.COLLECTED)):
        closed.refresh_from_db()
        assert closed.anonymised_at is not None
        assert closed.applicant_data() == dict.fromkeys(closed.applicant_data(), "")
        assert (closed.nik_index, closed.access_code_hash) == ("", "")
        assert closed.status == status and closed.reference.startswith("NNK-")
        assert closed.events.count() >= 2  # the timeline stays for statistics
        assert not IdempotencyRecord.objects.filter(application=closed).exists()
        assert not DossierFile.objects.filter(application=closed).exists()
    assert {i.note for i in Interview.objects.filter(application=collected)} == {""}
    handover = Handover.objects.get(application=collected)
    assert (handover.proxy_name, handover.proxy_id_number, handover.letter_no) == (
        "", "", "SK/12/2026")
    with connection.cursor() as cursor:
        cursor.execute("SELECT nik, full_name, mother_name FROM immigration_passportapplication "
                       "WHERE id = %s", [collected.pk])
        assert cursor.fetchone() == ("", "", "")
    # The receipt opens nothing any more (same 404 as a wrong code).
    lookup = api.get(f"/api/v1/applications/{receipt['reference']}",
                     HTTP_X_ACCESS_CODE=receipt["access_code"])
    assert lookup.status_code == 404
    for application in busy:
        application.refresh_from_db()
        assert application.anonymised_at is None and len(application.nik) == 16
    # Staff see that it was anonymised, and when.
    shown = bambang_api.get(f"/api/v1/applications/{collected.reference}").json()
    assert shown["anonymised_at"] and shown["applicant"]["full_name"] == ""
    # A second run finds nothing more to do.
    assert retention_run(now=timezone.now() + MUCH_LATER, periods=PERIODS).due == {
        "dossier_files": 0, "applications": 0}


def test_command_dry_run_counts_per_kind_and_changes_nothing(
        api: APIClient, bambang: User, settings: Any) -> None:
    settings.RETENTION_DOSSIER_DAYS = 0
    settings.RETENTION_APPLICATION_DAYS = 0
    rejected = _rejected(api, bambang)
    files = DossierFile.objects.filter(application=rejected).count()

    out = io.StringIO()
    call_command("retention", "--dry-run", stdout=out)
    text = out.getvalue()
    assert "would go: 1 applications whose documents/photo/signature are deleted" in text
    assert "would go: 1 applications anonymised" in text and "nothing changed" in text
    assert DossierFile.objects.filter(application=rejected).count() == files
    rejected.refresh_from_db()
    assert rejected.anonymised_at is None

    out = io.StringIO()
    call_command("retention", stdout=out)
    assert "done: 1 of 1 applications anonymised" in out.getvalue()
    assert f"dossier files deleted: {files}" in out.getvalue()
    rejected.refresh_from_db()
    assert rejected.anonymised_at is not None and rejected.full_name == ""


def test_the_beat_task_applies_the_settings(api: APIClient, bambang: User,
                                            settings: Any) -> None:
    assert settings.CELERY_BEAT_SCHEDULE["privacy-retention"]["task"] == "privacy.retention"
    rejected = _rejected(api, bambang)
    settings.RETENTION_DOSSIER_DAYS = 0
    settings.RETENTION_APPLICATION_DAYS = 30
    assert tasks.retention()["dossier_files"] == 1
    rejected.refresh_from_db()
    assert rejected.anonymised_at is None
    assert not DossierFile.objects.filter(application=rejected).exists()
