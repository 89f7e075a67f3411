"""Anonymous submissions are limited per client and per NIK (its blind index, never the NIK in
Redis); retries of one submission count once; uploads are limited per client."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
import redis
from django.conf import settings as django_settings
from rest_framework.test import APIClient

from tests.conftest import application_payload, client_for


def _submit(client: APIClient, payload: dict[str, Any], key: str | None = None) -> Any:
    return client.post("/api/v1/applications", payload, format="json",
                       HTTP_IDEMPOTENCY_KEY=key or str(uuid.uuid4()))


def _all_redis_text() -> str:
    client = redis.Redis.from_url(django_settings.REDIS_URL)
    try:
        return " ".join(k.decode() for k in client.keys("*"))
    finally:
        client.close()


def test_one_client_may_submit_only_so_many(nunukan, throttle_rates):
    throttle_rates(submit_client="3/min")
    phone = APIClient(REMOTE_ADDR="203.0.113.40")
    codes = [_submit(phone, application_payload()).status_code for _ in range(4)]
    assert codes == [201, 201, 201, 429]
    refused = _submit(phone, application_payload())
    assert refused.json()["error"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    # Another phone is not held up.
    assert _submit(APIClient(REMOTE_ADDR="203.0.113.41"), application_payload()).status_code \
        == 201


def test_retries_of_one_submission_count_once(nunukan, throttle_rates):
    """A flaky phone resends the same submission (same Idempotency-Key) and gets its replay."""
    throttle_rates(submit_client="2/min")
    phone = APIClient(REMOTE_ADDR="203.0.113.42")
    payload, key = application_payload(), str(uuid.uuid4())
    assert [_submit(phone, payload, key).status_code for _ in range(5)] == [201] * 5
    assert _submit(phone, application_payload()).status_code == 201
    assert _submit(phone, application_payload()).status_code == 429


def test_one_nik_may_be_submitted_only_so_often_from_any_client(nunukan, throttle_rates):
    throttle_rates(submit_nik="2/min")
    payload = application_payload()
    nik = payload["applicant"]["nik"]
    codes = [_submit(APIClient(REMOTE_ADDR=f"203.0.113.{50 + n}"), payload).status_code
             for n in range(3)]
    # The second is refused for the one-active-application rule; the third by the limit.
    assert codes == [201, 409, 429]
    assert nik not in _all_redis_text()


def test_staff_walk_ins_are_not_limited_as_anonymous_submissions(nunukan, bambang,
                                                                 throttle_rates):
    throttle_rates(submit_client="1/min", submit_nik="1/min")
    staff = client_for(bambang)
    assert [_submit(staff, application_payload()).status_code for _ in range(3)] == [201] * 3


def test_tus_upload_creations_are_limited_per_client(nunukan, submit, throttle_rates):
    throttle_rates(upload_create="2/min")
    receipt = submit().json()
    from tests.dossier.tus import metadata

    phone = APIClient(REMOTE_ADDR="203.0.113.60")
    headers = {"HTTP_TUS_RESUMABLE": "1.0.0", "HTTP_UPLOAD_LENGTH": "100",
               "HTTP_X_ACCESS_CODE": receipt["access_code"],
               "HTTP_UPLOAD_METADATA": metadata(reference=receipt["reference"], kind="ktp",
                                                sha256="0" * 64)}
    codes = [phone.post("/api/v1/uploads/", **headers).status_code for _ in range(3)]
    assert codes[:2] == [201, 201] and codes[2] == 429


@pytest.mark.parametrize("operation", ["applications_submit", "applications_status",
                                       "auth_token_obtain"])
def test_the_schema_documents_the_refusals(api, operation):
    import yaml

    schema = yaml.safe_load(api.get("/api/schema/").content)
    operations = {op["operationId"]: op for path in schema["paths"].values()
                  for op in path.values() if isinstance(op, dict) and "operationId" in op}
    assert "429" in operations[operation]["responses"]
