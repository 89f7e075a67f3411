"""Wrong access codes for one reference lock its lookups for a while, whoever guesses, and the
lock answers the same for a right code, a wrong code and a reference that does not exist."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.conftest import client_for
from tests.dossier.tus import metadata

LIMIT = 3
UNKNOWN = "NNK-0000-0000"  # well formed, never issued


@pytest.fixture
def lock_settings(settings: Any) -> None:
    settings.ACCESS_CODE_FAILURE_LIMIT = LIMIT
    settings.ACCESS_CODE_LOCK_SECONDS = 600


@pytest.fixture
def receipt(submit: Any, siti: dict[str, Any]) -> dict[str, Any]:
    return submit(siti).json()


def _look(reference: str, code: str, client_no: int) -> Any:
    # Each guess from another client: the per-client throttle is not what stops them.
    return APIClient(REMOTE_ADDR=f"203.0.113.{client_no}").get(
        f"/api/v1/applications/{reference}", HTTP_X_ACCESS_CODE=code)


def test_wrong_codes_from_many_clients_lock_the_reference(receipt, lock_settings):
    reference = receipt["reference"]
    for n in range(LIMIT):
        assert _look(reference, "WRONG-CODE", n).status_code == 404
    locked = _look(reference, receipt["access_code"], 99)  # even the right code
    assert locked.status_code == 429
    assert locked.json()["error"] == "reference_locked"
    assert 0 < int(locked["Retry-After"]) <= 600
    assert _look(reference, "WRONG-CODE", 98).json() == locked.json()


def test_an_unknown_reference_answers_exactly_like_a_real_one(receipt, lock_settings):
    real, unknown = receipt["reference"], UNKNOWN
    before = [(_look(ref, "WRONG-CODE", n).status_code, _look(ref, "WRONG-CODE", n).json())
              for ref in (real, unknown) for n in [1]]
    assert before[0] == before[1]
    for n in range(LIMIT):
        _look(real, "WRONG-CODE", 10 + n)
        _look(unknown, "WRONG-CODE", 20 + n)
    after_real, after_unknown = _look(real, "X", 30), _look(unknown, "X", 31)
    assert after_real.status_code == after_unknown.status_code == 429
    assert after_real.json() == after_unknown.json()
    assert after_real["Retry-After"] == after_unknown["Retry-After"]


def test_staff_see_the_lock_and_are_not_locked_out(receipt, lock_settings, bambang):
    reference = receipt["reference"]
    staff = client_for(bambang)
    assert staff.get(f"/api/v1/applications/{reference}").json()["lookups_locked_until"] is None
    for n in range(LIMIT):
        _look(reference, "WRONG-CODE", n)
    detail = staff.get(f"/api/v1/applications/{reference}")
    assert detail.status_code == 200
    assert detail.json()["lookups_locked_until"] is not None
    row = staff.get("/api/v1/applications").json()["results"][0]
    assert row["reference"] == reference and row["lookups_locked_until"] is not None


def test_right_codes_do_not_count(receipt, lock_settings):
    for n in range(LIMIT + 2):
        assert _look(receipt["reference"], receipt["access_code"], n).status_code == 200


def test_upload_creation_counts_wrong_codes_and_obeys_the_lock(receipt, lock_settings):
    reference = receipt["reference"]
    headers = {"HTTP_TUS_RESUMABLE": "1.0.0", "HTTP_UPLOAD_LENGTH": "100",
               "HTTP_UPLOAD_METADATA": metadata(reference=reference, kind="ktp",
                                                sha256="0" * 64)}
    for n in range(LIMIT):
        response = APIClient(REMOTE_ADDR=f"203.0.113.{n}").post(
            "/api/v1/uploads/", HTTP_X_ACCESS_CODE="WRONG-CODE", **headers)
        assert response.status_code == 404
    assert _look(reference, receipt["access_code"], 50).status_code == 429
    right = APIClient(REMOTE_ADDR="203.0.113.51").post(
        "/api/v1/uploads/", HTTP_X_ACCESS_CODE=receipt["access_code"], **headers)
    assert right.status_code == 429
    assert right.json()["error"] == "reference_locked"
