"""Pickup only when ready, with the KTP's NIK checked through the blind index and who handed it
to whom recorded; cancel by the applicant (access code) or staff (reason) frees the slot; the
board's switches gate registration, express and pickup for real."""

from __future__ import annotations

import pytest

from immigration.counter.models import Handover, QuotaSlot, Ticket
from immigration.models import PassportApplication
from tests.counter.conftest import ready_for_pickup, submit_with

pytestmark = pytest.mark.django_db


def _pickup(client, reference, **body):
    return client.post(f"/api/v1/applications/{reference}/pickup", body, format="json")


@pytest.fixture
def ready(api, bambang):
    submitted = submit_with(api).json()
    application = ready_for_pickup(submitted["reference"], bambang)
    return application


def test_handover_to_the_applicant_whose_ktp_matches(bambang_api, ready):
    response = _pickup(bambang_api, ready.reference, nik=ready.nik, recipient="applicant")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "collected"
    assert response.json()["handover"]["recipient"] == "applicant"
    assert response.json()["handover"]["by"] == "bambang"
    record = bambang_api.get(f"/api/v1/applications/{ready.reference}/counter").json()
    assert record["audit"][-1]["action"] == "handed_over"
    assert record["audit"][-1]["by"] == "bambang"


def test_a_different_nik_is_refused_and_nothing_is_recorded(bambang_api, ready):
    other = "6504014101900002" if ready.nik != "6504014101900002" else "6504014101900003"
    refused = _pickup(bambang_api, ready.reference, nik=other, recipient="applicant")
    assert (refused.status_code, refused.json()["error"]) == (409, "identity_mismatch")
    assert PassportApplication.objects.get(pk=ready.pk).status == "ready_for_pickup"
    assert not Handover.objects.exists()


def test_a_proxy_needs_name_id_and_letter_and_is_stored_encrypted(bambang_api, ready):
    missing = _pickup(bambang_api, ready.reference, nik=ready.nik, recipient="proxy",
                      proxy_name="Budi Santoso")
    assert missing.status_code == 400
    assert set(missing.json()["fields"]) == {"proxy_id_number", "letter_no"}
    done = _pickup(bambang_api, ready.reference, nik=ready.nik, recipient="proxy",
                   proxy_name="Budi Santoso", proxy_id_number="6504010101800001",
                   letter_no="SK/12/2026")
    assert done.status_code == 200 and done.json()["handover"]["letter_no"] == "SK/12/2026"
    assert Handover.objects.get().proxy_name == "Budi Santoso"
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT proxy_name FROM counter_handover")
        assert "Budi" not in cursor.fetchone()[0]


def test_only_ready_for_pickup_and_only_while_pickup_is_open(api, bambang_api, nunukan, ready):
    received = submit_with(api).json()["reference"]
    nik = PassportApplication.objects.get(reference=received).nik
    early = _pickup(bambang_api, received, nik=nik, recipient="applicant")
    assert (early.status_code, early.json()["error"]) == (409, "illegal_transition")
    nunukan.pickup_open = False
    nunukan.service_note = "Pengambilan ditutup: stok blangko habis."
    nunukan.save()
    closed = _pickup(bambang_api, ready.reference, nik=ready.nik, recipient="applicant")
    assert (closed.status_code, closed.json()["error"]) == (409, "service_unavailable")
    assert closed.json()["note"] == "Pengambilan ditutup: stok blangko habis."


def test_collect_is_the_same_checked_handover(bambang_api, ready):
    assert bambang_api.post(f"/api/v1/applications/{ready.reference}/collect").status_code == 400
    response = bambang_api.post(f"/api/v1/applications/{ready.reference}/collect",
                                {"nik": ready.nik, "recipient": "applicant"}, format="json")
    assert response.status_code == 200 and Handover.objects.count() == 1


def test_applicant_cancels_with_the_access_code_and_the_slot_is_freed(api, bambang_api,
                                                                     schedule, tomorrow):
    submitted = submit_with(api, appointment={"date": tomorrow.isoformat(),
                                              "slot": "09:00"}).json()
    bambang_api.post("/api/v1/offices/NNK/arrivals", {"reference": submitted["reference"]},
                     format="json")
    url = f"/api/v1/applications/{submitted['reference']}/cancel"
    assert api.post(url, {}, format="json").status_code == 404  # no code
    api.credentials(HTTP_X_ACCESS_CODE=submitted["access_code"])
    response = api.post(url, {}, format="json")
    assert response.status_code == 200 and response.json()["status"] == "cancelled"
    assert QuotaSlot.objects.get(date=tomorrow, hour=9, lane="regular").booked == 0
    assert Ticket.objects.get().state == "cancelled"
    assert api.post(url, {}, format="json").status_code == 409


def test_applicant_cannot_cancel_after_approval_but_staff_can_with_a_reason(api, bambang,
                                                                          bambang_api):
    submitted = submit_with(api).json()
    from tests.fixtures.approvable import make_approvable

    make_approvable(submitted["reference"], bambang)
    bambang_api.post(f"/api/v1/applications/{submitted['reference']}/approve")
    url = f"/api/v1/applications/{submitted['reference']}/cancel"
    api.credentials(HTTP_X_ACCESS_CODE=submitted["access_code"])
    refused = api.post(url, {}, format="json")
    assert (refused.status_code, refused.json()["error"]) == (409, "illegal_transition")
    assert bambang_api.post(url, {}, format="json").status_code == 400  # staff need a reason
    done = bambang_api.post(url, {"reason": "Pemohon meninggal dunia"}, format="json")
    assert done.status_code == 200 and done.json()["status"] == "cancelled"
    assert done.json()["timeline"][-1]["note"] == "Pemohon meninggal dunia"


def test_registration_switch_refuses_submissions_with_the_board_note(api, nunukan):
    nunukan.registration_open = False
    nunukan.service_note = "Pendaftaran dihentikan sementara."
    nunukan.save()
    refused = submit_with(api)
    assert (refused.status_code, refused.json()["error"]) == (409, "service_unavailable")
    assert refused.json()["note"] == "Pendaftaran dihentikan sementara."
    assert not PassportApplication.objects.exists()


def test_express_switch_refuses_express_only(api, nunukan):
    nunukan.express_open = False
    nunukan.save()
    assert submit_with(api, service="express").status_code == 409
    assert submit_with(api, service="regular").status_code == 201
