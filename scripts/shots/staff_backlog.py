"""The staff backlog page during an outage: twelve approved applications waiting, the breaker
open (the page polls /api/v1/queue, so the numbers fall as the backlog drains)."""

from __future__ import annotations

from django.db import transaction
from playwright.sync_api import expect

from immigration.lifecycle import Actor
from immigration.models import Office, PassportApplication
from immigration.print_jobs import CENTRAL_PRINTING
from queueing import breaker
from scripts.shots import ShotContext


def shoot(ctx: ShotContext) -> None:
    Office.objects.filter(code="NNK").update(timezone="Asia/Makassar")
    bambang = ctx.clerk("bambang", "NNK")
    nunukan = Office.objects.get(code="NNK")
    for i in range(12):
        application, _ = PassportApplication.build(
            office=nunukan, applicant=ctx.applicant(),
            service="express" if i % 4 == 0 else "regular",
            passport_type="electronic", application_type="new",
        )
        with transaction.atomic():
            application.save()
            application.record_received(actor=Actor.APPLICANT)
        ctx.make_approvable(application, bambang)
        with transaction.atomic():
            application.approve(by=bambang)
    for _ in range(5):
        breaker.record_failure(CENTRAL_PRINTING, "503 from central")

    page = ctx.new_context(viewport=ctx.DESKTOP).new_page()
    ctx.login(page, bambang)
    expect(page.locator("[data-bind='backlog.pending']")).to_have_text("12")
    expect(page.locator("[data-bind='eta.words']")).to_have_text("Menunggu pusat pulih")
    page.screenshot(path=ctx.path("staff-backlog.png"), full_page=True)
