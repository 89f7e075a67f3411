"""Siti follows her application from her phone all the way to "ready for pickup": approved at
the counter, delivered by the outbox to the real central simulator, moved on by central's
signed callbacks."""

from __future__ import annotations

import re

import pytest
from django.db import transaction
from playwright.sync_api import Page, expect

from immigration.models import PassportApplication
from queueing import deliver
from tests.conftest import applicant
from tests.fixtures.approvable import make_approvable
from tests.fixtures.central import wait_until
from tests.frontend.conftest import fill_application

pytestmark = pytest.mark.browser


def test_applicant_sees_her_application_reach_ready_for_pickup(page: Page, wired, bambang):
    fill_application(page, applicant(sex="F", full_name="Siti Aminah"))
    expect(page.locator("#outcome #reference")).to_have_text(re.compile(r"^NNK-"))
    application = PassportApplication.objects.get()

    make_approvable(application, bambang)
    with transaction.atomic():
        PassportApplication.objects.select_for_update().get(pk=application.pk).approve(by=bambang)
    deliver.drain(budget_seconds=10)
    for _ in range(3):  # printing, printed, dispatched
        wired.control.advance()
    wait_until(lambda: PassportApplication.objects.get().status == "ready_for_pickup")

    page.goto("/mine")
    card = page.locator("main")
    expect(card).to_contain_text("Siap diambil")
    expect(card).to_contain_text("Sedang dicetak")  # the timeline shows the way there
    assert wired.control.stats()["print_counts"] == {f"{application.reference}:v1": 1}
