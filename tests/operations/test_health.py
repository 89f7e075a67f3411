"""/healthz and /readyz: no auth, nothing personal, bounded, and central down is still ready."""

from __future__ import annotations

import time

import pytest
from django.db import connection

from queueing import redis_state
from tests.operations.outage import database_unreachable

pytestmark = pytest.mark.django_db(transaction=True)


def test_healthz_answers_without_touching_anything(api, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = api.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_readyz_is_ready_when_database_and_redis_answer(api):
    response = api.get("/readyz")
    assert response.status_code == 200
    body = response.json()
    assert body["status"] == "ready"
    assert body["checks"] == {"database": "ok", "redis": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_central_down_does_not_make_the_office_unready(api, wired):
    wired.control.configure(mode="down")
    from queueing import deliver
    from queueing.models import UpstreamHealth

    UpstreamHealth.objects.create(upstream="central_printing", state="down")
    deliver.drain(budget_seconds=0.5)
    response = api.get("/readyz")
    assert response.status_code == 200
    assert response.json()["status"] == "ready"


def test_readyz_is_unavailable_when_redis_is_gone_and_answers_quickly(api, settings):
    settings.QUEUEING = {**settings.QUEUEING, "REDIS_URL": "redis://127.0.0.1:1/0"}
    redis_state.reset()
    try:
        started = time.monotonic()
        response = api.get("/readyz")
        took = time.monotonic() - started
    finally:
        redis_state.reset()
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "ok", "redis": "unavailable"}
    assert took < 5  # bounded by the 1 s connect timeout, not hung


def test_readyz_is_unavailable_when_the_database_is_gone(api):
    with database_unreachable():
        response = api.get("/readyz")
    assert response.status_code == 503
    assert response.json()["checks"] == {"database": "unavailable", "redis": "ok"}
    assert connection.cursor()  # and the connection recovers for the next request


def test_health_endpoints_refuse_writes(api):
    assert api.post("/healthz").status_code == 405
    assert api.post("/readyz").status_code == 405
