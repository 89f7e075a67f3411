"""Idempotency and the one-active-NIK rule under real concurrency, through a real server."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from django.db import connection

from immigration.models import PassportApplication
from tests.conftest import application_payload

pytestmark = pytest.mark.django_db(transaction=True)

PARALLEL = 16


def _fire(url: str, bodies_and_keys: list[tuple[dict, str]]) -> list[httpx.Response]:
    with httpx.Client(timeout=60) as client, ThreadPoolExecutor(PARALLEL) as pool:
        return list(pool.map(
            lambda bk: client.post(url, json=bk[0], headers={"Idempotency-Key": bk[1]}),
            bodies_and_keys,
        ))


def test_many_concurrent_submits_with_one_key_create_one_application(live_server, nunukan):
    payload, key = application_payload(), str(uuid.uuid4())
    responses = _fire(f"{live_server.url}/api/v1/applications", [(payload, key)] * PARALLEL)
    codes = [r.status_code for r in responses]
    assert set(codes) <= {201, 409}, codes
    created = [r for r in responses if r.status_code == 201]
    assert created, codes
    # Every 201 (the original and every replay) is the very same bytes.
    assert len({r.content for r in created}) == 1
    assert all(r.json()["error"] == "idempotency_key_in_flight"
               for r in responses if r.status_code == 409)
    assert PassportApplication.objects.count() == 1
    # After the dust settles, a replay returns the original byte for byte.
    again = httpx.post(f"{live_server.url}/api/v1/applications", json=payload,
                       headers={"Idempotency-Key": key})
    assert again.status_code == 201
    assert again.content == created[0].content
    assert again.headers["Idempotent-Replayed"] == "true"


def test_concurrent_submits_for_one_nik_with_different_keys_create_one(live_server, nunukan):
    payload = application_payload()
    batch = [(payload, str(uuid.uuid4())) for _ in range(PARALLEL)]
    responses = _fire(f"{live_server.url}/api/v1/applications", batch)
    codes = sorted(r.status_code for r in responses)
    assert codes.count(201) == 1, codes
    assert set(codes) == {201, 409}
    assert PassportApplication.objects.count() == 1


def test_database_down_gives_503_and_accepts_nothing(api, nunukan):
    payload = application_payload()
    original = dict(connection.settings_dict)
    connection.close()
    if connection.vendor == "postgresql":
        connection.settings_dict["PORT"] = 1  # nothing listens there: connection refused
    else:
        connection.settings_dict["NAME"] = "/nonexistent-dir/tangguh.sqlite3"
    try:
        response = api.post("/api/v1/applications", payload, format="json",
                            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    finally:
        connection.close()
        connection.settings_dict.clear()
        connection.settings_dict.update(original)
    assert response.status_code == 503
    assert response.json()["error"] == "database_unavailable"
    assert PassportApplication.objects.count() == 0
