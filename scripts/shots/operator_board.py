"""The operator dashboard while Nunukan's backlog drains after a night without central: states
and since when, time to empty in words, the progress bar, lanes, and the 24-hour chart drawn
from minute samples; then a Kanwil operator's overview of three offices."""

from __future__ import annotations

import datetime as dt
import math

from django.contrib.auth.models import User
from django.utils import timezone
from playwright.sync_api import expect

from immigration.lifecycle import Status
from immigration.models import Office, PassportApplication
from immigration.oversight.models import RegionalOperator
from immigration.print_jobs import CENTRAL_PRINTING, PRINT_JOB_TOPIC, print_job_key
from queueing.models import MessageStatus, OutboxMessage, QueueSample, UpstreamHealth
from scripts.shots import ShotContext

WIDE = {"width": 1280, "height": 900}


def _jobs(office: str, n: int, *, status: str = MessageStatus.PENDING, express_every: int = 4,
          created: dt.datetime, delivered: dt.datetime | None = None, start: int = 0,
          ctx: ShotContext | None = None) -> None:
    """`n` print jobs in the outbox. With `ctx`, each belongs to an application in the status it
    would have (staged directly: the picture is about the queue, not about how it got there)."""
    references = [f"{office}-SHOT-{start + i:05d}" for i in range(n)]
    if ctx is not None:
        where = Office.objects.get(code=office)
        applications = []
        for i in range(n):
            application, _ = PassportApplication.build(
                office=where, applicant=ctx.applicant(),
                service="express" if i % express_every == 0 else "regular",
                passport_type="electronic", application_type="new")
            application.status = (Status.QUEUED_FOR_PRINTING if status != MessageStatus.DELIVERED
                                  else Status.SENT_TO_CENTRAL)
            applications.append(application)
        PassportApplication.objects.bulk_create(applications)
        references = [a.reference for a in applications]
    OutboxMessage.objects.bulk_create([
        OutboxMessage(topic=PRINT_JOB_TOPIC, key=print_job_key(reference, 1),
                      priority=1 if i % express_every == 0 else 0, status=status,
                      created_at=created, delivered_at=delivered)
        for i, reference in enumerate(references)
    ])


def _night_without_central(office: str, now: dt.datetime) -> None:
    """24 hours of minute samples: a quiet day, central gone for seven hours in the night while
    applications kept arriving, then the drain that is still running."""
    down_from, down_to = now - dt.timedelta(hours=8), now - dt.timedelta(minutes=25)
    outage_minutes = (down_to - down_from).total_seconds() / 60
    rows = []
    waiting = 0.0
    for minute in range(24 * 60, 0, -1):
        at = (now - dt.timedelta(minutes=minute)).replace(second=0, microsecond=0)
        if down_from <= at < down_to:  # 180 arrive while central is gone
            waiting += 180 / outage_minutes
            delivered = 0
        elif at >= down_to:  # the drain: 6 a minute leave, 0.4 a minute still arrive
            delivered = 6
            waiting = max(0.0, waiting + 0.4 - delivered)
        else:  # a quiet day: what arrives leaves within the minute
            delivered = round(1 + math.sin(minute / 60))
        rows.append(QueueSample(scope=office, topic=PRINT_JOB_TOPIC, at=at,
                                pending=round(waiting), delivered=delivered))
    QueueSample.objects.bulk_create(rows)


def shoot(ctx: ShotContext) -> None:
    now = timezone.now()
    Office.objects.filter(code__in=["NNK", "DPS"]).update(timezone="Asia/Makassar")
    bambang = ctx.clerk("bambang", "NNK")
    _night_without_central("NNK", now)
    # 180 waited at the peak: 140 left since central came back (60 in the last ten minutes).
    _jobs("NNK", 80, status=MessageStatus.DELIVERED, created=now - dt.timedelta(hours=6),
          delivered=now - dt.timedelta(minutes=18), ctx=ctx)
    _jobs("NNK", 60, status=MessageStatus.DELIVERED, created=now - dt.timedelta(hours=4),
          delivered=now - dt.timedelta(minutes=4), start=100, ctx=ctx)
    _jobs("NNK", 40, created=now - dt.timedelta(hours=3, minutes=12), start=200, ctx=ctx)
    UpstreamHealth.objects.create(upstream=CENTRAL_PRINTING, state=UpstreamHealth.State.UP,
                                  since=now - dt.timedelta(minutes=25))

    page = ctx.new_context(viewport=WIDE).new_page()
    ctx.login(page, bambang)
    board = page.locator("[data-operations]")
    expect(board.locator("[data-bind='eta.words']")).to_contain_text("lagi")
    expect(board.locator("[data-progress]")).to_be_visible()
    board.screenshot(path=ctx.path("operator-dashboard.png"))

    # The Kanwil's view: Nunukan draining, Tanjung Perak empty, Jakarta Selatan waiting.
    rina = User.objects.create_user(username="rina", password=ctx.STAFF_PASSWORD)
    RegionalOperator.objects.create(user=rina, region="Kanwil (contoh)").offices.set(
        Office.objects.filter(code__in=["NNK", "TPK", "JKS"]))
    _jobs("TPK", 25, status=MessageStatus.DELIVERED, created=now - dt.timedelta(hours=2),
          delivered=now - dt.timedelta(minutes=41), ctx=ctx)
    _jobs("JKS", 12, created=now - dt.timedelta(minutes=50), express_every=3, ctx=ctx)
    _jobs("JKS", 30, status=MessageStatus.DELIVERED, created=now - dt.timedelta(hours=1),
          delivered=now - dt.timedelta(minutes=3), start=100, ctx=ctx)
    page = ctx.new_context(viewport=WIDE).new_page()
    ctx.login(page, rina)
    expect(page.locator("article[data-office]")).to_have_count(3)
    page.screenshot(path=ctx.path("regional-overview.png"), full_page=True)
