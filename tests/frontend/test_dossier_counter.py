"""Bambang at the Nunukan counter with Siti's dossier: he opens each document she uploaded,
checks two against the originals and refuses one with a reason, takes her photo with the PC's
camera (Chromium's fake device) and her signature on the pad. Approval is refused, listing what
is missing, until the dossier is complete; then it goes through."""

from __future__ import annotations

import io
import re
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from PIL import Image
from playwright.sync_api import Browser, Page, expect
from rest_framework.test import APIClient

from immigration.dossier.models import DossierFile
from immigration.dossier.storage import open_chunks
from immigration.lifecycle import Status
from immigration.models import PassportApplication
from tests.conftest import application_payload
from tests.fixtures.approvable import complete_counter_steps
from tests.fixtures.dossier import dossier_store, small_jpeg, small_pdf
from tests.frontend.conftest import staff_login

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("dossier_rules")]

COUNTER_PC = {"width": 1280, "height": 900}


@pytest.fixture
def counter(camera_browser: Browser, live_server: Any, offices: Any,
            bambang: User) -> Iterator[Page]:
    context = camera_browser.new_context(viewport=COUNTER_PC, base_url=live_server.url,
                                         locale="id-ID")
    context.set_default_timeout(15000)
    page = context.new_page()
    staff_login(page, bambang)
    yield page
    context.close()


def sitis_application() -> PassportApplication:
    """Siti applied from her phone and uploaded her three documents (the tus server ends in the
    same domain function)."""
    response = APIClient().post("/api/v1/applications", application_payload(),
                                format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201
    application = PassportApplication.objects.get(reference=response.json()["reference"])
    dossier_store(application, "ktp", small_jpeg(640, 400, seed=1))
    dossier_store(application, "kk", small_jpeg(800, 560, seed=2))
    dossier_store(application, "birth_certificate", small_pdf())
    return application


def stored(application: PassportApplication, kind: str) -> DossierFile:
    return DossierFile.objects.current().get(application=application, kind=kind)


def blockers(page: Page) -> list[str]:
    page.click("#approve")
    page.wait_for_selector("#approve-err li")
    return [str(c) for c in page.locator("#approve-err li").evaluate_all(
        "items => items.map((li) => li.dataset.code)")]


def test_counter_checks_documents_takes_photo_and_signature_then_approves(
        counter: Page, bambang: User) -> None:
    application = sitis_application()
    complete_counter_steps(application, bambang)  # interview and fee: not this test's subject
    page = counter
    page.goto("/staff/applications")
    page.locator(f"tr[data-reference='{application.reference}'] a[data-dossier]").click()
    expect(page.locator("#reference")).to_have_text(application.reference)
    expect(page.locator("#files .file")).to_have_count(3)

    assert blockers(page) == ["documents_unchecked", "photo_missing", "signature_missing"]
    expect(page.locator("#approve-err")).to_contain_text("Belum dapat disetujui")

    # The KTP opens from a blob URL (the server sent a no-store attachment).
    ktp = page.locator("#files .file[data-kind='ktp']")
    with page.expect_response(re.compile(r"/files/\d+/content$")) as shown:
        ktp.locator("[data-do=view]").click()
    assert shown.value.headers["cache-control"] == "no-store"
    assert "attachment" in shown.value.headers["content-disposition"]
    expect(page.locator("#viewer img")).to_have_attribute("src", re.compile(r"^blob:"))
    ktp.locator("[data-do=check]").click()
    expect(page.locator("#files .file[data-kind='ktp']")).to_have_attribute("data-state", "checked")
    page.locator("#files .file[data-kind='kk'] [data-do=check]").click()
    expect(page.locator("#files .file[data-kind='kk']")).to_have_attribute("data-state", "checked")

    # The birth certificate is a blank page: refused, with a reason Siti will read.
    birth = page.locator("#files .file[data-kind='birth_certificate']")
    birth.locator("[data-do=refuse]").click()
    birth.locator("button[type=submit]").click()
    expect(birth.locator(".err")).to_contain_text("alasan")
    birth.locator("input[name=reason]").fill("Halaman kosong; unggah akta kelahiran yang jelas.")
    birth.locator("button[type=submit]").click()
    expect(page.locator("#files .file[data-kind='birth_certificate']")).to_have_attribute(
        "data-state", "refused")
    assert stored(application, "birth_certificate").refusal_reason.startswith("Halaman kosong")
    expect(page.locator("#missing")).to_contain_text("Akta kelahiran")

    # Photo: the PC's camera, cropped to the 35 x 45 mm frame.
    page.click("#camera-on")
    page.wait_for_function("() => document.getElementById('video').videoWidth > 0")
    page.click("#snap")
    page.click("#photo-send")
    expect(page.locator("#photo-state")).to_have_text("Tersimpan di kantor.")
    photo = stored(application, "photo")
    with Image.open(io.BytesIO(b"".join(open_chunks(photo)))) as image:
        assert image.format == "JPEG" and image.size == (413, 531)

    # Signature: drawn with the pointer on the pad.
    page.locator("#signature").scroll_into_view_if_needed()
    box = page.locator("#signature").bounding_box()
    assert box is not None
    page.mouse.move(box["x"] + 40, box["y"] + 120)
    page.mouse.down()
    for step in range(1, 12):
        page.mouse.move(box["x"] + 40 + step * 30, box["y"] + 120 - (step % 3) * 25, steps=2)
    page.mouse.up()
    page.click("#sign-send")
    expect(page.locator("#sign-state")).to_have_text("Tersimpan di kantor.")
    signature = stored(application, "signature")
    with Image.open(io.BytesIO(b"".join(open_chunks(signature)))) as image:
        assert image.format == "PNG"
        assert image.convert("L").getextrema()[0] < 64, "ink on the pad"

    assert blockers(page) == ["documents_missing"]

    # Siti sends a clear birth certificate from her phone; Bambang checks it and approves.
    dossier_store(application, "birth_certificate", small_jpeg(600, 800, seed=3))
    page.reload()
    page.locator("#files .file[data-kind='birth_certificate'] [data-do=check]").click()
    expect(page.locator("#files .file[data-kind='birth_certificate']")).to_have_attribute(
        "data-state", "checked")
    expect(page.locator("#missing")).to_have_text("Semua dokumen yang diperlukan sudah ada.")
    page.click("#approve")
    expect(page.locator("#staff-msg")).to_have_text(f"{application.reference} disetujui.")
    application.refresh_from_db()
    assert application.status == Status.QUEUED_FOR_PRINTING
