"""The shell: language, the office service board, and what the service worker may keep."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from immigration.print_jobs import CENTRAL_PRINTING
from queueing.models import UpstreamHealth
from tests.conftest import applicant
from tests.frontend.conftest import fill_application, wait_until

pytestmark = pytest.mark.browser


def test_language_switch_is_remembered_and_sent_to_the_api(page: Page) -> None:
    expect(page.locator("h1")).to_have_text("Ajukan paspor")
    page.click("#lang-toggle")
    expect(page.locator("h1")).to_have_text("Apply for a passport")
    expect(page.locator("html")).to_have_attribute("lang", "en")

    page.reload()
    expect(page.locator("h1")).to_have_text("Apply for a passport")
    with page.expect_request(re.compile(r"/api/v1/offices$")) as request:
        page.goto("/board")
    assert request.value.headers["accept-language"] == "en"
    expect(page.locator("#board h2")).not_to_be_empty()
    expect(page.locator(".services li[data-service=registration] strong")).to_have_text(
        "Registration")


def test_service_board_reflects_central_down_and_up(page: Page) -> None:
    UpstreamHealth.objects.update_or_create(upstream=CENTRAL_PRINTING,
                                            defaults={"state": "down"})
    page.goto("/board")
    expect(page.locator("#central")).to_have_attribute("data-state", "down")
    expect(page.locator("#central strong")).to_have_text("Tidak dapat dihubungi")
    expect(page.locator(".services li[data-service=printing]")).to_have_class("down")

    UpstreamHealth.objects.update_or_create(upstream=CENTRAL_PRINTING,
                                            defaults={"state": "up"})
    page.select_option("#board-office", "NNK")
    page.reload()
    expect(page.locator("#central")).to_have_attribute("data-state", "up")
    expect(page.locator(".services li[data-service=printing]")).to_have_class("ok")


def test_worker_caches_the_shell_and_never_the_api(page: Page, phone: BrowserContext) -> None:
    fill_application(page, applicant())
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    page.goto("/board")
    expect(page.locator("#central")).to_be_visible()  # the API answered and was not stored
    page.goto("/mine")
    expect(page.locator(".app .timeline li")).to_have_count(1)

    cached = page.evaluate("""async () => {
        const urls = [];
        for (const name of await caches.keys())
            for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
        return urls;
    }""")
    paths = {re.sub(r"^https?://[^/]+", "", url) for url in cached}
    assert {"/", "/mine", "/board", "/receipt", "/track", "/static/frontend/js/outbox.js"} <= paths
    assert not [p for p in paths if p.startswith("/api/") or p.startswith("/staff")]

    phone.set_offline(True)  # every page of the shell opens without a network
    for path, heading in [("/", "Ajukan paspor"), ("/track", "Lacak permohonan"),
                          ("/board", "Layanan kantor"), ("/mine", "Permohonan di perangkat ini")]:
        page.goto(path)
        expect(page.locator("h1")).to_have_text(heading)


def test_cached_shell_stays_within_100_kb(page: Page) -> None:
    # Everything the worker holds after a first visit, counted as the browser stores it.
    sizes = page.evaluate("""async () => {
        const sizes = {};
        for (const name of await caches.keys()) {
            const cache = await caches.open(name);
            for (const request of await cache.keys()) {
                const body = await (await cache.match(request)).blob();
                sizes[new URL(request.url).pathname] = body.size;
            }
        }
        return sizes;
    }""")
    total = sum(sizes.values())
    print(f"app shell: {len(sizes)} cached responses, {total} bytes")
    assert "/static/frontend/vendor/qrcode.mjs" not in sizes  # on demand: receipts only
    assert total <= 100_000, sizes


def test_receipt_library_is_kept_on_demand_for_offline_receipts(page: Page,
                                                                phone: BrowserContext) -> None:
    fill_application(page, applicant())
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    # Having an application, the phone fetched the QR library; offline, the receipt still has it.
    wait_until(page, """async () => !!(await caches.match("/static/frontend/vendor/qrcode.mjs"))""")
    phone.set_offline(True)
    page.click("#outcome a")
    expect(page.locator("#receipt .qr svg")).to_be_visible()
