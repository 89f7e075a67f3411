"""Bambang signs in for the first time in a real browser: password, then the enrolment page with
its QR code drawn on the device, then a code; later he sees which application is being guessed."""

from __future__ import annotations

import base64
import uuid

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect
from rest_framework.test import APIClient

from immigration.signin.second_factor import confirmed_device, pending_device
from tests.conftest import application_payload, totp_code
from tests.frontend.conftest import PHONE, STAFF_PASSWORD

pytestmark = pytest.mark.browser


def test_first_sign_in_enrols_then_the_locked_reference_is_flagged(
        browser: Browser, live_server: object, offices: object, bambang: User,
        settings: object) -> None:
    settings.ACCESS_CODE_FAILURE_LIMIT = 2  # type: ignore[attr-defined]
    created = APIClient().post("/api/v1/applications", application_payload(), format="json",
                               HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4())).json()
    bambang.set_password(STAFF_PASSWORD)
    bambang.save()
    context = browser.new_context(viewport=PHONE, base_url=live_server.url)  # type: ignore[attr-defined]
    page = context.new_page()
    page.goto("/staff/applications")
    page.fill("#id_username", "bambang")
    page.fill("#id_password", STAFF_PASSWORD)
    page.click("button[type=submit]")
    # Not the list yet: the enrolment page, with the QR code drawn by the page's own script.
    expect(page.locator("#otp-qr svg")).to_be_visible()
    device = pending_device(bambang)
    expect(page.locator("#otp-secret")).to_have_text(base64.b32encode(device.bin_key).decode())
    page.fill("#id_otp", totp_code(device))
    with page.expect_navigation():
        page.click("#otp-form button[type=submit]")
    assert page.url.endswith("/staff/applications")
    assert confirmed_device(bambang) is not None
    row = page.locator(f"tr[data-reference='{created['reference']}']")
    expect(row).to_be_visible()
    expect(row.locator("[data-lookups-locked]")).to_have_count(0)

    for n in range(2):  # someone guessing the access code
        APIClient(REMOTE_ADDR=f"203.0.113.{n}").get(
            f"/api/v1/applications/{created['reference']}", HTTP_X_ACCESS_CODE="WRONG-CODE")
    page.reload()
    expect(row.locator("[data-lookups-locked]")).to_contain_text("dikunci hingga")
    context.close()
