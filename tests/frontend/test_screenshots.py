"""Phone-size (360x780) screenshots of the main pages, for the README.

They go to a temporary folder on ordinary runs (so tests do not rewrite tracked files); run
with TANGGUH_SCREENSHOTS=1 to refresh docs/screenshots/.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from playwright.sync_api import BrowserContext, Page, expect

from immigration.print_jobs import CENTRAL_PRINTING
from queueing.models import UpstreamHealth
from tests.conftest import applicant
from tests.frontend.conftest import fill_application

pytestmark = pytest.mark.browser

DOCS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def test_screenshots_of_the_main_pages(page: Page, phone: BrowserContext,
                                       tmp_path: Path) -> None:
    out = DOCS if os.environ.get("TANGGUH_SCREENSHOTS") == "1" else tmp_path
    out.mkdir(parents=True, exist_ok=True)
    UpstreamHealth.objects.update_or_create(upstream=CENTRAL_PRINTING,
                                            defaults={"state": "down"})
    siti = applicant(sex="F", full_name="Siti Aminah")

    page.screenshot(path=out / "apply.png", full_page=True)
    phone.set_offline(True)
    fill_application(page, siti)
    expect(page.locator("#waiting")).to_be_visible()
    page.screenshot(path=out / "waiting-to-send.png", full_page=True)
    phone.set_offline(False)
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    page.screenshot(path=out / "acknowledged.png", full_page=True)
    page.click("#outcome a")
    expect(page.locator("#receipt .qr svg")).to_be_visible()
    page.screenshot(path=out / "receipt.png", full_page=True)
    page.goto("/mine")
    expect(page.locator(".app .timeline li")).to_have_count(1)
    phone.set_offline(True)
    page.reload()
    expect(page.locator(".app .stale")).to_be_visible()
    page.screenshot(path=out / "mine-offline.png", full_page=True)
    phone.set_offline(False)
    page.goto("/board")
    expect(page.locator("#central")).to_have_attribute("data-state", "down")
    page.screenshot(path=out / "board-central-down.png", full_page=True)
    page.goto("/track")
    page.screenshot(path=out / "track.png", full_page=True)

    names = sorted(p.name for p in out.glob("*.png"))
    assert names == ["acknowledged.png", "apply.png", "board-central-down.png",
                     "mine-offline.png", "receipt.png", "track.png", "waiting-to-send.png"]
