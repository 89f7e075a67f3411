"""What a phone already holds shapes what the apply page offers (issue 14): an application
waiting to be sent is shown before a fresh form and a second one for the same NIK is caught
on the phone; a refused draft can be deleted with its personal data; a corrected draft keeps
its one Idempotency-Key and Send cannot queue it twice."""

from __future__ import annotations

import json
import re
import uuid
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, Request, expect
from rest_framework.test import APIClient

from immigration.models import Office, PassportApplication
from tests.conftest import applicant, application_payload
from tests.frontend.conftest import fill_application, idb_dump

pytestmark = pytest.mark.browser

PERSONAL = ("nik", "full_name", "mother_name", "address", "phone", "email")


def drafts(page: Page, state: str) -> list[dict[str, Any]]:
    return [d for d in json.loads(idb_dump(page))["drafts"] if d["state"] == state]


def test_waiting_application_is_shown_before_a_fresh_form_and_its_nik_caught_offline(
        page: Page, phone: BrowserContext) -> None:
    siti = applicant(sex="F", full_name="Siti Aminah")
    phone.set_offline(True)
    page.reload()
    fill_application(page, siti)
    expect(page.locator("#waiting")).to_have_text("Menunggu dikirim")

    page.reload()  # offline: the shell comes from the worker, the draft from IndexedDB
    notice = page.locator("#on-phone")
    expect(notice).to_be_visible()
    expect(notice.locator("h2")).to_have_text("Permohonan di ponsel ini belum selesai")
    expect(notice.locator("li.waiting")).to_contain_text("Siti Aminah")
    expect(notice.locator("li.waiting")).to_contain_text("luring")
    follow = notice.get_by_role("link", name="Ikuti permohonan ini")
    expect(follow).to_have_attribute("href", "/mine")
    expect(page.locator("#apply")).to_be_hidden()

    # She starts again anyway, with the same NIK: the phone says so on the NIK field, offline.
    notice.get_by_role("button", name="Ajukan permohonan lain").click()
    expect(page.locator("#apply")).to_be_visible()
    page.click("#next")
    page.fill("#nik", siti["nik"])
    page.fill("#full_name", siti["full_name"])
    page.check("input[name='applicant.sex'][value='F']")
    page.fill("#date_of_birth", siti["date_of_birth"])
    page.fill("#place_of_birth", siti["place_of_birth"])
    page.fill("#mother_name", siti["mother_name"])
    page.click("#next")
    expect(page.locator("#nik-err")).to_have_text(
        "Permohonan untuk NIK ini sudah ada di ponsel ini.")
    expect(page.locator("#nik")).to_be_focused()
    expect(page.locator("#form-err a")).to_have_attribute("href", "/mine")
    expect(page.locator("fieldset[data-step='2']")).to_be_visible()
    assert len(drafts(page, "queued")) == 1

    # Following it: "Permohonan saya" lists the one waiting; online, it is sent once.
    page.locator("#form-err a").click()
    expect(page.locator(".draft.queued")).to_have_count(1)
    phone.set_offline(False)
    expect(page.locator(".app .ref")).to_have_text(re.compile(r"^NNK-"))
    assert PassportApplication.objects.count() == 1


def test_refusal_no_correction_can_fix_is_explained_and_discarded_with_its_data(
        page: Page) -> None:
    siti = applicant(sex="F")
    first = APIClient().post("/api/v1/applications", application_payload(applicant=siti),
                             format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert first.status_code == 201
    fill_application(page, siti)  # a second application for her NIK: 409
    expect(page.locator("#form-err")).to_contain_text("Lacak permohonan itu, atau hubungi kantor")
    expect(page.locator("#track-other")).to_be_visible()
    assert siti["mother_name"] in idb_dump(page)

    page.goto("/mine")
    card = page.locator(".draft.failed")
    expect(card.locator("h2")).to_have_text("Tidak dapat dikirim")
    expect(card.get_by_role("link", name="Lacak permohonan itu")).to_have_attribute(
        "href", "/track")
    expect(card.get_by_role("link", name="Perbaiki")).to_have_count(0)

    card.get_by_role("button", name="Hapus draf").click()  # asked first; "Batal" keeps it
    expect(card.locator(".ask")).to_contain_text("data pribadinya")
    expect(card.get_by_role("button", name="Batal")).to_be_focused()
    card.get_by_role("button", name="Batal").click()
    expect(page.locator(".draft.failed")).to_have_count(1)

    page.locator(".draft.failed").get_by_role("button", name="Hapus draf").click()
    page.get_by_role("button", name="Ya, hapus").click()
    expect(page.locator(".draft.failed")).to_have_count(0)
    expect(page.locator("#mine-msg")).to_have_text(
        "Draf dan data pribadinya sudah dihapus dari ponsel ini.")
    stored = idb_dump(page)
    assert not [field for field in PERSONAL if siti[field] in stored], stored
    assert PassportApplication.objects.count() == 1


def test_refused_draft_can_be_discarded_from_the_apply_page_in_english(page: Page) -> None:
    siti = applicant(sex="F")
    APIClient().post("/api/v1/applications", application_payload(applicant=siti),
                     format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    page.click("#lang-toggle")
    fill_application(page, siti)
    expect(page.locator("#form-err")).to_contain_text("Track that application")
    page.get_by_role("button", name="Delete draft").click()
    page.get_by_role("button", name="Yes, delete").click()
    expect(page.locator("#apply-msg")).to_contain_text("deleted from this phone")
    expect(page.locator("fieldset[data-step='1']")).to_be_visible()
    expect(page.locator("#refused")).to_be_hidden()
    assert not [field for field in PERSONAL if siti[field] in idb_dump(page)]


def test_corrected_draft_double_tapped_is_one_key_and_one_application(page: Page) -> None:
    Office.objects.filter(code="NNK").update(express_open=False)  # central knows; the form not
    keys: list[str] = []

    def seen(request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/api/v1/applications"):
            keys.append(request.headers["idempotency-key"])

    page.on("request", seen)
    for attempt in range(10):
        keys.clear()
        person = applicant()
        page.goto("/")
        page.wait_for_selector("#office option", state="attached")
        page.select_option("#service", "express")
        fill_application(page, person)
        expect(page.locator("#service-err")).to_contain_text("pilih Reguler")  # refused: 409
        expect(page.locator("#service")).to_be_focused()

        page.select_option("#service", "regular")
        for _ in range(4):  # person, contact, documents, review
            page.click("#next")
        page.wait_for_selector("fieldset[data-step='5']:not([hidden])")
        if attempt % 2:  # two taps with no gap between them, by mouse or by script
            page.click("#next", click_count=2, delay=0)
        else:
            disabled = page.evaluate("""() => {
                const send = document.getElementById("next");
                send.click();
                const disabled = send.disabled;  // at once, before anything is queued
                send.click();
                return disabled;
            }""")
            assert disabled

        expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
        assert len(set(keys)) == 1, keys  # the refused try and the corrected one: one key
        assert PassportApplication.objects.with_nik(person["nik"]).count() == 1
        assert PassportApplication.objects.count() == attempt + 1
        assert not drafts(page, "failed") and not drafts(page, "queued")
