"""Erasure on request (UU PDP): staff erase an applicant's personal data where the law allows
it, refuse where the office must keep it, and the audit chain says who did it."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from rest_framework.test import APIClient

from immigration.audit.models import AuditEntry
from immigration.counter.models import Appointment
from immigration.dossier.models import DossierFile
from immigration.models import PassportApplication
from tests.conftest import client_for

# The counter's fixtures (its schedule, so a slot can be booked), used by name below.
from tests.counter.conftest import ready_for_pickup, schedule, submit_with, tomorrow  # noqa: F401
from tests.fixtures.dossier import complete_dossier

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("schedule")]


def _erase(client: APIClient, reference: str) -> Any:
    return client.post(f"/api/v1/applications/{reference}/erase")


def _received(api: APIClient, clerk: User, **overrides: Any) -> PassportApplication:
    response = submit_with(api, **overrides)
    assert response.status_code == 201, response.content
    application = PassportApplication.objects.get(reference=response.json()["reference"])
    complete_dossier(application, clerk)
    return application


def test_a_received_application_is_withdrawn_and_erased_and_the_clerk_audited(
        api: APIClient, bambang: User, bambang_api: APIClient,
        request: pytest.FixtureRequest) -> None:
    day = request.getfixturevalue("tomorrow")
    application = _received(api, bambang, appointment={"date": day.isoformat(), "slot": "08:00"})
    assert Appointment.objects.filter(application=application).exists()

    response = _erase(bambang_api, application.reference)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["status"] == "cancelled" and body["anonymised_at"]
    assert set(body["applicant"].values()) == {""}

    application.refresh_from_db()
    assert (application.nik, application.full_name, application.nik_index) == ("", "", "")
    assert not DossierFile.objects.filter(application=application).exists()
    assert application.events.last().to_status == "cancelled"
    # The slot it held is free again (withdrawn the way a cancellation is).
    assert Appointment.objects.get(application=application).slot is None
    entry = AuditEntry.objects.get(action="application.erase")
    assert (entry.actor, entry.application_id, entry.office_id) == (bambang, application.pk,
                                                                    "NNK")
    assert entry.detail == {"reference": application.reference, "status": "received"}

    again = _erase(bambang_api, application.reference)
    assert again.status_code == 409 and again.json()["error"] == "already_erased"
    assert AuditEntry.objects.filter(action="application.erase").count() == 1


def test_rejected_is_erased_but_printing_or_issued_is_refused_and_unchanged(
        api: APIClient, bambang: User, bambang_api: APIClient) -> None:
    rejected = _received(api, bambang)
    with transaction.atomic():
        PassportApplication.objects.select_for_update().get(pk=rejected.pk).reject(
            by=bambang, reason="dokumen tidak sah")
    assert _erase(bambang_api, rejected.reference).status_code == 200
    rejected.refresh_from_db()
    assert rejected.status == "rejected" and rejected.full_name == ""

    ready = ready_for_pickup(submit_with(api).json()["reference"], bambang)
    before = (ready.nik, ready.full_name, DossierFile.objects.filter(application=ready).count())
    refused = _erase(bambang_api, ready.reference)
    assert refused.status_code == 409
    assert refused.json()["error"] == "erasure_not_allowed"
    assert refused.json()["detail"].startswith("Kantor wajib menyimpan data")  # Indonesian
    ready.refresh_from_db()
    assert (ready.nik, ready.full_name,
            DossierFile.objects.filter(application=ready).count()) == before
    assert ready.anonymised_at is None and ready.status == "ready_for_pickup"
    assert not AuditEntry.objects.filter(action="application.erase",
                                         application=ready).exists()


def test_only_the_offices_staff_can_erase(api: APIClient, bambang: User, dewi: User,
                                          joko: User) -> None:
    application = _received(api, bambang)
    assert _erase(client_for(dewi), application.reference).status_code == 404
    assert _erase(client_for(joko), application.reference).status_code == 403
    assert _erase(api, application.reference).status_code in (401, 403)
    application.refresh_from_db()
    assert application.anonymised_at is None and len(application.nik) == 16
