"""Verification and approval: the interview note, and where the office asks for it a second
person (group `supervisor`) signing off; who did what is on the record."""

from __future__ import annotations

import pytest

from immigration.counter.fees import payment_record
from immigration.models import PassportApplication
from tests.counter.conftest import submit_with
from tests.fixtures.dossier import complete_dossier

pytestmark = pytest.mark.django_db


def _interview(client, reference, note="Wawancara: tujuan umrah.", seen=True):
    return client.post(f"/api/v1/applications/{reference}/interview",
                       {"note": note, "originals_seen": seen}, format="json")


def _blockers(client, reference):
    response = client.post(f"/api/v1/applications/{reference}/approve")
    return [b["code"] for b in response.json().get("blockers", [])], response.status_code


@pytest.fixture
def paid(api, bambang):
    """Siti's application with a checked dossier and the fee paid; no interview yet."""
    reference = submit_with(api).json()["reference"]
    application = PassportApplication.objects.get(reference=reference)
    complete_dossier(application, bambang)
    payment_record(application=application, clerk=bambang, method="cash", receipt_no="KW/5")
    return reference


def test_approval_needs_the_interview_with_originals_seen(bambang_api, paid):
    assert _blockers(bambang_api, paid) == (["interview_missing"], 409)
    assert _interview(bambang_api, paid, seen=False).status_code == 201
    assert _blockers(bambang_api, paid) == (["interview_missing"], 409)
    assert _interview(bambang_api, paid).json()["by"] == "bambang"
    assert _blockers(bambang_api, paid) == ([], 200)


def test_supervisor_sign_off_when_the_office_requires_it(bambang_api, sari_api, schedule, paid):
    schedule.requires_signoff = True
    schedule.save()
    _interview(bambang_api, paid)
    assert _blockers(bambang_api, paid) == (["signoff_missing"], 409)
    url = f"/api/v1/applications/{paid}/signoff"
    assert bambang_api.post(url, {}, format="json").status_code == 403  # not a supervisor
    listed = sari_api.get("/api/v1/offices/NNK/signoffs").json()["results"]
    assert [r["reference"] for r in listed] == [paid]
    assert listed[0]["paid"] is True and listed[0]["blockers"][0]["code"] == "signoff_missing"
    signed = sari_api.post(url, {"note": "OK"}, format="json")
    assert signed.status_code == 201 and signed.json()["by"] == "sari-nnk"
    assert sari_api.post(url, {}, format="json").status_code == 200  # repeat
    assert sari_api.get("/api/v1/offices/NNK/signoffs").json()["results"] == []
    assert _blockers(bambang_api, paid) == ([], 200)
    audit = bambang_api.get(f"/api/v1/applications/{paid}/counter").json()["audit"]
    assert [(e["action"], e["by"]) for e in audit if e["action"] in ("interview", "signoff")] == [
        ("interview", "bambang"), ("signoff", "sari-nnk")]
    events = PassportApplication.objects.get(reference=paid).events.values_list(
        "to_status", "user__username")
    assert ("queued_for_printing", "bambang") in list(events)


def test_the_interviewer_cannot_sign_off_their_own_interview(sari_api, schedule, paid):
    schedule.requires_signoff = True
    schedule.save()
    _interview(sari_api, paid)
    refused = sari_api.post(f"/api/v1/applications/{paid}/signoff", {}, format="json")
    assert (refused.status_code, refused.json()["error"]) == (409, "same_person")


def test_counter_record_sums_up_what_is_missing(bambang_api, api):
    reference = submit_with(api).json()["reference"]
    record = bambang_api.get(f"/api/v1/applications/{reference}/counter").json()
    assert record["readiness"]["ready"] is False
    codes = {b["code"] for b in record["readiness"]["blockers"]}
    assert {"interview_missing", "payment_missing"} <= codes
    assert record["fee"]["paid"] is False and record["interview"] is None
    assert api.get(f"/api/v1/applications/{reference}/counter").status_code in (401, 403)


def test_interview_notes_are_encrypted_at_rest(bambang_api, paid):
    _interview(bambang_api, paid, note="Pemohon bekerja di Tawau, Malaysia.")
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT note FROM counter_interview")
        assert "Tawau" not in cursor.fetchone()[0]
    record = bambang_api.get(f"/api/v1/applications/{paid}/counter").json()
    assert record["interview"]["note"] == "Pemohon bekerja di Tawau, Malaysia."
