"""POST /api/v1/applications: acceptance, Idempotency-Key semantics, and refusals."""

from __future__ import annotations

import json
import uuid

import pytest

from immigration.models import IdempotencyRecord, PassportApplication, StatusEvent
from tests.conftest import application_payload

pytestmark = pytest.mark.django_db


def test_submit_returns_reference_and_access_code(submit, siti):
    response = submit(siti)
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"reference", "access_code", "status", "status_label", "submitted_at"}
    assert body["status"] == "received"
    assert body["status_label"].startswith("Diterima")
    assert body["reference"].startswith("NNK-")
    application = PassportApplication.objects.get(reference=body["reference"])
    assert application.full_name == "Siti Aminah"
    assert application.access_code_matches(body["access_code"])
    assert list(application.events.values_list("to_status", flat=True)) == ["received"]
    assert response["Cache-Control"] == "no-store"


def test_replay_with_same_key_returns_original_byte_for_byte(submit, siti):
    key = str(uuid.uuid4())
    first = submit(siti, key=key)
    again = submit(siti, key=key)
    assert again.status_code == first.status_code == 201
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert PassportApplication.objects.count() == 1


def test_replay_ignores_key_order_and_whitespace(api, nunukan, siti):
    key = str(uuid.uuid4())
    first = api.post("/api/v1/applications", siti, format="json", HTTP_IDEMPOTENCY_KEY=key)
    reordered = json.dumps(dict(reversed(list(siti.items()))), indent=4)
    again = api.post("/api/v1/applications", reordered, content_type="application/json",
                     HTTP_IDEMPOTENCY_KEY=key)
    assert again.status_code == 201
    assert again.content == first.content


def test_same_key_with_a_different_body_is_422_and_changes_nothing(submit, siti):
    key = str(uuid.uuid4())
    submit(siti, key=key)
    other = application_payload()
    response = submit(other, key=key)
    assert response.status_code == 422
    assert response.json()["error"] == "idempotency_key_reused"
    assert PassportApplication.objects.count() == 1


@pytest.mark.parametrize("header", [None, "", "not-a-uuid"])
def test_missing_or_malformed_idempotency_key_is_400(api, nunukan, siti, header):
    extra = {} if header is None else {"HTTP_IDEMPOTENCY_KEY": header}
    response = api.post("/api/v1/applications", siti, format="json", **extra)
    assert response.status_code == 400
    assert response.json()["error"].startswith("idempotency_key")
    assert PassportApplication.objects.count() == 0


def test_second_active_application_for_same_nik_is_409_without_reference(submit, siti):
    first = submit(siti).json()
    response = submit(siti)  # new key, same person
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "active_application_exists"
    assert first["reference"] not in response.content.decode()
    assert PassportApplication.objects.count() == 1


def test_nik_is_free_again_after_rejection(submit, siti, bambang):
    first = submit(siti).json()
    application = PassportApplication.objects.get(reference=first["reference"])
    application.reject(by=bambang, reason="photo does not match")
    assert submit(siti).status_code == 201


def test_replay_record_stores_the_access_code_encrypted(submit, siti):
    from django.db import connection

    body = submit(siti).json()
    with connection.cursor() as cursor:
        cursor.execute("SELECT response_body FROM immigration_idempotencyrecord")
        (stored,) = cursor.fetchone()
        cursor.execute("SELECT nik, full_name FROM immigration_passportapplication")
        nik_stored, name_stored = cursor.fetchone()
    assert body["access_code"] not in stored
    assert siti["applicant"]["nik"] not in nik_stored
    assert "Siti" not in name_stored
    assert IdempotencyRecord.objects.get().response_body.find(body["access_code"]) > 0


def test_expired_replay_record_is_purged(submit, siti):
    import datetime as dt

    from django.utils import timezone

    from immigration.intake import purge_expired_replays

    submit(siti)
    IdempotencyRecord.objects.update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert purge_expired_replays() == 1
    assert IdempotencyRecord.objects.count() == 0


def test_malformed_json_is_400(api, nunukan):
    response = api.post("/api/v1/applications", "{bad", content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 400
    assert response.json()["error"] == "parse_error"


@pytest.mark.parametrize("body", ["[]", "42", '"text"', "null"])
def test_json_that_is_not_an_object_is_400(api, nunukan, body):
    response = api.post("/api/v1/applications", body, content_type="application/json",
                        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 400
    assert PassportApplication.objects.count() == 0


def test_oversized_body_is_413(api, nunukan, siti):
    siti["applicant"]["address"] = "x" * 100_000
    response = api.post("/api/v1/applications", siti, format="json",
                        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 413
    assert response.json()["error"] == "too_large"


def test_unknown_fields_are_refused(submit):
    payload = application_payload()
    payload["emial"] = "typo@example.com"
    payload["applicant"]["hobby"] = "fishing"
    response = submit(payload)
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert "emial" in fields
    assert PassportApplication.objects.count() == 0


def test_wrong_types_are_400_per_field(submit):
    payload = application_payload()
    payload["applicant"]["full_name"] = 12345
    payload["applicant"]["date_of_birth"] = 19900101
    payload["service"] = ["regular"]
    response = submit(payload)
    assert response.status_code == 400
    fields = response.json()["fields"]
    assert {"applicant.full_name", "applicant.date_of_birth", "service"} <= set(fields)


def test_unknown_office_is_400(submit):
    response = submit(application_payload(office="XXX"))
    assert response.status_code == 400
    assert "office" in response.json()["fields"]


def test_express_refused_when_office_closed_it(submit, nunukan):
    nunukan.express_open = False
    nunukan.save()
    response = submit(application_payload(service="express"))
    assert response.status_code == 409
    assert response.json()["error"] == "service_unavailable"


def test_nothing_is_written_for_invalid_input(submit):
    payload = application_payload()
    payload["applicant"]["nik"] = "123"
    assert submit(payload).status_code == 400
    assert PassportApplication.objects.count() == 0
    assert StatusEvent.objects.count() == 0
    assert IdempotencyRecord.objects.count() == 0
