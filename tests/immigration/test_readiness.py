"""Approval waits for every registered readiness check (documents, fees, sign-off)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from django.contrib.auth.models import User
from rest_framework.test import APIClient

from immigration import consent, readiness
from immigration.lifecycle import Status
from immigration.models import PassportApplication
from tests.conftest import applicant
from tests.fixtures.approvable import make_approvable


@pytest.fixture
def photo_missing_check() -> Iterator[None]:
    def check(application: PassportApplication) -> list[readiness.Blocker]:
        return [readiness.Blocker("photo_missing", "no photo yet")]

    readiness.register("test_photo", check)
    yield
    readiness._checks.pop("test_photo")


def _submit(api: APIClient) -> str:
    import uuid

    body = {"office": "NNK", "service": "regular", "passport_type": "electronic",
            "application_type": "new", "applicant": applicant(),
            "consent_version": consent.CURRENT.version}
    response = api.post("/api/v1/applications", body, format="json",
                        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.content
    return str(response.json()["reference"])


def test_approve_is_refused_with_each_blocker_and_changes_nothing(
    api: APIClient, bambang: User, bambang_api: APIClient, photo_missing_check: None
) -> None:
    reference = _submit(api)
    make_approvable(reference, bambang)  # the real checks pass: only the test's check blocks
    response = bambang_api.post(f"/api/v1/applications/{reference}/approve")
    assert response.status_code == 409
    body = response.json()
    assert body["error"] == "not_ready"
    assert body["blockers"] == [{"code": "photo_missing", "detail": "no photo yet"}]
    application = PassportApplication.objects.get(reference=reference)
    assert application.status == Status.RECEIVED
    assert application.events.count() == 1


def test_a_check_turned_off_in_settings_does_not_block(
    api: APIClient, bambang: User, bambang_api: APIClient, photo_missing_check: None,
    settings: object,
) -> None:
    settings.APPROVAL_CHECKS = "some_other_check"  # type: ignore[attr-defined]
    reference = _submit(api)
    response = bambang_api.post(f"/api/v1/applications/{reference}/approve")
    assert response.status_code == 200
    assert response.json()["status"] == Status.QUEUED_FOR_PRINTING
