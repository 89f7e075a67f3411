"""A screenshot of the staff backlog page during an outage, for the README (refreshed with
TANGGUH_SCREENSHOTS=1, like the applicant pages)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from playwright.sync_api import Browser, expect

from immigration.models import Office, PassportApplication
from queueing import breaker
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.frontend.conftest import staff_login
from tests.frontend.test_screenshots import DOCS

pytestmark = pytest.mark.browser


def test_screenshot_of_the_backlog_page_while_central_is_down(
    browser: Browser, live_server: object, offices: list[Office], bambang: User, tmp_path: Path
) -> None:
    out = DOCS if os.environ.get("TANGGUH_SCREENSHOTS") == "1" else tmp_path
    for i in range(12):
        payload = application_payload(service="express" if i % 4 == 0 else "regular")
        application, _ = PassportApplication.build(
            office=offices[0], applicant=payload["applicant"], service=payload["service"],
            passport_type="electronic", application_type="new",
        )
        with transaction.atomic():
            application.save()
            application.record_received(actor="applicant")
        make_approvable(application, bambang)
        with transaction.atomic():
            application.approve(by=bambang)
    for _ in range(5):
        breaker.record_failure("central_printing", "503 from central")

    context = browser.new_context(viewport={"width": 1024, "height": 900},
                                  base_url=live_server.url)  # type: ignore[attr-defined]
    page = context.new_page()
    staff_login(page, bambang)
    expect(page.locator("#pending")).to_have_text("12")
    expect(page.locator("#breaker")).to_have_text("open")
    page.screenshot(path=out / "staff-backlog.png", full_page=True)
    context.close()
    assert (out / "staff-backlog.png").stat().st_size > 0
