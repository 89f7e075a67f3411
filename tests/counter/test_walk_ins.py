"""Walk-ins: a clerk enters the application for someone without a phone, under the same rules
and the same Idempotency-Key protocol; the access code is shown once and not cached."""

from __future__ import annotations

import uuid

import pytest

from immigration.models import PassportApplication
from tests.conftest import application_payload
from tests.counter.conftest import counter_applicant

pytestmark = pytest.mark.django_db


def _walk_in(client, key=None, **overrides):
    overrides["applicant"] = counter_applicant(**overrides.get("applicant", {}))
    body = application_payload(**overrides)
    body.pop("office")
    return client.post("/api/v1/walk-ins", body, format="json",
                       HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4())), body


def test_clerk_enters_a_walk_in_for_their_office_and_checks_them_in(bambang_api, schedule):
    response, _ = _walk_in(bambang_api, check_in=True)
    assert response.status_code == 201, response.content
    assert response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["reference"].startswith("NNK-") and body["access_code"]
    assert body["ticket"]["number"] == "A-001"
    application = PassportApplication.objects.get(reference=body["reference"])
    first = application.events.get()
    assert (first.actor, first.user.username) == ("staff", "bambang")


def test_walk_ins_replay_and_refuse_a_reused_key(bambang_api, schedule):
    key = str(uuid.uuid4())
    first, body = _walk_in(bambang_api, key=key)
    again = bambang_api.post("/api/v1/walk-ins", body, format="json", HTTP_IDEMPOTENCY_KEY=key)
    assert again.content == first.content and again["Idempotent-Replayed"] == "true"
    other = bambang_api.post("/api/v1/walk-ins", {**body, "service": "express"}, format="json",
                             HTTP_IDEMPOTENCY_KEY=key)
    assert other.status_code == 422
    assert PassportApplication.objects.count() == 1


def test_walk_ins_keep_the_rules(bambang_api, schedule):
    no_key = bambang_api.post("/api/v1/walk-ins", {}, format="json")
    assert no_key.status_code == 400
    bad, _ = _walk_in(bambang_api, applicant={"nik": "123"})  # NIK rules apply as on phones
    assert bad.status_code == 400 and "applicant.nik" in bad.json()["fields"]
    _first, body = _walk_in(bambang_api)
    same_nik = bambang_api.post("/api/v1/walk-ins", body, format="json",
                                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert (same_nik.status_code, same_nik.json()["error"]) == (409, "active_application_exists")


def test_only_staff_enter_walk_ins(api, schedule):
    response, _ = _walk_in(api)
    assert response.status_code in (401, 403)
