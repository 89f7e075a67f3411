"""Staff reads and changes of personal data leave an audit entry, without the data itself."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.test import Client
from rest_framework.test import APIClient

from immigration.audit.models import AuditEntry
from immigration.lifecycle import Actor
from immigration.models import PassportApplication
from tests.conftest import Submit, application_payload, client_for
from tests.fixtures.approvable import complete_counter_steps, make_approvable
from tests.fixtures.dossier import dossier_store, small_jpeg

pytestmark = pytest.mark.django_db


@pytest.fixture
def siti_app(submit: Submit, siti: dict[str, Any]) -> PassportApplication:
    submitted = submit(siti).json()
    return PassportApplication.objects.get(reference=submitted["reference"])


def only_entry(action: str) -> AuditEntry:
    entries = list(AuditEntry.objects.filter(action=action))
    assert len(entries) == 1, [e.action for e in AuditEntry.objects.all()]
    return entries[0]


def assert_no_personal_data(entry: AuditEntry, application: PassportApplication) -> None:
    stored = json.dumps(entry.detail)
    for value in application.applicant_data().values():
        if len(value) > 3:
            assert value not in stored


def test_nik_search_is_audited_without_the_nik(
    bambang_api: APIClient, bambang: User, siti_app: PassportApplication,
) -> None:
    response = bambang_api.get("/api/v1/applications", HTTP_X_SEARCH=siti_app.nik)
    assert response.json()["count"] == 1

    entry = only_entry("application.search_nik")
    assert (entry.actor, entry.office_id, entry.application) == (bambang, "NNK", siti_app)
    assert entry.detail == {"rows": 1}
    assert_no_personal_data(entry, siti_app)


def test_nik_search_without_a_match_is_audited_too(
    bambang_api: APIClient, siti_app: PassportApplication,
) -> None:
    other = application_payload()["applicant"]["nik"]
    assert bambang_api.get("/api/v1/applications", HTTP_X_SEARCH=other).json()["count"] == 0
    entry = only_entry("application.search_nik")
    assert entry.application is None and entry.detail == {"rows": 0}


def test_listing_and_reference_search_are_audited(
    bambang_api: APIClient, siti_app: PassportApplication,
) -> None:
    bambang_api.get("/api/v1/applications")
    bambang_api.get("/api/v1/applications", {"q": siti_app.reference})
    assert only_entry("application.list").detail == {"rows": 1}
    assert only_entry("application.search_reference").application == siti_app


def test_staff_opening_an_application_is_audited_the_applicant_is_not(
    api: APIClient, bambang_api: APIClient, submit: Submit, siti: dict[str, Any],
) -> None:
    submitted = submit(siti).json()
    url = f"/api/v1/applications/{submitted['reference']}"
    assert api.get(url, HTTP_X_ACCESS_CODE=submitted["access_code"]).status_code == 200
    assert not AuditEntry.objects.exists()

    assert bambang_api.get(url).status_code == 200
    assert only_entry("application.open").application.reference == submitted["reference"]


def test_refused_read_leaves_no_entry(
    dewi: User, siti_app: PassportApplication,
) -> None:
    assert client_for(dewi).get(f"/api/v1/applications/{siti_app.reference}").status_code == 404
    assert not AuditEntry.objects.exists()


def test_opening_the_dossier_page_is_audited(bambang: User,
                                             siti_app: PassportApplication) -> None:
    client = Client()
    client.force_login(bambang)
    assert client.get(f"/staff/applications/{siti_app.reference}/dossier").status_code == 200
    assert only_entry("dossier.open").application == siti_app


def test_downloading_a_dossier_file_is_audited(
    bambang_api: APIClient, bambang: User, siti_app: PassportApplication,
) -> None:
    stored = dossier_store(siti_app, "ktp", small_jpeg())
    url = f"/api/v1/applications/{siti_app.reference}/files/{stored.pk}/content"
    response = bambang_api.get(url)
    assert response.status_code == 200
    b"".join(response.streaming_content)

    entry = only_entry("dossier.download")
    assert entry.application == siti_app and entry.actor == bambang
    assert entry.detail == {"file": stored.pk, "kind": "ktp"}


def test_downloading_the_cash_report_is_audited(
    bambang_api: APIClient, bambang: User, siti_app: PassportApplication,
) -> None:
    complete_counter_steps(siti_app, bambang)
    assert bambang_api.get("/api/v1/offices/NNK/cash-report?format=csv").status_code == 200

    entry = only_entry("cash_report.download")
    assert entry.office_id == "NNK" and entry.application is None
    assert entry.detail["csv"] is True and entry.detail["payments"] == 1


def test_opening_the_counter_record_is_audited(
    bambang_api: APIClient, siti_app: PassportApplication,
) -> None:
    assert bambang_api.get(f"/api/v1/applications/{siti_app.reference}/counter").status_code \
        == 200
    assert only_entry("counter_record.open").application == siti_app


def test_correction_names_the_fields_never_the_values(
    bambang_api: APIClient, bambang: User, siti_app: PassportApplication,
) -> None:
    make_approvable(siti_app, bambang)
    bambang_api.post(f"/api/v1/applications/{siti_app.reference}/approve")
    with transaction.atomic():
        locked = PassportApplication.objects.select_for_update().get(pk=siti_app.pk)
        locked.needs_attention(reason="central refused the address", actor=Actor.CENTRAL)

    response = bambang_api.post(
        f"/api/v1/applications/{siti_app.reference}/resubmit",
        {"applicant": {"address": "Jl. Pelabuhan Baru No. 7, Nunukan", "phone": "081355550001"}},
        format="json")

    assert response.status_code == 200, response.content
    entry = only_entry("application.correct")
    assert entry.detail == {"fields": "address,phone", "data_version": 2}
    assert "Pelabuhan" not in json.dumps(entry.detail)


def test_a_failed_correction_leaves_no_entry(
    bambang_api: APIClient, siti_app: PassportApplication,
) -> None:
    response = bambang_api.post(f"/api/v1/applications/{siti_app.reference}/resubmit",
                                {"applicant": {"phone": "081355550001"}}, format="json")
    assert response.status_code == 409  # not in needs_attention
    assert not AuditEntry.objects.filter(action="application.correct").exists()
