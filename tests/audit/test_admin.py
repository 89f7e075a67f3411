"""The Django admin: personal data and history read-only, changes only through the domain,
applications with history never deleted, every admin change audited."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import ProtectedError
from django.test import Client

from immigration.audit.models import AuditEntry
from immigration.counter.models import ClosedDay
from immigration.lifecycle import Actor, Status
from immigration.models import Office, PassportApplication, StatusEvent, nik_blind_index
from tests.audit.conftest import new_application
from tests.conftest import applicant
from tests.fixtures.dossier import dossier_store, small_jpeg

pytestmark = pytest.mark.django_db

CHANGE = "/admin/immigration/passportapplication/{}/change/"


@pytest.fixture
def rina(db: Any) -> User:
    """Rina, the office's administrator (superuser)."""
    return User.objects.create_superuser("rina", "rina@example.invalid", "not-used")


@pytest.fixture
def console(rina: User) -> Client:
    client = Client()
    client.force_login(rina)
    return client


@pytest.fixture
def application(nunukan: Office) -> PassportApplication:
    return new_application(nunukan)


def _needs_attention(application: PassportApplication) -> None:
    with transaction.atomic():
        locked = PassportApplication.objects.select_for_update().get(pk=application.pk)
        locked.status = Status.QUEUED_FOR_PRINTING  # as if approved (readiness not needed here)
        locked.save(update_fields=["status"])
        locked.needs_attention(reason="central refused the name", actor=Actor.CENTRAL)


def test_personal_fields_cannot_be_edited_in_the_admin(
    console: Client, application: PassportApplication,
) -> None:
    before = application.applicant_data()
    page = console.get(CHANGE.format(application.pk))
    assert page.status_code == 200
    assert b'name="full_name"' not in page.content  # shown read-only, not as an input

    response = console.post(CHANGE.format(application.pk),
                            {**before, "full_name": "Nama Palsu", "office": "NNK"})

    assert response.status_code == 403
    application.refresh_from_db()
    assert application.applicant_data() == before and application.data_version == 1


def test_opening_an_application_in_the_admin_is_audited(
    console: Client, rina: User, application: PassportApplication,
) -> None:
    console.get(CHANGE.format(application.pk))
    entry = AuditEntry.objects.get(action="admin.view")
    assert (entry.actor, entry.application) == (rina, application)


def test_status_events_are_read_only_in_the_admin(
    console: Client, application: PassportApplication,
) -> None:
    page = console.get(CHANGE.format(application.pk)).content.decode()
    assert "events-0-note" not in page and "events-0-DELETE" not in page
    assert console.get("/admin/immigration/statusevent/").status_code == 404  # not registered


def test_applications_cannot_be_deleted_in_the_admin(
    console: Client, application: PassportApplication,
) -> None:
    url = f"/admin/immigration/passportapplication/{application.pk}/delete/"
    assert console.get(url).status_code == 403
    assert console.post(url, {"post": "yes"}).status_code == 403
    response = console.post("/admin/immigration/passportapplication/", {
        "action": "delete_selected", "_selected_action": [application.pk], "post": "yes"})
    assert response.status_code in (200, 302)
    assert PassportApplication.objects.filter(pk=application.pk).exists()
    assert StatusEvent.objects.filter(application=application).exists()


def test_an_application_with_history_is_protected_in_the_model(
    application: PassportApplication,
) -> None:
    with pytest.raises(ProtectedError):
        application.delete()
    assert StatusEvent.objects.filter(application=application).count() == 1


def test_users_with_history_cannot_be_deleted(
    bambang: User, application: PassportApplication,
) -> None:
    application.reject(by=bambang, reason="foto buram")
    with pytest.raises(ProtectedError):
        bambang.delete()


def test_audit_entries_are_read_only_in_the_admin(console: Client, bambang: User) -> None:
    from immigration.audit import audit_record

    audit_record(actor=bambang, action="dossier.open")
    entry = AuditEntry.objects.get()
    assert console.get("/admin/audit/auditentry/").status_code == 200
    assert console.post(f"/admin/audit/auditentry/{entry.pk}/change/",
                        {"action": "x.y"}).status_code == 403
    assert console.post(f"/admin/audit/auditentry/{entry.pk}/delete/",
                        {"post": "yes"}).status_code == 403
    assert AuditEntry.objects.filter(action="dossier.open").count() == 1


def test_dossier_files_cannot_be_deleted_in_the_admin(
    console: Client, application: PassportApplication,
) -> None:
    stored = dossier_store(application, "ktp", small_jpeg())
    assert console.post(f"/admin/dossier/dossierfile/{stored.pk}/delete/",
                        {"post": "yes"}).status_code == 403
    stored.refresh_from_db()


def test_correction_in_the_admin_goes_through_the_domain(
    console: Client, rina: User, application: PassportApplication,
) -> None:
    _needs_attention(application)
    url = f"/admin/immigration/passportapplication/{application.pk}/correct/"
    assert b"Correct the data" in console.get(CHANGE.format(application.pk)).content
    form = console.get(url)
    assert form.status_code == 200
    birth = dt.date.fromisoformat(application.date_of_birth)
    new_nik = applicant(date_of_birth=birth, sex=application.sex)["nik"]

    response = console.post(url, {**application.applicant_data(),
                                  "nik": new_nik, "full_name": "Siti Aminah Binti Umar"})

    assert response.status_code == 302, response.content
    application.refresh_from_db()
    assert application.full_name == "Siti Aminah Binti Umar"
    assert application.nik_index == nik_blind_index(new_nik)  # the blind index follows
    assert application.data_version == 2
    assert application.status == Status.QUEUED_FOR_PRINTING
    assert application.events.last().user == rina  # type: ignore[union-attr]
    correct = AuditEntry.objects.get(action="application.correct")
    assert correct.detail == {"fields": "full_name,nik", "data_version": 2}
    change = AuditEntry.objects.get(action="admin.change")
    assert change.detail == {"model": "immigration.passportapplication",
                             "object": str(application.pk), "flag": "change",
                             "fields": "full_name,nik"}
    assert new_nik not in str(change.detail) and new_nik not in str(correct.detail)


def test_invalid_correction_in_the_admin_changes_nothing(
    console: Client, application: PassportApplication,
) -> None:
    _needs_attention(application)
    url = f"/admin/immigration/passportapplication/{application.pk}/correct/"

    response = console.post(url, {**application.applicant_data(), "nik": "1234"})

    assert response.status_code == 200
    assert b"errornote" in response.content or b"errorlist" in response.content
    application.refresh_from_db()
    assert application.data_version == 1 and application.status == Status.NEEDS_ATTENTION
    assert not AuditEntry.objects.filter(action__in=["admin.change",
                                                     "application.correct"]).exists()


def test_correction_refused_unless_it_needs_attention(
    console: Client, application: PassportApplication,
) -> None:
    url = f"/admin/immigration/passportapplication/{application.pk}/correct/"
    response = console.post(url, {**application.applicant_data(), "full_name": "Nama Lain"})
    assert response.status_code == 200 and b"needs attention" in response.content
    application.refresh_from_db()
    assert application.full_name != "Nama Lain"


def test_admin_changes_are_audited(console: Client, rina: User, nunukan: Office) -> None:
    response = console.post(f"/admin/immigration/office/{nunukan.pk}/change/", {
        "code": "NNK", "name": nunukan.name, "registration_open": "", "express_open": "on",
        "pickup_open": "on", "service_note": "Tutup sementara",
        "timezone": getattr(nunukan, "timezone", "Asia/Makassar")})
    assert response.status_code == 302, response.content

    entry = AuditEntry.objects.get(action="admin.change")
    assert entry.actor == rina
    assert entry.detail == {"model": "immigration.office", "object": "NNK", "flag": "change",
                            "fields": "Registration open,Service note"}


def test_admin_bulk_deletion_is_audited_per_object(
    console: Client, nunukan: Office,
) -> None:
    days = [ClosedDay.objects.create(office=nunukan, date=dt.date(2030, 1, d), note="libur")
            for d in (1, 2, 3)]
    response = console.post("/admin/counter/closedday/", {
        "action": "delete_selected", "_selected_action": [d.pk for d in days], "post": "yes"})
    assert response.status_code == 302
    assert not ClosedDay.objects.exists()
    deleted = AuditEntry.objects.filter(action="admin.change", detail__flag="delete")
    assert sorted(e.detail["object"] for e in deleted) == sorted(str(d.pk) for d in days)


def test_admin_single_deletion_is_audited_once(console: Client, nunukan: Office) -> None:
    day = ClosedDay.objects.create(office=nunukan, date=dt.date(2030, 1, 1), note="libur")
    console.post("/admin/counter/closedday/", {
        "action": "delete_selected", "_selected_action": [day.pk], "post": "yes"})
    assert AuditEntry.objects.filter(action="admin.change", detail__flag="delete").count() == 1


def test_correction_needs_the_change_permission(application: PassportApplication) -> None:
    viewer = User.objects.create_user("wati", password="not-used", is_staff=True)
    client = Client()
    client.force_login(viewer)
    _needs_attention(application)
    url = f"/admin/immigration/passportapplication/{application.pk}/correct/"
    assert client.post(url, {**application.applicant_data(), "full_name": "X"}).status_code \
        == 403
    application.refresh_from_db()
    assert application.data_version == 1
