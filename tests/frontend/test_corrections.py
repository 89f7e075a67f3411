"""What the office refuses lands on the field the applicant has to correct."""

from __future__ import annotations

import datetime as dt
import re
import uuid

import pytest
from playwright.sync_api import Page, expect
from rest_framework.test import APIClient

from immigration.models import PassportApplication
from immigration.nik import make_nik
from tests.conftest import applicant, application_payload
from tests.frontend.conftest import fill_application

pytestmark = pytest.mark.browser


def test_server_refusal_of_nik_lands_on_the_nik_field(page: Page) -> None:
    # A NIK made for another birthday: the form would catch it, so it is queued directly, as an
    # older version of the app (or a tampered one) might have done.
    body = application_payload(applicant={"date_of_birth": "1990-05-17", "sex": "M"})
    body["applicant"]["nik"] = make_nik(region="650401", date_of_birth=dt.date(1991, 5, 17),
                                        sex="M", serial=42)
    page.evaluate("""async (body) => {
        const o = self.TangguhOutbox;
        await o.put("drafts", {key: o.newKey(), state: "queued", body, attempts: 0});
        await o.replay({force: true});
    }""", body)

    page.goto("/mine")
    expect(page.locator(".draft.failed h2")).to_have_text("Perlu diperbaiki")
    page.locator(".draft.failed a").click()

    expect(page.locator("#nik-err")).to_have_text("NIK tidak cocok dengan tanggal lahir.")
    expect(page.locator("#nik")).to_have_attribute("aria-invalid", "true")
    expect(page.locator("#nik")).to_be_focused()
    assert PassportApplication.objects.count() == 0

    # Corrected, it goes through under the same key: the office kept no key for the refusal.
    page.fill("#nik", make_nik(region="650401", date_of_birth=dt.date(1990, 5, 17), sex="M",
                               serial=42))
    for _ in range(4):  # person, contact, documents (none yet), review: send
        page.click("#next")
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    assert PassportApplication.objects.count() == 1


def test_existing_active_application_for_the_nik_is_explained(page: Page) -> None:
    siti = applicant(sex="F")
    first = APIClient().post("/api/v1/applications", application_payload(applicant=siti),
                             format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert first.status_code == 201

    fill_application(page, siti)

    expect(page.locator("#nik-err")).to_contain_text("Sudah ada permohonan yang sedang berjalan")
    expect(page.locator("#form-err")).to_contain_text("Sudah ada permohonan")
    expect(page.locator("#outcome")).to_be_hidden()
    assert PassportApplication.objects.count() == 1


def test_client_validation_mirrors_the_server(page: Page) -> None:
    siti = applicant(sex="F", date_of_birth="1990-05-17")
    siti["nik"] = siti["nik"][:6] + "170590" + siti["nik"][12:]  # a man's birth day for a woman
    page.click("#next")
    page.fill("#nik", siti["nik"])
    page.fill("#full_name", "S1ti")
    page.check("input[name='applicant.sex'][value='F']")
    page.fill("#date_of_birth", "1990-05-17")
    page.click("#next")

    expect(page.locator("#nik-err")).to_contain_text("jenis kelamin")
    expect(page.locator("#full_name-err")).to_have_text(
        "Nama hanya boleh berisi huruf, spasi dan . ' - ,")
    expect(page.locator("#place_of_birth-err")).to_have_text("Wajib diisi.")
    expect(page.locator("fieldset[data-step='2']")).to_be_visible()
