"""What the phone holds, at phone size (360x780): the apply page opened offline while an
application waits to be sent, and the question before a refused draft is deleted."""

from __future__ import annotations

import uuid

from playwright.sync_api import expect

from scripts.shots import ShotContext


def shoot(ctx: ShotContext) -> None:
    from rest_framework.test import APIClient

    from tests.conftest import application_payload
    from tests.frontend.conftest import wait_until

    phone = ctx.new_context(service_workers="allow")
    page = phone.new_page()
    page.goto("/")
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#office option", state="attached")
    # The consent text's script, kept by the worker for the offline visit below.
    wait_until(page, "async () => !!(await caches.match('/static/frontend/js/consent.js'))")

    # Dewi already has an application in progress: her second one is refused (409).
    dewi = ctx.applicant(sex="F", full_name="Dewi Lestari")
    APIClient().post("/api/v1/applications", application_payload(applicant=dewi),
                     format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    ctx.fill_application(page, dewi)
    expect(page.locator("#track-other")).to_be_visible()

    # Siti applies with no signal, then opens the app again, still offline.
    phone.set_offline(True)
    page.goto("/")
    page.get_by_role("button", name="Ajukan permohonan lain").click()
    ctx.fill_application(page, ctx.applicant(sex="F", full_name="Siti Aminah"))
    expect(page.locator("#waiting")).to_be_visible()
    page.reload()
    expect(page.locator("#on-phone li")).to_have_count(2)
    page.screenshot(path=ctx.path("waiting-on-this-phone.png"), full_page=True)

    page.goto("/mine")
    page.locator(".draft.failed").get_by_role("button", name="Hapus draf").click()
    expect(page.get_by_role("button", name="Ya, hapus")).to_be_visible()
    page.screenshot(path=ctx.path("discard-refused.png"), full_page=True)
    phone.set_offline(False)
