"""Bambang runs the Nunukan counter through an outage from the staff console alone: rejecting
with a reason, correcting and resubmitting what central refused, retrying dead letters and
telling applicants what is going on. No curl, no prompt() dialogs."""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone
from playwright.sync_api import Browser, Page, expect
from rest_framework.test import APIClient

from immigration.lifecycle import Actor
from immigration.models import Announcement, PassportApplication
from queueing.dead_letters import dead_letter_retry
from queueing.models import OutboxMessage
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.frontend.conftest import PHONE, staff_login

pytestmark = pytest.mark.browser


@pytest.fixture
def counter(browser: Browser, live_server: Any, offices: Any, bambang: User) -> Iterator[Page]:
    """Bambang logged in on a 360 px screen."""
    context = browser.new_context(viewport=PHONE, base_url=live_server.url, locale="id-ID")
    context.set_default_timeout(15000)
    page = context.new_page()
    staff_login(page, bambang)
    # the queue answered
    expect(page.locator("[data-bind='backlog.pending']")).to_have_text(re.compile(r"^\d+$"))
    yield page
    context.close()


def submitted(**applicant: Any) -> PassportApplication:
    response = APIClient().post("/api/v1/applications", application_payload(applicant=applicant),
                                format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201
    return PassportApplication.objects.get(reference=response.json()["reference"])


def approved(bambang: User, **applicant: Any) -> PassportApplication:
    application = submitted(**applicant)
    make_approvable(application, bambang)
    with transaction.atomic():
        PassportApplication.objects.select_for_update().get(pk=application.pk).approve(by=bambang)
    application.refresh_from_db()
    return application


def refused_by_central(application: PassportApplication, reason: str) -> OutboxMessage:
    """What delivery does when central answers 422: the print job becomes a dead letter and the
    application needs attention. (The job already exists, one per key, since approval.)"""
    with transaction.atomic():
        OutboxMessage.objects.filter(key=application.print_job_key).update(
            status="dead", last_error=reason, dead_at=timezone.now(), attempts=1)
        PassportApplication.objects.select_for_update().get(pk=application.pk).needs_attention(
            reason=reason, actor=Actor.DELIVERY)
    return OutboxMessage.objects.get(key=application.print_job_key)


def fits_the_phone(page: Page) -> bool:
    return bool(page.evaluate("document.documentElement.scrollWidth <= innerWidth"))


def test_bambang_rejects_with_a_reason_through_the_inline_form(counter: Page) -> None:
    application = submitted(full_name="Siti Aminah")
    dialogs: list[str] = []
    counter.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    counter.goto("/staff/applications")
    row = counter.locator(f"tr[data-reference='{application.reference}']")
    reject = row.locator("button[data-action=reject]")
    expect(reject).to_have_attribute("aria-expanded", "false")
    reject.click()

    reason = counter.locator("#reject-reason")
    expect(reason).to_be_focused()
    expect(reject).to_have_attribute("aria-expanded", "true")
    expect(counter.get_by_label(f"Alasan penolakan {application.reference}")).to_be_visible()
    counter.click("#panel button[type=submit]")  # empty: refused on the counter, nothing sent
    expect(counter.locator("#reject-reason-err")).to_have_text("Wajib diisi.")
    expect(reason).to_have_attribute("aria-invalid", "true")
    reason.fill("ab")
    counter.click("#panel button[type=submit]")
    expect(counter.locator("#reject-reason-err")).to_have_text("Harus 3\u2013300 karakter.")
    assert PassportApplication.objects.get(pk=application.pk).status == "received"
    assert fits_the_phone(counter)

    reason.fill("Foto tidak sesuai ketentuan")
    counter.click("#panel button[type=submit]")
    expect(row.locator("td[data-status]")).to_have_attribute("data-status", "rejected")
    expect(counter.locator("#panel")).to_have_count(0)
    expect(counter.locator("#staff-msg")).to_have_text(f"{application.reference} ditolak.")
    rejected = PassportApplication.objects.get(pk=application.pk)
    assert rejected.status == "rejected"
    assert rejected.events.order_by("-at", "-id").first().note == "Foto tidak sesuai ketentuan"  # type: ignore[union-attr]
    assert dialogs == []  # no prompt(): the reason came from the form


def test_cancel_closes_the_form_and_returns_focus(counter: Page) -> None:
    application = submitted()
    counter.goto("/staff/applications")
    reject = counter.locator(f"tr[data-reference='{application.reference}'] "
                             "button[data-action=reject]")
    reject.click()
    counter.fill("#reject-reason", "Berkas belum lengkap")
    counter.keyboard.press("Escape")
    expect(counter.locator("#panel")).to_have_count(0)
    expect(reject).to_be_focused()
    assert PassportApplication.objects.get(pk=application.pk).status == "received"


def test_bambang_resubmits_a_needs_attention_application_with_a_corrected_name(
        counter: Page, bambang: User) -> None:
    application = approved(bambang, full_name="Siti Aminh", place_of_birth="Nunukan")
    refused_by_central(application, "Nama tidak sesuai data kependudukan")
    submitted(full_name="Dewi Lestari")  # another application, filtered out below

    counter.goto("/staff/applications")
    counter.select_option("#status", "needs_attention")
    rows = counter.locator("#rows tr[data-reference]")
    expect(rows).to_have_count(1)
    row = rows.first
    expect(row.locator(".attention")).to_have_text("Alasan: Nama tidak sesuai data kependudukan")
    row.locator("button[data-action=resubmit]").click()

    name = counter.locator("#fix-full_name")
    expect(name).to_be_focused()
    expect(name).to_have_value("Siti Aminh")
    expect(counter.locator("#fix-place_of_birth")).to_have_value("Nunukan")
    assert fits_the_phone(counter)

    name.fill("S1ti Aminah")  # the server's name rule answers, next to the name
    counter.click("#panel button[type=submit]")
    expect(counter.locator("#fix-full_name-err")).to_have_text(
        "Nama hanya boleh berisi huruf, spasi, dan . ' - ,")
    expect(name).to_have_attribute("aria-invalid", "true")
    expect(counter.locator("#fix-address-err")).to_be_empty()
    assert PassportApplication.objects.get(pk=application.pk).status == "needs_attention"

    name.fill("Siti Aminah")
    with counter.expect_request("**/resubmit") as request:
        counter.click("#panel button[type=submit]")
    assert request.value.post_data_json == {"applicant": {"full_name": "Siti Aminah"}}
    expect(counter.locator("#staff-msg")).to_contain_text(application.reference)
    expect(rows).to_have_count(0)  # no longer needs attention

    resubmitted = PassportApplication.objects.get(pk=application.pk)
    assert resubmitted.status == "queued_for_printing"
    assert resubmitted.data_version == 2
    assert resubmitted.full_name == "Siti Aminah"
    assert resubmitted.place_of_birth == "Nunukan"
    assert OutboxMessage.objects.get(key=f"{application.reference}:v2").status == "pending"

    counter.select_option("#status", "")
    expect(counter.locator(f"tr[data-reference='{application.reference}'] td[data-status]")
           ).to_have_attribute("data-status", "queued_for_printing")


def test_bambang_retries_a_dead_letter(counter: Page, bambang: User) -> None:
    application = approved(bambang)
    message = refused_by_central(application, "central refused")
    counter.goto("/staff/")
    expect(counter.locator("[data-bind='backlog.dead']")).to_have_text("1")
    item = counter.locator(f"#dead-letters li[data-id='{message.pk}']")
    expect(item.locator(".ref")).to_have_text(application.print_job_key)
    expect(item.locator(".reason")).to_have_text("central refused")
    assert fits_the_phone(counter)

    item.get_by_role("button", name=f"Coba lagi {application.print_job_key}").click()
    expect(counter.locator("#staff-msg")).to_have_text(
        f"{application.print_job_key} kembali ke antrean.")
    expect(counter.locator("#dead-letters li")).to_have_count(0)
    expect(counter.locator("#dead-empty")).to_be_visible()
    expect(counter.locator("[data-bind='backlog.dead']")).to_have_text("0")
    expect(counter.locator("#dead-title")).to_be_focused()
    message.refresh_from_db()
    assert message.status == "pending"
    assert PassportApplication.objects.get(pk=application.pk).status == "queued_for_printing"


def test_retrying_a_letter_someone_else_already_retried_says_so(counter: Page,
                                                                 bambang: User) -> None:
    application = approved(bambang)
    message = refused_by_central(application, "central refused")
    counter.goto("/staff/")
    button = counter.locator(f"#dead-letters li[data-id='{message.pk}'] button")
    expect(button).to_be_visible()
    dead_letter_retry(message_id=message.pk)  # e.g. `manage.py queue retry-dead` meanwhile

    button.click()
    expect(counter.locator("#staff-msg")).to_have_text(
        f"{application.print_job_key} sudah tidak gagal lagi; daftar diperbarui.")
    expect(counter.locator("#dead-letters li")).to_have_count(0)
    expect(counter.locator("#dead-err")).to_be_empty()


def test_bambang_posts_an_announcement_shown_on_the_public_board(counter: Page) -> None:
    text = "Pencetakan paspor tertunda karena gangguan pusat; permohonan tetap diterima."
    expect(counter.locator("#news-empty")).to_be_visible()
    counter.fill("#announcement", "ok")
    counter.click("#news button[type=submit]")
    expect(counter.locator("#announcement-err")).to_have_text("Harus 3\u2013500 karakter.")
    expect(counter.locator("#announcement")).to_be_focused()
    assert not Announcement.objects.exists()

    counter.fill("#announcement", text)
    counter.click("#news button[type=submit]")
    expect(counter.locator("#staff-msg")).to_have_text("Pengumuman diterbitkan.")
    expect(counter.locator("#news-list li p")).to_have_text([text])
    expect(counter.locator("#announcement")).to_have_value("")
    expect(counter.locator("#announcement-err")).to_be_empty()

    board = APIClient().get("/api/v1/offices/NNK/status").json()
    assert [a["message"] for a in board["announcements"]] == [text]
    assert Announcement.objects.get().office_id == "NNK"


def test_console_switches_to_english(counter: Page) -> None:
    application = submitted()
    counter.goto("/staff/applications")
    counter.click("#lang-toggle")
    expect(counter.locator("html")).to_have_attribute("lang", "en")
    expect(counter.locator("h1")).to_have_text("Applications NNK")
    row = counter.locator(f"tr[data-reference='{application.reference}']")
    expect(row.locator("button[data-action=approve]")).to_have_text("Approve")
    expect(row.locator("td[data-status]")).to_have_text(
        "Received by the office, awaiting verification")
    row.locator("button[data-action=reject]").click()
    expect(counter.get_by_label(f"Reason for rejecting {application.reference}")).to_be_focused()
