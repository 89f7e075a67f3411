"""The applicant PWA at phone size (360x780): apply, waiting to send (offline), acknowledged,
receipt, my applications offline, the service board with central down, track."""

from __future__ import annotations

import re

from playwright.sync_api import expect

from immigration.print_jobs import CENTRAL_PRINTING
from queueing.models import UpstreamHealth
from scripts.shots import ShotContext


def shoot(ctx: ShotContext) -> None:
    UpstreamHealth.objects.update_or_create(upstream=CENTRAL_PRINTING,
                                            defaults={"state": "down"})
    phone = ctx.new_context(service_workers="allow")
    page = phone.new_page()
    page.goto("/")
    # Installed and in control, so the offline steps below are served from the app shell.
    page.evaluate("navigator.serviceWorker.ready.then(() => true)")
    page.wait_for_function("() => navigator.serviceWorker.controller !== null")
    page.wait_for_selector("#office option", state="attached")
    page.screenshot(path=ctx.path("apply.png"), full_page=True)

    phone.set_offline(True)
    ctx.fill_application(page, ctx.applicant(sex="F", full_name="Siti Aminah"))
    expect(page.locator("#waiting")).to_be_visible()
    page.screenshot(path=ctx.path("waiting-to-send.png"), full_page=True)
    phone.set_offline(False)
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    page.screenshot(path=ctx.path("acknowledged.png"), full_page=True)

    page.click("#outcome a")
    expect(page.locator("#receipt .qr svg")).to_be_visible()
    page.screenshot(path=ctx.path("receipt.png"), full_page=True)

    page.goto("/mine")
    expect(page.locator(".app .timeline li")).to_have_count(1)
    phone.set_offline(True)
    page.reload()
    expect(page.locator(".app .stale")).to_be_visible()
    page.screenshot(path=ctx.path("mine-offline.png"), full_page=True)
    phone.set_offline(False)

    page.goto("/board")
    expect(page.locator("#central")).to_have_attribute("data-state", "down")
    page.screenshot(path=ctx.path("board-central-down.png"), full_page=True)
    page.goto("/track")
    page.screenshot(path=ctx.path("track.png"), full_page=True)
