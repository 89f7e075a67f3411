"""A counter's day in Chromium, through the counter pages only: Siti books from her phone,
Bambang (NNK clerk) checks her in by scanning her receipt's QR, the waiting-room display calls
her number, and so on to pickup. The counter browser runs with a fake camera (it shows a test
pattern, not a QR), so the QR path is tested by handing the page a picture of her receipt's QR."""

from __future__ import annotations

import base64
import re
import uuid
from typing import Any

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, BrowserContext, Page, expect

from immigration.models import Office, PassportApplication
from tests.conftest import application_payload, client_for
from tests.frontend.conftest import CHROMIUM, CHROMIUM_ARGS, staff_login

pytestmark = pytest.mark.browser

COUNTER_SCREEN = {"width": 1366, "height": 768}


@pytest.fixture(scope="module")
def camera_browser() -> Any:
    """Chromium with a fake camera that needs no permission prompt (the counter's webcam)."""
    import os

    from playwright.sync_api import sync_playwright

    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True,
            args=[*CHROMIUM_ARGS, "--use-fake-device-for-media-stream",
                  "--use-fake-ui-for-media-stream"])
        yield browser
        browser.close()


@pytest.fixture
def counter_screen(camera_browser: Browser, live_server: Any,
                   offices: list[Office]) -> Any:
    context = camera_browser.new_context(viewport=COUNTER_SCREEN, base_url=live_server.url,
                                         locale="id-ID", permissions=["camera"])
    context.set_default_timeout(15000)
    yield context
    context.close()


@pytest.fixture
def tv(camera_browser: Browser, live_server: Any, offices: list[Office]) -> Any:
    context = camera_browser.new_context(viewport={"width": 1280, "height": 720},
                                         base_url=live_server.url, locale="id-ID")
    context.set_default_timeout(15000)
    yield context
    context.close()


def qr_picture(page: Page, text: str) -> bytes:
    """A picture of the receipt's QR, drawn by the same vendored generator the receipt uses."""
    data_url = page.evaluate("""async (text) => {
        const { default: qrcode } = await import("/static/frontend/vendor/qrcode.mjs");
        const qr = qrcode(0, "M"); qr.addData(text); qr.make();
        const svg = qr.createSvgTag({ cellSize: 6, margin: 24 });
        const img = new Image();
        img.src = "data:image/svg+xml;base64," + btoa(svg);
        await img.decode();
        const canvas = document.createElement("canvas");
        canvas.width = img.naturalWidth; canvas.height = img.naturalHeight;
        const ctx = canvas.getContext("2d");
        ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
        ctx.drawImage(img, 0, 0);
        return canvas.toDataURL("image/png");
    }""", text)
    return base64.b64decode(data_url.split(",", 1)[1])


def staff_submit(user: User, **overrides: Any) -> dict[str, Any]:
    response = client_for(user).post("/api/v1/walk-ins", {
        k: v for k, v in application_payload(**overrides).items() if k != "office"},
        format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.content
    return response.json()


def test_check_in_by_qr_and_by_typing_then_the_display_calls_the_numbers(
        counter_screen: BrowserContext, tv: BrowserContext, bambang: User) -> None:
    siti = staff_submit(bambang, applicant={"sex": "F", "full_name": "Siti Aminah"})
    budi = staff_submit(bambang, applicant={"sex": "M", "full_name": "Budi Santoso"})

    display = tv.new_page()
    display.goto("/display/NNK")
    expect(display.locator("#now-number")).to_have_text("\u2013")  # a dash: nobody called yet

    page = counter_screen.new_page()
    staff_login(page, bambang)
    page.goto("/staff/counter")
    expect(page.locator("h1")).to_have_text("Loket")

    # The fake camera starts and is read frame after frame (a test pattern: no code found).
    page.click("#scan-start")
    expect(page.locator("#scan-status")).to_have_attribute("data-state", "scanning")
    page.wait_for_function("+document.getElementById('scan-canvas').dataset.frames > 2")
    reader = page.locator("#scan-status").get_attribute("data-reader")
    assert reader in {"native", "jsqr"}
    page.click("#scan-stop")

    # Siti shows her receipt's QR: a picture of it is read and she gets A-001.
    page.set_input_files("#scan-file", {"name": "qr.png", "mimeType": "image/png",
                                        "buffer": qr_picture(page, siti["reference"])})
    expect(page.locator("#ticket-number")).to_have_text("A-001")
    expect(page.locator("#ticket")).to_contain_text(siti["reference"])

    # Budi's receipt is typed, lower case and with spaces, as a clerk might.
    page.fill("#checkin-reference", "NNK-0000-0000")
    page.click("#checkin button[type=submit]")
    expect(page.locator("#checkin [data-form-err]")).not_to_be_empty()  # no such application
    page.fill("#checkin-reference", " " + budi["reference"].lower().replace("-", " - ") + " ")
    page.click("#checkin button[type=submit]")
    expect(page.locator("#ticket-number")).to_have_text("A-002")
    # Checking in twice keeps the number.
    page.fill("#checkin-reference", siti["reference"])
    page.click("#checkin button[type=submit]")
    expect(page.locator("#ticket-number")).to_have_text("A-001")
    expect(page.locator("#ticket")).to_contain_text("nomornya tetap")

    # Counter 3 calls: Siti first; the display shows her number and the counter, not her name.
    page.fill("#counter-name", "3")
    page.click("#call-next")
    expect(page.locator("#serving-number")).to_have_text("A-001")
    expect(display.locator("#now-number")).to_have_text("A-001")
    expect(display.locator("#now-counter")).to_have_text("3")
    expect(display.locator("#display")).to_have_attribute(
        "data-last-spoken", "Nomor antrean A 1, silakan ke loket 3.")
    assert "Siti" not in display.content() and siti["reference"] not in display.content()

    page.click("#serving button[data-act=done]")
    expect(page.locator("#serving")).to_contain_text("Selesai")
    page.click("#call-next")
    expect(page.locator("#serving-number")).to_have_text("A-002")
    expect(display.locator("#now-number")).to_have_text("A-002")
    expect(display.locator("#recent")).to_contain_text("A-001")
    page.click("#serving button[data-act=done]")
    page.click("#call-next")
    expect(page.locator("#staff-msg")).to_have_text("Tidak ada yang menunggu.")
    # The counter's name is the desk's: remembered; nothing personal is kept in the browser.
    stored = page.evaluate("JSON.stringify(localStorage)")
    assert re.search(r"counter-name", stored) and "Siti" not in stored
    assert PassportApplication.objects.filter(tickets__isnull=False).distinct().count() == 2
