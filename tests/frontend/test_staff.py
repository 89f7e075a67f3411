"""Bambang at the Nunukan counter: the backlog page and approving an application."""

from __future__ import annotations

import uuid

import pytest
from django.contrib.auth.models import User
from playwright.sync_api import Browser, expect
from rest_framework.test import APIClient

from immigration.models import PassportApplication
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.frontend.conftest import PHONE, staff_login

pytestmark = pytest.mark.browser


def test_bambang_sees_the_queue_and_approves(browser: Browser, live_server: object,
                                             offices: object, bambang: User) -> None:
    created = APIClient().post("/api/v1/applications", application_payload(), format="json",
                               HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    reference = created.json()["reference"]
    make_approvable(reference, bambang)

    context = browser.new_context(viewport=PHONE, base_url=live_server.url)  # type: ignore[attr-defined]
    page = context.new_page()
    staff_login(page, bambang)
    expect(page.locator("[data-bind='backlog.pending']")).to_have_text("0")
    expect(page.locator(".upstreams li[data-state=up]").first).to_contain_text("Berjalan normal")

    page.goto("/staff/applications")
    row = page.locator(f"tr[data-reference='{reference}']")
    row.locator("button[data-action=approve]").click()
    expect(row.locator("td[data-status]")).to_have_attribute("data-status", "queued_for_printing")
    assert PassportApplication.objects.get(reference=reference).status == "queued_for_printing"

    page.goto("/staff/")
    # the print job waits in the outbox
    expect(page.locator("[data-bind='backlog.pending']")).to_have_text("1")
    context.close()
