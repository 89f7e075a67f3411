"""Bambang watches Nunukan's backlog drain after central came back: the progress bar and the
time to empty follow the queue live (the page polls its JSON), then the board says when the
queue emptied, in Nunukan's clock. Rina (Kanwil) sees the same board, read-only."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import Browser, expect

from immigration.models import Office
from immigration.oversight.models import RegionalOperator
from immigration.print_jobs import CENTRAL_PRINTING, PRINT_JOB_TOPIC, print_job_key
from queueing.models import MessageStatus, OutboxMessage, QueueSample, UpstreamHealth
from tests.frontend.conftest import staff_login

pytestmark = pytest.mark.browser

LIVE = 10_000  # ms: the page polls every 3 s


def backlog(office: str, n: int) -> list[int]:
    now = timezone.now()
    rows = OutboxMessage.objects.bulk_create([
        OutboxMessage(topic=PRINT_JOB_TOPIC, key=print_job_key(f"{office}-DRAIN-{i:04d}", 1),
                      priority=1 if i % 4 == 0 else 0, created_at=now - dt.timedelta(minutes=40))
        for i in range(n)
    ])
    return [row.pk for row in rows]


def deliver(ids: list[int]) -> None:
    """What the delivery loop leaves behind (tests/queueing prove the loop itself)."""
    OutboxMessage.objects.filter(pk__in=ids).update(status=MessageStatus.DELIVERED,
                                                    delivered_at=timezone.now())


def test_the_dashboard_follows_a_drain_live(browser: Browser, live_server: object,
                                            offices: list[Office], bambang: User) -> None:
    ids = backlog("NNK", 20)
    now = timezone.now()
    QueueSample.objects.create(scope="NNK", topic=PRINT_JOB_TOPIC, pending=20,
                               at=now - dt.timedelta(minutes=3))
    UpstreamHealth.objects.create(upstream=CENTRAL_PRINTING, state=UpstreamHealth.State.RECOVERING,
                                  since=now - dt.timedelta(minutes=2))
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  base_url=live_server.url)  # type: ignore[attr-defined]
    context.set_default_timeout(15000)
    page = context.new_page()
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    staff_login(page, bambang)

    board = page.locator("[data-operations]")
    expect(board.locator(".upstreams li").first).to_contain_text(
        re.compile(r"Pusat percetakan Baru pulih, pengiriman bertahap sejak \d{2}\.\d{2} WITA"))
    expect(board.locator("[data-progress]")).to_be_hidden()  # nothing has left yet
    expect(board.locator("[data-bind='backlog.lanes.express.pending']")).to_have_text("5")
    expect(board.locator("[data-bind='backlog.lanes.regular.pending']")).to_have_text("15")
    expect(board.locator("svg.chart")).to_be_visible()

    deliver(ids[:10])  # half of it leaves: the page shows it without a reload
    expect(board.locator("[data-bind='progress.words']")).to_have_text(
        "10 dari 20 terkirim (50%)", timeout=LIVE)
    expect(board.locator("progress")).to_have_js_property("value", 10)
    expect(board.locator("[data-bind='eta.words']")).to_have_text(
        re.compile(r"^Sekitar .+ lagi, selesai sekitar \d{2}\.\d{2} WITA$"))
    expect(board.locator("[data-bind='backlog.pending']")).to_have_text("10")

    page.click("#lang-toggle")  # English: the server's words, in English
    expect(board.locator("[data-bind='progress.words']")).to_have_text("10 of 20 sent (50%)")
    expect(board.locator("[data-applications] li")).to_have_text("No applications yet.")
    page.click("#lang-toggle")

    deliver(ids[10:])
    expect(board.locator("[data-bind='eta.words']")).to_have_text(
        re.compile(r"^Antrean kosong sejak \d{2}\.\d{2} WITA$"), timeout=LIVE)
    expect(board.locator("[data-progress]")).to_be_hidden()
    expect(board.locator("[data-bind='updated_words']")).to_have_text(
        re.compile(r"^Diperbarui \d{2}\.\d{2}\.\d{2} WITA$"))  # not "6:55:09 PM"
    # CSP-ready: no inline script, no inline style, no inline handler in the dashboard.
    html = board.evaluate("el => el.outerHTML")
    assert "style=" not in html and "<script" not in html
    assert not re.search(r"\son[a-z]+=", html)
    assert errors == []
    context.close()


def test_a_regional_operator_watches_several_offices(browser: Browser, live_server: object,
                                                     offices: list[Office]) -> None:
    rina = User.objects.create_user(username="rina", password="not-used")
    RegionalOperator.objects.create(user=rina, region="Kanwil").offices.set(offices)
    backlog("TPK", 3)
    UpstreamHealth.objects.create(upstream=CENTRAL_PRINTING, state=UpstreamHealth.State.DOWN,
                                  since=timezone.now() - dt.timedelta(hours=3, minutes=10))
    context = browser.new_context(viewport={"width": 1280, "height": 900},
                                  base_url=live_server.url)  # type: ignore[attr-defined]
    context.set_default_timeout(15000)
    page = context.new_page()
    staff_login(page, rina)
    expect(page).to_have_url(re.compile(r"/staff/regional$"))
    cards = page.locator("article[data-office]")
    expect(cards).to_have_count(2)
    tpk = page.locator("article[data-office=TPK]")
    expect(tpk.locator("[data-bind='eta.words']")).to_have_text("Menunggu pusat pulih")
    # Three hours ago may be yesterday in Surabaya: then the date is shown too.
    expect(tpk.locator(".upstreams li[data-state=down]")).to_contain_text(
        re.compile(r"sejak (\d{1,2} \w+ \d{4} )?\d{2}\.\d{2} WIB \(3 jam 10 menit\)"))
    nnk = page.locator("article[data-office=NNK]")
    expect(nnk.locator(".upstreams li[data-state=down]")).to_contain_text("WITA")
    expect(page.locator("nav a[href='/staff/applications']")).to_have_count(0)
    tpk.locator("h2 a").click()
    expect(page).to_have_url(re.compile(r"/staff/board/TPK$"))
    expect(page.locator("svg.chart")).to_be_visible()
    expect(page.locator("[data-operations] [data-bind='backlog.pending']")).to_have_text("3")
    context.close()
