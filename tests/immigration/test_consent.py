"""Consent (UU PDP): the applicant agrees to a versioned text, and the version is kept."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from immigration import consent
from immigration.models import PassportApplication
from tests.conftest import application_payload, client_for

pytestmark = pytest.mark.django_db


def test_the_current_text_is_served_in_both_languages(api: APIClient) -> None:
    body = api.get("/api/v1/consent").json()
    assert body["version"] == consent.CURRENT.version
    assert set(body["text"]) == {"id", "en"} and set(body["title"]) == {"id", "en"}
    assert "Pelindungan Data Pribadi" in body["text"]["id"]
    assert "Personal Data Protection" in body["text"]["en"]


def test_the_version_agreed_to_is_stored_and_shown_to_staff(submit, siti, bambang) -> None:
    receipt = submit(siti).json()
    application = PassportApplication.objects.get(reference=receipt["reference"])
    assert application.consent_version == consent.CURRENT.version
    shown = client_for(bambang).get(f"/api/v1/applications/{receipt['reference']}").json()
    assert shown["consent_version"] == consent.CURRENT.version


@pytest.mark.parametrize("version", [None, "", "1999-01", 7])
def test_no_or_unknown_consent_version_is_refused_and_nothing_stored(submit, version) -> None:
    payload = application_payload()
    if version is None:
        del payload["consent_version"]
    else:
        payload["consent_version"] = version
    response = submit(payload)
    assert response.status_code == 400
    assert "consent_version" in response.json()["fields"]
    assert not PassportApplication.objects.exists()


def test_a_walk_in_records_the_consent_the_clerk_showed(bambang_api, nunukan) -> None:
    body = application_payload()
    body.pop("office")
    missing = {k: v for k, v in body.items() if k != "consent_version"}
    refused = bambang_api.post("/api/v1/walk-ins", missing, format="json",
                               HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert refused.status_code == 400 and "consent_version" in refused.json()["fields"]
    accepted = bambang_api.post("/api/v1/walk-ins", body, format="json",
                                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert accepted.status_code == 201, accepted.content
    application = PassportApplication.objects.get(reference=accepted.json()["reference"])
    assert application.consent_version == consent.CURRENT.version


def test_checking_the_consent_version_costs_no_query() -> None:
    # The accept path stays as cheap as it was: the versions are a table in code.
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from immigration.api.serializers import ApplicationInput

    for version in (consent.CURRENT.version, "1999-01"):
        form = ApplicationInput(data={**application_payload(), "consent_version": version})
        with CaptureQueriesContext(connection) as queries:
            form.is_valid()
        assert len(queries) == 0
        assert ("consent_version" in form.errors) == (version == "1999-01")
