"""Siti applies from Nunukan with no signal: the phone keeps the application and says it is
waiting; when the signal returns it is sent once, acknowledged, and followed offline."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from immigration.models import PassportApplication
from tests.conftest import applicant
from tests.frontend.conftest import fill_application, idb_dump, wait_until

pytestmark = pytest.mark.browser


def test_offline_application_is_sent_once_when_back_online(page: Page,
                                                           phone: BrowserContext) -> None:
    siti = applicant(sex="F", full_name="Siti Aminah")
    phone.set_offline(True)
    page.reload()  # the shell opens from the service worker's cache
    expect(page.locator("#net")).to_be_visible()
    fill_application(page, siti)

    expect(page.locator("#waiting")).to_have_text("Menunggu dikirim")
    expect(page.locator("#why")).to_contain_text("luring")
    assert PassportApplication.objects.count() == 0
    queued = json.loads(idb_dump(page))["drafts"]
    assert [d["state"] for d in queued] == ["queued"]

    phone.set_offline(False)  # the `online` event replays the outbox
    reference = page.locator("#outcome #reference")
    expect(reference).to_have_text(re.compile(r"^NNK-"))
    assert reference.text_content() == PassportApplication.objects.get().reference

    # Force more replays: the page's outbox, the raw request with the same key and body, and
    # the service worker's Background Sync handler. Still one application.
    page.evaluate("Promise.all([1, 2, 3].map(() => self.TangguhOutbox.replay({force: true})))")
    replayed = page.evaluate("""async ([key, body]) => {
        const r = await fetch("/api/v1/applications", {method: "POST", body: JSON.stringify(body),
            headers: {"Content-Type": "application/json", "Idempotency-Key": key}});
        return [r.status, r.headers.get("Idempotent-Replayed"), (await r.json()).reference];
    }""", [queued[0]["key"], queued[0]["body"]])
    assert replayed == [201, "true", reference.text_content()]
    assert dispatch_sync_event(page, phone) is True
    assert PassportApplication.objects.count() == 1

    # Only the capability and status stay on the phone; her personal data is gone.
    stored = idb_dump(page)
    for value in (siti["nik"], siti["full_name"], siti["mother_name"], siti["phone"],
                  siti["address"], siti["email"]):
        assert value not in stored
    assert reference.text_content() in stored


def dispatch_sync_event(page: Page, phone: BrowserContext) -> bool:
    """Fire the worker's `sync` event through the DevTools protocol, as Chromium does when
    connectivity returns, and wait until the worker has finished handling it."""
    cdp = phone.new_cdp_session(page)
    registrations: list[dict[str, Any]] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    for _ in range(50):  # the registration arrives as an event right after enable
        if registrations:
            break
        page.wait_for_timeout(100)
    registration = next(r for r in registrations if not r.get("isDeleted"))
    origin = page.evaluate("location.origin")
    cdp.send("ServiceWorker.dispatchSyncEvent", {
        "origin": origin, "registrationId": registration["registrationId"],
        "tag": "tangguh-outbox", "lastChance": True,
    })
    cdp.detach()
    return True


def test_background_sync_sends_the_outbox_with_no_page_open(page: Page,
                                                            phone: BrowserContext) -> None:
    siti = applicant(sex="F")
    phone.set_offline(True)
    fill_application(page, siti)
    expect(page.locator("#waiting")).to_be_visible()
    page.close()  # no page left to replay on `online`: only the worker can send it now

    phone.set_offline(False)
    blank = phone.new_page()  # not an app page: it runs none of our scripts
    dispatch_sync_event(blank, phone)
    for _ in range(100):
        if PassportApplication.objects.exists():
            break
        blank.wait_for_timeout(100)
    assert PassportApplication.objects.count() == 1

    mine = phone.new_page()
    mine.goto("/mine")
    expect(mine.locator(".app .ref")).to_have_text(PassportApplication.objects.get().reference)
    expect(mine.locator(".draft")).to_have_count(0)


def test_reload_offline_shows_last_known_status_and_timeline(page: Page,
                                                             phone: BrowserContext) -> None:
    fill_application(page, applicant())
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    page.goto("/mine")
    expect(page.locator(".app .timeline li")).to_have_count(1)  # fetched online: "received"
    expect(page.locator(".app .stale")).to_have_count(0)

    phone.set_offline(True)
    page.reload()
    card = page.locator(".app")
    expect(card.locator(".status")).to_have_text("Diterima kantor, menunggu verifikasi petugas")
    expect(card.locator(".timeline li")).to_have_count(1)
    expect(card.locator(".fetched")).to_contain_text("Terakhir diperbarui")
    expect(card.locator(".stale")).to_be_visible()

    page.goto(card.locator("a").get_attribute("href") or "")
    expect(page.locator("#receipt #reference")).to_have_text(re.compile(r"^NNK-"))
    expect(page.locator("#receipt .qr svg")).to_be_visible()
    expect(page.locator("#receipt #access-code")).not_to_be_empty()

    # Still offline, in English: the server's label, from the table the phone kept.
    page.click("#lang-toggle")
    expect(page.locator("#receipt")).to_contain_text(
        "Received by the office, awaiting verification")


def test_one_visit_with_signal_is_enough_to_apply_offline(page: Page,
                                                           phone: BrowserContext) -> None:
    # The fixture opened the app once online; the worker took control during that visit, after
    # the page had loaded its on-demand consent text. The page asks again through the worker.
    wait_until(page, "async () => !!(await caches.match('/static/frontend/js/consent.js'))")
    phone.set_offline(True)
    page.reload()
    expect(page.locator("#consent_version")).to_be_enabled()
    expect(page.locator("#consent-text")).not_to_be_empty()
