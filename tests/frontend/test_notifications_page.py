"""Siti asks to be told, on her receipt, and her phone shows a push the office sent: the opt-in
box (loaded on demand), and the service worker's `push` handler driven through DevTools
(`ServiceWorker.deliverPushMessage`), since headless Chromium has no push service of its own."""

from __future__ import annotations

import json
import re
import time

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from immigration.models import PassportApplication
from immigration.notify import texts
from immigration.notify.models import Follow
from tests.conftest import applicant
from tests.frontend.conftest import fill_application, wait_until

pytestmark = pytest.mark.browser


def test_applicant_opts_in_to_sms_on_her_receipt(page: Page) -> None:
    fill_application(page, applicant(sex="F", full_name="Siti Aminah", phone="081234500099"))
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    reference = PassportApplication.objects.get().reference
    page.goto(f"/receipt#{reference}")
    box = page.locator("#notify")
    expect(box).to_be_visible()
    # Where the choice is made, iPhone users learn that push needs the home-screen app.
    expect(box).to_contain_text("Layar Utama")
    page.check("#notify-sms")
    page.select_option("#notify-lang", "en")
    page.click("#notify-save")
    expect(page.locator("#notify-msg")).to_have_text("Tersimpan.")
    follow = Follow.objects.select_related("recipient").get()
    assert follow.recipient.channel == "sms" and follow.recipient.language == "en"
    assert follow.recipient.address == "+6281234500099"  # the number she gave, not a new one
    # Reopened later, the box remembers her choice.
    page.reload()
    expect(page.locator("#notify-sms")).to_be_checked()
    expect(page.locator("#notify-lang")).to_have_value("en")


def test_service_worker_shows_the_push_the_office_sent(page: Page, phone: BrowserContext,
                                                       live_server) -> None:
    phone.grant_permissions(["notifications"], origin=live_server.url)
    # A push delivered before the worker is active is dropped: wait until it is ready.
    page.evaluate("async () => { await navigator.serviceWorker.ready; }")
    cdp = phone.new_cdp_session(page)
    registrations: list[dict] = []
    cdp.on("ServiceWorker.workerRegistrationUpdated",
           lambda event: registrations.extend(event["registrations"]))
    cdp.send("ServiceWorker.enable")
    deadline = time.monotonic() + 10
    while not registrations and time.monotonic() < deadline:
        page.wait_for_timeout(100)
    page.wait_for_timeout(500)  # every registration the browser knows of has been reported
    # DevTools may also report registrations of earlier tests' contexts (one browser serves the
    # session): the push goes to each of this origin's; only this page's worker can show it.
    ours = {r["registrationId"] for r in registrations
            if not r.get("isDeleted") and r["scopeURL"].startswith(live_server.url)}
    assert ours
    data = texts.push_data(texts.READY, "id", ["NNK-TEST-0001"], stop_token="tok",
                           tag="event-1.r1")
    shown = []
    for _attempt in range(3):  # same tag: a second delivery replaces, it does not add
        for registration_id in ours:
            cdp.send("ServiceWorker.deliverPushMessage", {
                "origin": live_server.url, "registrationId": registration_id,
                "data": json.dumps(data)})
        try:
            shown = wait_until(page, """async () => {
                const r = await navigator.serviceWorker.ready;
                const ns = await r.getNotifications();
                return ns.map((n) => ({title: n.title, body: n.body, tag: n.tag,
                                       actions: n.actions.map((a) => a.action)}));
            }""", timeout_s=5)
            break
        except AssertionError:
            continue
    assert shown == [{"title": "Status paspor", "body": data["body"], "tag": "event-1.r1",
                      "actions": ["stop"]}], f"registrations seen: {registrations}"
    assert "NNK-TEST-0001" in shown[0]["body"] and "siap diambil" in shown[0]["body"]
