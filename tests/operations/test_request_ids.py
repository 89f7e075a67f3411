"""Request ids: accepted when sane, made otherwise, echoed, put on log records and on the Celery
tasks the request causes (the worker side is proven with real processes in
test_metrics_processes.py)."""

from __future__ import annotations

import logging
import re
import time

import pytest
from celery.signals import before_task_publish
from django.contrib.auth.models import User

from immigration.operations import request_ids
from queueing import kick
from tests.fixtures.approvable import make_approvable

pytestmark = pytest.mark.django_db(transaction=True)

MADE = re.compile(r"[0-9a-f]{32}")


def test_a_sane_incoming_id_is_kept_and_echoed(api):
    response = api.get("/healthz", HTTP_X_REQUEST_ID="lb-7f3a9c2e:001")
    assert response["X-Request-ID"] == "lb-7f3a9c2e:001"


@pytest.mark.parametrize("incoming", [
    None, "", "short", "has spaces in it", "x" * 65, "inject\nfake=line", "6504014101900001",
    "ref-081234567890",  # a phone number inside: never into the logs
])
def test_anything_else_gets_a_fresh_id(api, incoming):
    extra = {} if incoming is None else {"HTTP_X_REQUEST_ID": incoming}
    response = api.get("/healthz", **extra)
    assert MADE.fullmatch(response["X-Request-ID"])
    assert response["X-Request-ID"] != incoming


def test_every_response_gets_one_even_errors(api):
    assert MADE.fullmatch(api.get("/no/such/page")["X-Request-ID"])
    assert MADE.fullmatch(api.post("/api/v1/applications", {}, format="json")["X-Request-ID"])


def test_log_records_written_during_a_request_carry_its_id(api, caplog, submit, siti):
    caplog.set_level(logging.INFO)
    bad = {**siti, "applicant": {**siti["applicant"], "phone": "12"}}
    api.post("/api/v1/applications", bad, format="json", HTTP_IDEMPOTENCY_KEY="x" * 36,
             HTTP_X_REQUEST_ID="req-12345abcde")
    ours = [r for r in caplog.records if getattr(r, "request_id", None) == "req-12345abcde"]
    assert ours, [r.getMessage() for r in caplog.records]


def test_the_kick_a_request_causes_carries_its_id_into_the_task_headers(
    wired, submit, siti, bambang_api
):
    published: list[dict] = []

    def capture(sender=None, headers=None, **_):
        published.append({"task": sender, "request_id": (headers or {}).get(
            request_ids.TASK_HEADER)})

    before_task_publish.connect(capture, weak=False, dispatch_uid="test-capture")
    try:
        receipt = submit(siti).json()
        make_approvable(receipt["reference"], User.objects.get(username="bambang"))
        # Kicks are debounced across processes (one per 500 ms): let the ones the payment
        # caused pass, so the approval's kick is really published.
        kick.wait_for_kicks()
        time.sleep(kick.KICK_DEBOUNCE_MS / 1000 + 0.2)
        published.clear()
        response = bambang_api.post(f"/api/v1/applications/{receipt['reference']}/approve",
                                    HTTP_X_REQUEST_ID="approve-abcdef12")
        assert response.status_code == 200
        kick.wait_for_kicks()  # the publish runs on the kick thread, after the commit
    finally:
        before_task_publish.disconnect(dispatch_uid="test-capture")
    drains = [p for p in published if p["task"] == kick.DRAIN_TASK]
    assert drains, published
    assert drains[-1]["request_id"] == "approve-abcdef12"


def test_outside_a_request_nothing_is_added(wired):
    published: list[dict] = []

    def capture(sender=None, headers=None, **_):
        published.append(dict(headers or {}))

    before_task_publish.connect(capture, weak=False, dispatch_uid="test-capture-2")
    try:
        kick.kick()
        kick.wait_for_kicks()
    finally:
        before_task_publish.disconnect(dispatch_uid="test-capture-2")
    assert published and request_ids.TASK_HEADER not in published[-1]
