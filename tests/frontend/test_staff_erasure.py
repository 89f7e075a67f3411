"""Bambang erases Siti's personal data at her request from her application's page, after
checking which consent text she agreed to; for an application being printed the page offers no
erasure and says why."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.db import transaction
from playwright.sync_api import Browser, Page, expect
from rest_framework.test import APIClient

from immigration import consent
from immigration.audit.models import AuditEntry
from immigration.dossier.models import DossierFile
from immigration.models import PassportApplication
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.fixtures.dossier import dossier_store, small_jpeg
from tests.frontend.conftest import staff_login

pytestmark = [pytest.mark.browser, pytest.mark.usefixtures("dossier_rules")]


@pytest.fixture
def counter(browser: Browser, live_server: Any, offices: Any, bambang: User) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  base_url=live_server.url, locale="id-ID")
    context.set_default_timeout(15000)
    page = context.new_page()
    staff_login(page, bambang)
    yield page
    context.close()


def submitted() -> PassportApplication:
    response = APIClient().post("/api/v1/applications", application_payload(), format="json",
                                HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
    assert response.status_code == 201, response.content
    application = PassportApplication.objects.get(reference=response.json()["reference"])
    dossier_store(application, "ktp", small_jpeg(640, 400, seed=1))
    return application


def test_clerk_erases_a_rejected_application_after_confirming(counter: Page,
                                                               bambang: User) -> None:
    application = submitted()
    with transaction.atomic():
        PassportApplication.objects.select_for_update().get(pk=application.pk).reject(
            by=bambang, reason="dokumen tidak sah")
    counter.goto(f"/staff/applications/{application.reference}/dossier")
    expect(counter.locator("#consent-state")).to_have_text(
        f"Persetujuan pemrosesan data: teks versi {consent.CURRENT.version}.")
    counter.click("#erase")
    expect(counter.locator("#erase-no")).to_be_focused()  # the safe choice first
    counter.click("#erase-no")
    expect(counter.locator("#erase-confirm")).to_be_hidden()
    application.refresh_from_db()
    assert application.anonymised_at is None

    counter.click("#erase")
    counter.click("#erase-yes")
    expect(counter.locator("#staff-msg")).to_have_text(
        f"Data pribadi permohonan {application.reference} telah dihapus.")
    expect(counter.locator("#erase")).to_be_hidden()
    expect(counter.locator("#erase-hint")).to_contain_text("Data pribadi dihapus pada")
    application.refresh_from_db()
    assert application.anonymised_at is not None and application.full_name == ""
    assert not DossierFile.objects.filter(application=application).exists()
    assert AuditEntry.objects.get(action="application.erase").actor == bambang


def test_no_erasure_is_offered_while_the_passport_is_being_made(counter: Page,
                                                                bambang: User) -> None:
    application = submitted()
    make_approvable(application, bambang)
    with transaction.atomic():
        PassportApplication.objects.select_for_update().get(pk=application.pk).approve(by=bambang)
    counter.goto(f"/staff/applications/{application.reference}/dossier")
    expect(counter.locator("#erase-hint")).to_contain_text("kantor wajib menyimpannya")
    expect(counter.locator("#erase")).to_be_hidden()
