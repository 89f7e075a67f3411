"""Approved applications reach central printing exactly once, against the real simulator, and
central's signed callbacks move them on to ready-for-pickup."""

from __future__ import annotations

import json
import time
import uuid

import httpx
import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from immigration import printing
from immigration.models import PassportApplication
from immigration.print_jobs import PRINT_JOB_TOPIC
from queueing import deliver
from queueing.models import OutboxMessage
from services.signing import sign_headers
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.fixtures.central import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _approved(submit, bambang_api, n=1, **overrides):
    references = []
    for _ in range(n):
        reference = submit(application_payload(**overrides)).json()["reference"]
        make_approvable(reference, User.objects.get(username="bambang"))
        assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200
        references.append(reference)
    return references


def _status(reference):
    return PassportApplication.objects.get(reference=reference).status


def test_approved_application_is_printed_once_and_reaches_pickup(wired, submit, bambang_api):
    (reference,) = _approved(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    assert _status(reference) == "sent_to_central"
    for _ in range(3):
        wired.control.advance()
    wait_until(lambda: _status(reference) == "ready_for_pickup")
    events = list(PassportApplication.objects.get(reference=reference)
                  .events.values_list("to_status", flat=True))
    assert events == ["received", "queued_for_printing", "sent_to_central", "printing",
                      "printed", "ready_for_pickup"]
    assert wired.control.stats()["print_counts"] == {f"{reference}:v1": 1}
    nik = PassportApplication.objects.get(reference=reference).nik
    handover = {"nik": nik, "recipient": "applicant"}
    response = bambang_api.post(f"/api/v1/applications/{reference}/collect", handover,
                                format="json")
    assert response.status_code == 200


def test_print_job_sent_to_central_carries_the_applicant_data(wired, submit, bambang_api):
    (reference,) = _approved(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    with wired.client() as client:
        job = client.get(f"{reference}:v1")
    assert job is not None
    assert job["reference"] == reference


def test_central_refusal_makes_a_dead_letter_and_needs_attention_then_resubmit_fixes_it(
    wired, submit, bambang_api
):
    (reference,) = _approved(submit, bambang_api)
    wired.control.configure(refuse_references=[reference])
    deliver.drain(budget_seconds=10)
    application = PassportApplication.objects.get(reference=reference)
    assert application.status == "needs_attention"
    assert "central refused" in application.attention_reason
    dead = bambang_api.get("/api/v1/queue/dead").json()["results"]
    assert [d["key"] for d in dead] == [f"{reference}:v1"]
    wired.control.configure(refuse_references=[])
    response = bambang_api.post(f"/api/v1/applications/{reference}/resubmit",
                                {"applicant": {"full_name": "Siti Aminah Binti Ahmad"}},
                                format="json")
    assert response.status_code == 200, response.content
    deliver.drain(budget_seconds=10)
    assert _status(reference) == "sent_to_central"
    assert wired.control.stats()["print_counts"] == {f"{reference}:v2": 1}


def test_dead_letter_retry_through_the_api(wired, submit, bambang_api):
    (reference,) = _approved(submit, bambang_api)
    wired.control.configure(refuse_references=[reference])
    deliver.drain(budget_seconds=10)
    dead_id = bambang_api.get("/api/v1/queue/dead").json()["results"][0]["id"]
    wired.control.configure(refuse_references=[])
    assert bambang_api.post(f"/api/v1/queue/dead/{dead_id}/retry").status_code == 200
    assert bambang_api.post(f"/api/v1/queue/dead/{dead_id}/retry").status_code == 409
    assert bambang_api.post("/api/v1/queue/dead/999999/retry").status_code == 404
    deliver.drain(budget_seconds=10)
    assert _status(reference) == "sent_to_central"


def test_dropped_response_is_resolved_by_key_not_by_a_second_print(wired, submit, bambang_api):
    references = _approved(submit, bambang_api, n=3)
    wired.control.configure(mode="drop")
    deliver.drain(budget_seconds=3)
    assert {_status(r) for r in references} == {"queued_for_printing"}
    assert OutboxMessage.objects.filter(outcome_unknown=True).count() == 3
    wired.control.configure(mode="up")
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    wait_until(lambda: deliver.drain(budget_seconds=2) and
               {_status(r) for r in references} == {"sent_to_central"}, timeout=15)
    stats = wired.control.stats()
    assert stats["printed_twice"] == []
    assert sorted(stats["print_counts"]) == sorted(f"{r}:v1" for r in references)


def test_after_a_dropped_response_the_next_pass_resolves_it_without_waiting_for_backoff(
    wired, submit, bambang_api, settings
):
    # Backoff far beyond the test: waiting it out would leave the applications queued.
    settings.QUEUEING = {**settings.QUEUEING, "BACKOFF_BASE_SECONDS": 600.0,
                         "BACKOFF_CAP_SECONDS": 600.0}
    # Print jobs without photo and signature (central takes those), so the job itself is the
    # first call central answers, and the one whose answer is dropped.
    settings.APPROVAL_CHECKS = "none"
    references = [submit(application_payload()).json()["reference"] for _ in range(2)]
    for reference in references:
        assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200
    wired.control.configure(mode="drop")  # central commits the jobs, the answer never comes
    deliver.deliver_batch(deliver.topics.get(PRINT_JOB_TOPIC))
    assert set(wired.control.stats()["print_counts"]) == {f"{r}:v1" for r in references}
    assert {_status(r) for r in references} == {"queued_for_printing"}
    assert OutboxMessage.objects.filter(outcome_unknown=True).count() == 2
    wired.control.configure(mode="up")
    deliver.drain(budget_seconds=10)
    assert {_status(r) for r in references} == {"sent_to_central"}
    stats = wired.control.stats()
    assert stats["printed_twice"] == []
    # Resolved by asking central for each key, not by sending the jobs again.
    assert stats["calls"]["by_path"].get("POST /v1/print-jobs/batch") == 1


def test_a_claim_larger_than_a_central_batch_goes_out_as_several_calls_at_once(
    wired, submit, bambang_api, settings, monkeypatch
):
    settings.APPROVAL_CHECKS = "none"  # jobs without blobs: only batch calls reach central
    monkeypatch.setattr(printing, "MAX_BATCH", 2)  # central's limit, made small
    references = [submit(application_payload()).json()["reference"] for _ in range(5)]
    for reference in references:
        assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200
    report = deliver.deliver_batch(deliver.topics.get(PRINT_JOB_TOPIC))
    assert report.delivered == 5
    assert {_status(r) for r in references} == {"sent_to_central"}
    stats = wired.control.stats()
    assert stats["calls"]["by_path"]["POST /v1/print-jobs/batch"] == 3
    assert sorted(stats["print_counts"]) == sorted(f"{r}:v1" for r in references)


def test_central_down_opens_the_breaker_and_the_board_says_so(
    wired, submit, bambang_api, api, settings
):
    settings.QUEUEING = {**settings.QUEUEING, "BREAKER_FAILURE_THRESHOLD": 2, "BATCH_SIZE": 5}
    references = _approved(submit, bambang_api, n=20)
    wired.control.configure(mode="down", retry_after=0.1)
    rounds = 0
    deadline = time.monotonic() + 3.0
    while time.monotonic() < deadline:
        # Make every message due again at once: the worst case for hammering central.
        OutboxMessage.objects.filter(status="pending").update(next_attempt_at=timezone.now())
        rounds += deliver.drain(budget_seconds=0.2).rounds
    board = api.get("/api/v1/offices/NNK/status").json()
    assert board["central"]["state"] == "down"
    assert board["services"]["printing"]["available"] is False
    assert board["backlog"]["waiting_for_central"] == 20
    # 2 failures open the breaker; then one probe per cooldown (0.3 s doubling to 1 s): a
    # handful of calls in 3 s, although the loop went round far more often than that.
    calls = wired.control.stats()["calls_while_down"]
    assert calls <= 2 + 6
    assert rounds > 3 * calls
    seen = api.get(f"/api/v1/applications/{references[-1]}",
                   HTTP_X_ACCESS_CODE="wrong").status_code
    assert seen == 404
    wired.control.configure(mode="up")
    wait_until(lambda: deliver.drain(budget_seconds=2) and
               {_status(r) for r in references} == {"sent_to_central"}, timeout=20)
    assert api.get("/api/v1/offices/NNK/status").json()["central"]["state"] in {"up",
                                                                              "recovering"}
    assert wired.control.stats()["printed_twice"] == []


def test_queue_position_is_shown_while_waiting(wired, submit, bambang_api, api):
    receipts = [submit(application_payload()).json() for _ in range(3)]
    for r in receipts:
        make_approvable(r['reference'], User.objects.get(username="bambang"))
        bambang_api.post(f"/api/v1/applications/{r['reference']}/approve")
    last = api.get(f"/api/v1/applications/{receipts[-1]['reference']}",
                   HTTP_X_ACCESS_CODE=receipts[-1]["access_code"]).json()
    assert last["queue"]["position"] == 3
    assert last["queue"]["central_state"] == "up"


# --- webhooks ----------------------------------------------------------------------------
def _callback(live_server, secret, payload, *, msg_id=None, timestamp=None, raw=None):
    body = raw if raw is not None else json.dumps(payload).encode()
    headers = sign_headers(secret, body, msg_id=msg_id or payload.get("event_id"))
    if timestamp is not None:
        headers["webhook-timestamp"] = str(timestamp)
    headers["content-type"] = "application/json"
    return httpx.post(f"{live_server.url}/api/v1/webhooks/printing", content=body,
                      headers=headers)


@pytest.fixture
def sent(wired, submit, bambang_api):
    (reference,) = _approved(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    return reference


def _event(reference, status="printing"):
    return {"event_id": str(uuid.uuid4()), "key": f"{reference}:v1", "job_id": "j",
            "status": status, "at": timezone.now().isoformat()}


def test_forged_callback_is_refused(live_server, sent):
    from services.signing import new_secret

    response = _callback(live_server, new_secret(), _event(sent))
    assert response.status_code == 401
    assert _status(sent) == "sent_to_central"


def test_stale_callback_is_refused(live_server, wired, sent):
    response = _callback(live_server, wired.secret, _event(sent),
                         timestamp=int(time.time()) - 400)
    assert response.status_code == 401
    assert _status(sent) == "sent_to_central"


def test_callback_tolerance_comes_from_settings(live_server, wired, sent, settings):
    # Correctly signed a minute ago: inside the default five minutes, outside a 30 s window.
    body = json.dumps(_event(sent)).encode()
    headers = {**sign_headers(wired.secret, body, timestamp=int(time.time()) - 60),
               "content-type": "application/json"}
    settings.WEBHOOK_TOLERANCE_SECONDS = 30
    response = httpx.post(f"{live_server.url}/api/v1/webhooks/printing", content=body,
                          headers=headers)
    assert response.status_code == 401
    assert _status(sent) == "sent_to_central"
    settings.WEBHOOK_TOLERANCE_SECONDS = 300
    response = httpx.post(f"{live_server.url}/api/v1/webhooks/printing", content=body,
                          headers=headers)
    assert response.status_code == 200
    assert _status(sent) == "printing"


def test_unsigned_callback_is_refused(live_server, sent):
    response = httpx.post(f"{live_server.url}/api/v1/webhooks/printing", json=_event(sent))
    assert response.status_code == 401


def test_replayed_callback_is_refused_and_changes_nothing(live_server, wired, sent):
    event = _event(sent)
    assert _callback(live_server, wired.secret, event).status_code == 200
    assert _status(sent) == "printing"
    PassportApplication.objects.filter(reference=sent).update(status="sent_to_central")
    assert _callback(live_server, wired.secret, event).status_code == 409
    assert _status(sent) == "sent_to_central"


def test_rejected_callback_needs_attention(live_server, wired, sent):
    event = {**_event(sent, "rejected"), "reason": "photo unusable"}
    assert _callback(live_server, wired.secret, event).status_code == 200
    application = PassportApplication.objects.get(reference=sent)
    assert application.status == "needs_attention"
    assert application.attention_reason == "photo unusable"


@pytest.mark.parametrize("raw", [b"{not json", b"[1,2]", b'{"key": 5, "status": "printing"}'])
def test_malformed_signed_callbacks_are_4xx(live_server, wired, sent, raw):
    response = _callback(live_server, wired.secret, {}, msg_id=str(uuid.uuid4()), raw=raw)
    assert 400 <= response.status_code < 500


def test_dead_letters_are_visible_only_to_their_office(wired, submit, bambang_api, dewi):
    from tests.conftest import client_for

    (reference,) = _approved(submit, bambang_api)
    wired.control.configure(refuse_references=[reference])
    deliver.drain(budget_seconds=10)
    dead_id = bambang_api.get("/api/v1/queue/dead").json()["results"][0]["id"]
    dewi_api = client_for(dewi)
    assert dewi_api.get("/api/v1/queue/dead").json()["count"] == 0
    assert dewi_api.post(f"/api/v1/queue/dead/{dead_id}/retry").status_code == 404
    assert OutboxMessage.objects.get(pk=dead_id).status == "dead"
