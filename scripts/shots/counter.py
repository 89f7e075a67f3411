"""The counter's day: the counter page (check-in and calling), the waiting-room display, the
verification desk, the office day (cash report) and the slot picker on the applicant's phone;
each at 360 px and on a counter-sized screen (1366 x 768)."""

from __future__ import annotations

import importlib
import uuid
from typing import Any

from django.contrib.auth.models import Group
from playwright.sync_api import expect
from rest_framework.test import APIClient

from immigration import consent
from scripts.shots import ShotContext

COUNTER = {"width": 1366, "height": 768}


def _walk_in(api: APIClient, ctx: ShotContext, name: str, sex: str, **extra: Any) -> str:
    applicant = ctx.applicant(full_name=name, sex=sex, date_of_birth="1988-03-14")
    applicant.pop("email", None)
    response = api.post("/api/v1/walk-ins", {
        "service": extra.pop("service", "regular"), "passport_type": "electronic",
        "application_type": "new", "applicant": applicant,
        "consent_version": consent.CURRENT.version, **extra},
        format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.content
    return str(response.json()["reference"])


def shoot(ctx: ShotContext) -> None:
    # The runner re-seeds offices only; the published PNBP tariffs come from our own migration.
    from django.apps import apps

    importlib.import_module("immigration.counter.migrations.0002_seed").seed(apps, None)
    bambang = ctx.clerk("bambang", "NNK")
    wati = ctx.clerk("wati", "NNK")
    wati.groups.add(Group.objects.get_or_create(name="supervisor")[0])
    api = APIClient()
    api.force_authenticate(user=bambang)
    siti = _walk_in(api, ctx, "Siti Aminah", "F", check_in=True)
    _walk_in(api, ctx, "Budi Santoso", "M", check_in=True)
    _walk_in(api, ctx, "Rahmat Hidayat", "M", check_in=True, lane="priority")
    _walk_in(api, ctx, "Dewi Lestari", "F", check_in=True, service="express")
    for name in ("Agus Salim", "Nur Aini"):
        _walk_in(api, ctx, name, "M" if name.startswith("A") else "F", check_in=True)
    api.post("/api/v1/offices/NNK/counters/3/call-next")  # express first
    api.post("/api/v1/offices/NNK/counters/1/call-next")  # then priority
    # Siti's interview and fee, paid while billing is down (a manual receipt number).
    api.post(f"/api/v1/applications/{siti}/interview",
             {"note": "Dokumen asli sesuai; tujuan kunjungan keluarga.", "originals_seen": True},
             format="json")
    api.post(f"/api/v1/applications/{siti}/payments",
             {"method": "cash", "receipt_no": "NNK/2026/000123"}, format="json")

    for label, viewport in (("1366", COUNTER), ("360", ctx.PHONE)):
        page = ctx.new_context(viewport=viewport).new_page()
        ctx.login(page, bambang)
        page.goto("/staff/counter")
        page.fill("#counter-name", "2")
        page.locator("#counter-name").dispatch_event("change")
        if label == "1366":
            page.click("#call-next")
        expect(page.locator("#serving-number")).not_to_be_empty()
        page.fill("#checkin-reference", siti)
        page.click("#checkin button[type=submit]")
        expect(page.locator("#ticket-number")).not_to_be_empty()
        page.screenshot(path=ctx.path(f"counter-checkin-call-{label}.png"), full_page=True)

        page.goto(f"/staff/desk#{siti}")
        expect(page.locator("#summary-ref")).to_have_text(siti)
        page.screenshot(path=ctx.path(f"counter-verification-{label}.png"), full_page=True)

        page.goto("/staff/office")
        expect(page.locator("#cash-total")).not_to_be_empty()
        page.screenshot(path=ctx.path(f"counter-office-day-{label}.png"), full_page=True)

        tv = ctx.new_context(viewport=viewport).new_page()
        tv.goto("/display/NNK")
        expect(tv.locator("#now-number")).not_to_have_text("\u2013")
        tv.screenshot(path=ctx.path(f"counter-display-{label}.png"), full_page=True)

    phone = ctx.new_context(viewport=ctx.PHONE).new_page()
    phone.goto("/")
    phone.select_option("#office", "NNK")
    first = phone.locator("#slot-days .slot:not(.full) input").first
    first.check()
    phone.locator("#slot-picker").screenshot(path=ctx.path("apply-slot-picker-360.png"))
