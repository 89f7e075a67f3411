"""Applicants who opted in are told when their application moves and, once, when printing
resumes: through the real outbox, the simulator's SMS gateway and a local push service that
decrypts what it gets."""

from __future__ import annotations

import datetime as dt
import logging
import time
import zoneinfo

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from rest_framework.test import APIClient

from immigration.models import PassportApplication
from immigration.notify import quiet_hours
from immigration.notify.models import Follow, Recipient
from queueing import breaker, deliver, redis_state
from queueing.models import MessageStatus, OutboxMessage, UpstreamOutage
from services.signing import sign_headers
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.fixtures.central import wait_until

pytestmark = pytest.mark.django_db(transaction=True)


def _apply(submit, phone: str | None = None):
    applicant = {"phone": phone} if phone else {}
    body = submit(application_payload(applicant=applicant)).json()
    return body["reference"], body["access_code"]


def _opt_in(reference, code, **body):
    client = APIClient()
    response = client.put(f"/api/v1/applications/{reference}/notifications",
                          {"sms": False, **body}, format="json", HTTP_X_ACCESS_CODE=code)
    assert response.status_code == 200, response.content
    assert response["Cache-Control"] == "no-store"
    return response.json()


def _approve(bambang_api, reference):
    make_approvable(reference, User.objects.get(username="bambang"))
    assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200


def _texts(wired, reference=None):
    return [m for m in wired.sms.ledger() if reference is None or reference in m["text"]]


def test_sms_once_per_event_without_personal_data(notify_wired, submit, bambang_api):
    reference, code = _apply(submit, phone="081234567890")
    state = _opt_in(reference, code, sms=True)
    assert state["sms"] is True and state["language"] == "id"
    _approve(bambang_api, reference)
    deliver.drain(budget_seconds=10)  # print job to central, and the texts
    deliver.drain(budget_seconds=10)
    texts = _texts(notify_wired)
    assert [t["to"] for t in texts] == ["+6281234567890"] * 2
    assert "disetujui" in texts[0]["text"] and reference in texts[0]["text"]
    assert "diterima pusat" in texts[1]["text"]
    application = PassportApplication.objects.get(reference=reference)
    for text in texts:
        assert "STOP" in text["text"] and "/stop/" in text["text"]
        for personal in (application.full_name, application.nik, application.mother_name,
                         application.phone, application.address):
            assert personal not in text["text"]
    # Central moves it on; only "ready for pickup" is worth a text (printing/printed are not).
    for _ in range(3):
        notify_wired.control.advance()
    wait_until(lambda: PassportApplication.objects.get(reference=reference).status
               == "ready_for_pickup")
    deliver.drain(budget_seconds=10)
    texts = _texts(notify_wired)
    assert len(texts) == 3 and "siap diambil" in texts[2]["text"]
    assert notify_wired.sms.stats()["same_text_twice"] == 0
    # The outbox carries no phone number: only the recipient's id and the words.
    for message in OutboxMessage.objects.filter(topic="notify.sms"):
        assert set(message.payload) == {"recipient_id", "office", "urgent", "text"}


def test_english_if_chosen(notify_wired, submit, bambang_api):
    reference, code = _apply(submit)
    _opt_in(reference, code, sms=True, language="en")
    _approve(bambang_api, reference)
    deliver.drain(budget_seconds=10)
    (text,) = _texts(notify_wired)[:1]
    assert text["text"].startswith(f"Passport {reference}: approved")
    assert "reply STOP" in text["text"]


def test_rejection_says_what_to_do_but_not_the_reason(notify_wired, submit, bambang_api):
    reference, code = _apply(submit)
    _opt_in(reference, code, sms=True)
    response = bambang_api.post(f"/api/v1/applications/{reference}/reject",
                                {"reason": "Foto milik Budi Santoso tidak sesuai"}, format="json")
    assert response.status_code == 200
    deliver.drain(budget_seconds=10)
    (text,) = _texts(notify_wired)
    assert "ditolak" in text["text"] and "halaman status" in text["text"]
    assert "Budi" not in text["text"]


def test_push_is_encrypted_for_the_subscription_and_vapid_signed(notify_wired, push_service,
                                                                  submit, bambang_api):
    browser = push_service.new_browser()
    reference, code = _apply(submit)
    state = _opt_in(reference, code, push=browser.subscription())
    assert state["push_devices"] == 1 and state["push_key"]
    _approve(bambang_api, reference)
    deliver.drain(budget_seconds=10)
    deliver.drain(budget_seconds=10)
    got = push_service.for_browser(browser)
    assert len(got) == 2
    for received in got:
        assert received.vapid_ok
        assert received.headers["content-encoding"] == "aes128gcm"
        assert received.payload is not None  # decrypted with the browser's private key
        assert reference in received.payload["body"]
        assert received.payload["stop_url"].startswith("http")
        assert len(received.headers["topic"]) <= 32
    assert "disetujui" in got[0].payload["body"]


def test_gone_subscription_is_removed(notify_wired, push_service, submit, bambang_api):
    browser = push_service.new_browser()
    reference, code = _apply(submit)
    _opt_in(reference, code, sms=True, push=browser.subscription())
    push_service.status_for[browser.endpoint.split(push_service.base_url)[1]] = 410
    _approve(bambang_api, reference)
    deliver.drain(budget_seconds=10)
    assert not Recipient.objects.filter(channel="push").exists()
    assert Recipient.objects.filter(channel="sms").count() == 1  # SMS unaffected
    dead = OutboxMessage.objects.filter(topic="notify.push", status=MessageStatus.DEAD)
    assert dead.exists() and all("gone" in m.last_error for m in dead)
    # Later events send nothing to the gone browser (the texts still go).
    seen = len(push_service.for_browser(browser))
    for _ in range(3):
        notify_wired.control.advance()
    wait_until(lambda: PassportApplication.objects.get(reference=reference).status
               == "ready_for_pickup")
    deliver.drain(budget_seconds=10)
    assert len(push_service.for_browser(browser)) == seen
    assert any("siap diambil" in t["text"] for t in _texts(notify_wired, reference))


def _central_outage_and_recovery(wired):
    """Central down long enough for the breaker to open, then back: drain until it closes."""
    wired.control.configure(mode="down")
    deadline = time.monotonic() + 20
    while not UpstreamOutage.objects.open().exists():
        OutboxMessage.objects.filter(topic="central_printing.print_job",
                                     status="pending").update(next_attempt_at=timezone.now())
        deliver.drain(budget_seconds=1)
        assert time.monotonic() < deadline
    wired.control.configure(mode="up")
    deadline = time.monotonic() + 20
    while UpstreamOutage.objects.open().exists():
        deliver.drain(budget_seconds=2, stop_when_blocked=False)
        assert time.monotonic() < deadline


def test_printing_resumed_once_per_phone_however_many_applications(notify_wired, submit,
                                                                    bambang_api, settings):
    settings.QUEUEING = {**settings.QUEUEING, "BREAKER_FAILURE_THRESHOLD": 1}
    notify_wired.control.configure(mode="down")  # the outage starts before any approval
    family = [_apply(submit, phone="081300000001") for _ in range(3)]
    (neighbour,) = [_apply(submit, phone="081300000002")]
    for reference, code in [*family, neighbour]:
        _opt_in(reference, code, sms=True)
        _approve(bambang_api, reference)
    assert Recipient.objects.count() == 2 and Follow.objects.count() == 4
    _central_outage_and_recovery(notify_wired)
    deliver.drain(budget_seconds=10)
    resumed = [t for t in _texts(notify_wired) if "berjalan kembali" in t["text"]]
    assert sorted(t["to"] for t in resumed) == ["+6281300000001", "+6281300000002"]
    family_text = next(t["text"] for t in resumed if t["to"] == "+6281300000001")
    assert all(reference in family_text for reference, _ in family)
    # The breaker forgets (Redis flushed) and the next success "closes" again: no second text.
    redis_state.client().flushdb()
    breaker.record_success("central_printing")
    deliver.drain(budget_seconds=5)
    assert len([t for t in _texts(notify_wired) if "berjalan kembali" in t["text"]]) == 2
    assert UpstreamOutage.objects.count() == 1


def test_quiet_hours_hold_a_text_until_morning_then_release_it(notify_wired, submit,
                                                                bambang_api, settings):
    held_ref, held_code = _apply(submit)
    urgent_ref, urgent_code = _apply(submit)
    _opt_in(held_ref, held_code, sms=True)
    _opt_in(urgent_ref, urgent_code, sms=True)
    make_approvable(held_ref, User.objects.get(username="bambang"))
    # "Night" in the office's zone (Nunukan: WITA) ends a few seconds from now.
    zone = zoneinfo.ZoneInfo("Asia/Makassar")
    now = timezone.now().astimezone(zone)
    start, end = now - dt.timedelta(hours=1), now + dt.timedelta(seconds=4)
    if start.date() != end.date() or end.date() != now.date():
        pytest.skip("window would cross midnight; rerun")
    settings.NOTIFY_QUIET_HOURS = f"{start:%H:%M:%S}-{end:%H:%M:%S}"
    assert bambang_api.post(f"/api/v1/applications/{held_ref}/approve").status_code == 200
    assert bambang_api.post(f"/api/v1/applications/{urgent_ref}/reject",
                            {"reason": "Dokumen tidak lengkap"}, format="json").status_code == 200
    held = OutboxMessage.objects.get(topic="notify.sms", payload__urgent=False)
    assert held.next_attempt_at >= end.replace(microsecond=0)
    deliver.drain(budget_seconds=5)
    texts = _texts(notify_wired)
    assert [urgent_ref in t["text"] for t in texts] == [True]  # the rejection went at once
    time.sleep(max(0.0, (end - timezone.now()).total_seconds()) + 0.5)
    deliver.drain(budget_seconds=5)
    released = [t["text"] for t in _texts(notify_wired, held_ref)]
    # Approved, and meanwhile sent to central (held too): both go out once, in the morning.
    assert len(released) == 2 and "disetujui" in released[0]


def test_quiet_hours_follow_the_office_time_zone(settings):
    settings.NOTIFY_QUIET_HOURS = "21:00-07:00"
    evening = dt.datetime(2026, 11, 29, 13, 30, tzinfo=dt.UTC)  # 20:30 WIB, 21:30 WITA
    wita, wib = zoneinfo.ZoneInfo("Asia/Makassar"), zoneinfo.ZoneInfo("Asia/Jakarta")
    assert quiet_hours.held_until(evening, wib) is None
    assert quiet_hours.held_until(evening, wita) == dt.datetime(2026, 11, 30, 7, 0, tzinfo=wita)
    early = dt.datetime(2026, 11, 29, 22, 0, tzinfo=dt.UTC)  # 05:00 WIB on the 30th
    assert quiet_hours.held_until(early, wib) == dt.datetime(2026, 11, 30, 7, 0, tzinfo=wib)
    settings.NOTIFY_QUIET_HOURS = ""
    assert quiet_hours.held_until(evening, wita) is None


def test_a_text_retried_into_the_night_waits_for_the_morning(notify_wired, submit,
                                                              bambang_api, settings):
    reference, code = _apply(submit)
    _opt_in(reference, code, sms=True)
    _approve(bambang_api, reference)
    # Night falls (in the office's zone, WITA) while the text waits for its next attempt.
    zone = zoneinfo.ZoneInfo("Asia/Makassar")
    now = timezone.now().astimezone(zone)
    start, end = now - dt.timedelta(minutes=1), now + dt.timedelta(hours=2)
    if start.date() != end.date():
        pytest.skip("window would cross midnight; rerun")
    settings.NOTIFY_QUIET_HOURS = f"{start:%H:%M:%S}-{end:%H:%M:%S}"
    deliver.drain(budget_seconds=5)
    messages = OutboxMessage.objects.filter(topic="notify.sms")
    assert messages.count() == 2  # approved (retried into the night) and sent to central
    for message in messages:
        assert message.status == MessageStatus.PENDING and message.attempts == 0
        assert abs((message.next_attempt_at - end).total_seconds()) < 1
    assert _texts(notify_wired) == []


def test_stop_reply_and_stop_link_end_the_texts(notify_wired, submit, bambang_api, live_server,
                                                client):
    one, one_code = _apply(submit, phone="081355500001")
    two, two_code = _apply(submit, phone="081355500002")
    _opt_in(one, one_code, sms=True)
    _opt_in(two, two_code, sms=True)
    # A reply "stop" from the first phone, through the gateway's signed inbound call.
    notify_wired.sms.configure(inbound_url=f"{live_server.url}/api/v1/webhooks/sms")
    assert notify_wired.sms.reply(sender="+6281355500001", text="stop") == 200
    assert not Recipient.objects.with_address("sms", "+6281355500001").exists()
    # The second follows the link from a text: GET only asks, POST stops.
    token = Recipient.objects.with_address("sms", "+6281355500002").get().stop_token
    page = client.get(f"/stop/{token}")
    assert page.status_code == 200
    assert Recipient.objects.filter(stop_index__isnull=False).count() == 1
    done = client.post(f"/stop/{token}")
    assert done.status_code == 200
    assert not Recipient.objects.exists()
    _approve(bambang_api, one)
    _approve(bambang_api, two)
    deliver.drain(budget_seconds=10)
    assert _texts(notify_wired) == []
    assert client.get("/stop/not-a-token").status_code == 404


def test_inbound_sms_must_be_signed(api, settings):
    body = b'{"message_id": "m1", "from": "+6281355500001", "text": "STOP"}'
    response = api.post("/api/v1/webhooks/sms", body, content_type="application/json")
    assert response.status_code == 401
    headers = sign_headers(settings.SMS_GATEWAY_SECRET, b"{}")
    response = api.post("/api/v1/webhooks/sms", b"{}", content_type="application/json",
                        **{f"HTTP_{k.upper().replace('-', '_')}": v for k, v in headers.items()})
    assert response.status_code == 400


def test_opt_in_needs_the_access_code_and_valid_input(submit, settings):
    settings.WEB_PUSH_ALLOW_HTTP = False  # as in production
    reference, code = _apply(submit)
    client = APIClient()
    url = f"/api/v1/applications/{reference}/notifications"
    assert client.put(url, {"sms": True}, format="json",
                      HTTP_X_ACCESS_CODE="wrong").status_code == 404
    bad = client.put(url, {"sms": "maybe", "language": "fr"}, format="json",
                     HTTP_X_ACCESS_CODE=code)
    assert bad.status_code == 400 and set(bad.json()["fields"]) >= {"sms", "language"}
    bad_push = client.put(url, {"sms": False, "push": {"endpoint": "http://10.0.0.1/x",
                                                       "keys": {"p256dh": "a", "auth": "b"}}},
                          format="json", HTTP_X_ACCESS_CODE=code)
    assert bad_push.status_code == 400  # plain http is for the local test service only
    assert not Recipient.objects.exists()


def test_no_phone_number_or_push_endpoint_in_the_logs(notify_wired, push_service, submit,
                                                       bambang_api, live_server, caplog,
                                                       settings):
    # At the level production logs (urllib3 alone, at DEBUG, names the URLs it calls).
    caplog.set_level(logging.INFO)
    settings.QUEUEING = {**settings.QUEUEING, "BREAKER_FAILURE_THRESHOLD": 1}
    browser = push_service.new_browser()
    reference, code = _apply(submit, phone="081377700001")
    _opt_in(reference, code, sms=True, push=browser.subscription())
    push_service.status_for[browser.endpoint.split(push_service.base_url)[1]] = 410
    notify_wired.sms.configure(mode="down")
    _approve(bambang_api, reference)
    deliver.drain(budget_seconds=2)  # the gateway's breaker opens; the push is gone
    notify_wired.sms.configure(mode="up")
    deliver.drain(budget_seconds=5, stop_when_blocked=False)
    notify_wired.sms.configure(inbound_url=f"{live_server.url}/api/v1/webhooks/sms")
    notify_wired.sms.reply(sender="+6281377700001", text="STOP")
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "push recipient" in logged and "sms_gateway" in logged  # the path did log
    application = PassportApplication.objects.get(reference=reference)
    for secret in ("81377700001", browser.endpoint.rsplit("/", 1)[1], application.full_name,
                   code):
        assert secret not in logged


def test_stop_page_has_a_strict_csp_no_inline_code_and_keeps_the_token_private(submit, client):
    reference, code = _apply(submit)
    _opt_in(reference, code, sms=True)
    token = Recipient.objects.get().stop_token
    page = client.get(f"/stop/{token}")
    html = page.content.decode()
    assert "'unsafe-inline'" not in page["Content-Security-Policy"]
    assert "<script>" not in html and " style=" not in html and " onclick" not in html
    assert page["Referrer-Policy"] == "no-referrer" and page["Cache-Control"] == "no-store"
    assert "Hentikan semua SMS" in html  # Indonesian by default
