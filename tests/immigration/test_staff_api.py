"""Counter staff actions: approve (enqueues the print job in the same transaction), reject,
collect, resubmit, list; and that applicants and outsiders cannot use them."""

from __future__ import annotations

import pytest

from immigration.models import PRINT_JOB_TOPIC, PassportApplication
from queueing.models import OutboxMessage
from tests.conftest import application_payload, client_for, otp_device, totp_code
from tests.fixtures.approvable import make_approvable

pytestmark = pytest.mark.django_db


@pytest.fixture
def received(submit, siti):
    return submit(siti).json()


def _post(client, reference, action, body=None):
    return client.post(f"/api/v1/applications/{reference}/{action}", body or {}, format="json")


def test_approve_queues_the_print_job_in_the_same_transaction(bambang_api, bambang, received):
    make_approvable(received["reference"], bambang)
    response = _post(bambang_api, received["reference"], "approve")
    assert response.status_code == 200
    assert response.json()["status"] == "queued_for_printing"
    message = OutboxMessage.objects.get(topic=PRINT_JOB_TOPIC)
    application = PassportApplication.objects.get(reference=received["reference"])
    assert message.key == f"{received['reference']}:v1"
    assert message.payload == {"application_id": application.pk, "data_version": 1}
    assert message.status == "pending"


def test_approve_twice_is_a_no_op(bambang_api, bambang, received):
    make_approvable(received["reference"], bambang)
    _post(bambang_api, received["reference"], "approve")
    again = _post(bambang_api, received["reference"], "approve")
    assert again.status_code == 200
    assert OutboxMessage.objects.filter(topic=PRINT_JOB_TOPIC).count() == 1
    application = PassportApplication.objects.get(reference=received["reference"])
    assert application.events.filter(to_status="queued_for_printing").count() == 1


def test_express_jobs_get_priority(bambang_api, bambang, submit):
    reference = submit(application_payload(service="express")).json()["reference"]
    make_approvable(reference, bambang)
    _post(bambang_api, reference, "approve")
    assert OutboxMessage.objects.get(topic=PRINT_JOB_TOPIC).priority == 1


def test_reject_needs_a_reason_and_records_it(bambang_api, received, api):
    assert _post(bambang_api, received["reference"], "reject").status_code == 400
    response = _post(bambang_api, received["reference"], "reject", {"reason": "Foto tidak sesuai"})
    assert response.status_code == 200
    assert response.json()["status"] == "rejected"
    seen_by_applicant = api.get(f"/api/v1/applications/{received['reference']}",
                                HTTP_X_ACCESS_CODE=received["access_code"]).json()
    assert seen_by_applicant["timeline"][-1]["note"] == "Foto tidak sesuai"


@pytest.mark.parametrize("action", ["collect", "resubmit"])
def test_illegal_transitions_are_409(bambang_api, received, action):
    nik = PassportApplication.objects.get().nik
    body = {"nik": nik, "recipient": "applicant"} if action == "collect" else None
    response = _post(bambang_api, received["reference"], action, body)
    assert response.status_code == 409
    assert response.json()["error"] == "illegal_transition"
    assert PassportApplication.objects.get().status == "received"


def test_cannot_approve_a_rejected_application(bambang_api, received):
    _post(bambang_api, received["reference"], "reject", {"reason": "duplikat"})
    response = _post(bambang_api, received["reference"], "approve")
    assert response.status_code == 409
    assert OutboxMessage.objects.filter(topic=PRINT_JOB_TOPIC).count() == 0


def test_applicants_cannot_use_staff_endpoints(api, received):
    for action in ["approve", "collect"]:
        assert _post(api, received["reference"], action).status_code in (401, 403)
    api.credentials(HTTP_X_ACCESS_CODE=received["access_code"])
    assert _post(api, received["reference"], "approve").status_code in (401, 403)
    assert api.get("/api/v1/applications").status_code in (401, 403)
    assert api.get("/api/v1/queue").status_code in (401, 403)
    assert PassportApplication.objects.get().status == "received"


def test_logged_in_non_staff_are_refused(joko, received):
    client = client_for(joko)
    assert _post(client, received["reference"], "approve").status_code == 403
    assert client.get("/api/v1/applications").status_code == 403


def test_staff_of_another_office_cannot_act(dewi, received):
    response = _post(client_for(dewi), received["reference"], "approve")
    assert response.status_code == 404
    assert OutboxMessage.objects.filter(topic=PRINT_JOB_TOPIC).count() == 0


def test_list_filters_by_status_service_and_nik(bambang_api, submit, siti, dewi, tanjung_perak):
    submit(siti)
    express = submit(application_payload(service="express")).json()
    submit(application_payload(office="TPK"))
    listing = bambang_api.get("/api/v1/applications").json()
    assert listing["count"] == 2  # only Nunukan's
    by_service = bambang_api.get("/api/v1/applications?service=express").json()
    assert [r["reference"] for r in by_service["results"]] == [express["reference"]]
    by_nik = bambang_api.get("/api/v1/applications",
                             HTTP_X_SEARCH=siti["applicant"]["nik"]).json()
    assert by_nik["results"][0]["applicant"]["full_name"] == "Siti Aminah"
    by_reference = bambang_api.get(f"/api/v1/applications?q={express['reference']}").json()
    assert [r["reference"] for r in by_reference["results"]] == [express["reference"]]
    # A NIK is personal data: never in a URL (URLs end up in access logs).
    in_url = bambang_api.get(f"/api/v1/applications?q={siti['applicant']['nik']}")
    assert in_url.status_code == 400
    assert in_url.json()["error"] == "search_in_url"
    assert bambang_api.get("/api/v1/applications?status=bogus").status_code == 400


def test_token_can_be_obtained_with_username_password_and_one_time_code(api, bambang):
    bambang.set_password("rahasia-123")
    bambang.save()
    code = totp_code(otp_device(bambang))
    response = api.post("/api/v1/auth/token",
                        {"username": "bambang", "password": "rahasia-123", "otp": code})
    assert response.status_code == 200
    assert len(response.json()["token"]) == 64


def test_announcements_show_on_the_board(bambang_api, api):
    response = bambang_api.post("/api/v1/offices/NNK/announcements",
                                {"message": "Pencetakan dilanjutkan Senin."}, format="json")
    assert response.status_code == 201
    board = api.get("/api/v1/offices/NNK/status").json()
    assert board["announcements"][0]["message"] == "Pencetakan dilanjutkan Senin."


def test_staff_cannot_announce_for_another_office(bambang_api, tanjung_perak):
    response = bambang_api.post("/api/v1/offices/TPK/announcements", {"message": "Halo semua"},
                                format="json")
    assert response.status_code == 403


@pytest.mark.django_db(transaction=True)
def test_approve_succeeds_while_redis_is_down_and_the_sweep_finds_the_job(
    bambang_api, bambang, received, settings
):
    from queueing import kick, redis_state

    make_approvable(received["reference"], bambang)

    settings.QUEUEING = {**settings.QUEUEING, "REDIS_URL": "redis://127.0.0.1:1/0"}
    redis_state.reset()
    try:
        response = _post(bambang_api, received["reference"], "approve")
        kick.wait_for_kicks()  # the kick ran on its thread, failed, and was swallowed
    finally:
        redis_state.reset()
        kick._quiet_until = 0.0
    assert response.status_code == 200
    assert OutboxMessage.objects.get(topic=PRINT_JOB_TOPIC).status == "pending"
    from queueing.deliver import has_due_work

    assert has_due_work()  # what the beat sweep checks, from the database alone


def _needs_attention(reference):
    from django.db import transaction

    from immigration.lifecycle import Actor

    with transaction.atomic():
        application = PassportApplication.objects.select_for_update().get(reference=reference)
        application.needs_attention(reason="central refused the name", actor=Actor.DELIVERY)


def test_approve_cannot_bypass_resubmit_for_needs_attention(bambang_api, bambang, received):
    make_approvable(received["reference"], bambang)
    _post(bambang_api, received["reference"], "approve")
    _needs_attention(received["reference"])
    response = _post(bambang_api, received["reference"], "approve")
    assert response.status_code == 409
    assert OutboxMessage.objects.filter(topic=PRINT_JOB_TOPIC).count() == 1
    assert PassportApplication.objects.get().status == "needs_attention"


def test_resubmit_to_a_nik_with_another_active_application_is_409(bambang_api, bambang,
                                                                   received, submit):
    other = application_payload()
    submit(other)
    make_approvable(received["reference"], bambang)
    _post(bambang_api, received["reference"], "approve")
    _needs_attention(received["reference"])
    applicant = PassportApplication.objects.get(reference=received["reference"])
    response = _post(bambang_api, received["reference"], "resubmit", {"applicant": {
        "nik": other["applicant"]["nik"], "date_of_birth": other["applicant"]["date_of_birth"],
        "sex": other["applicant"]["sex"]}})
    assert response.status_code == 409
    assert response.json()["error"] == "active_application_exists"
    applicant.refresh_from_db()
    assert applicant.status == "needs_attention" and applicant.data_version == 1


def test_queue_figures_are_the_clerks_own_office(bambang_api, bambang, dewi, submit,
                                                 tanjung_perak):
    # Bambang (Nunukan) approves two, Dewi (Tanjung Perak) one: each sees their own backlog.
    for _ in range(2):
        reference = submit(application_payload()).json()["reference"]
        make_approvable(reference, bambang)
        _post(bambang_api, reference, "approve")
    tpk = submit(application_payload(office="TPK")).json()["reference"]
    make_approvable(tpk, dewi)
    _post(client_for(dewi), tpk, "approve")
    assert OutboxMessage.objects.filter(topic=PRINT_JOB_TOPIC, status="pending").count() == 3
    nunukan = bambang_api.get("/api/v1/queue").json()
    assert nunukan["pending"] == 2
    assert nunukan["pending_by_priority"] == {"0": 2}
    assert list(nunukan["breakers"]) == ["central_printing"]  # shared by all offices
    assert client_for(dewi).get("/api/v1/queue").json()["pending"] == 1
