"""The operator dashboard in words: states and since when, backlog by lane, rate, time to empty,
drain progress, the minute samples behind the chart, and the chart itself."""

from __future__ import annotations

import datetime as dt
import re
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from frontend.board_chart import render_chart
from immigration.models import Office
from immigration.office_time import format_moment
from immigration.oversight.board import (
    chart_samples,
    duration_words,
    operator_board,
    sample_office_queues,
)
from immigration.print_jobs import CENTRAL_PRINTING, PRINT_JOB_TOPIC, print_job_key
from queueing import breaker
from queueing.models import (
    MessageStatus,
    OutboxMessage,
    QueueSample,
    UpstreamHealth,
    UpstreamOutage,
)
from tests.conftest import client_for

pytestmark = pytest.mark.django_db

_serial = iter(range(1, 10**6))


def jobs(office: Office, n: int, *, status: str = MessageStatus.PENDING, priority: int = 0,
         delivered_at: dt.datetime | None = None, created_at: dt.datetime | None = None) -> None:
    """`n` print jobs of `office` in the outbox, as approval would leave them (no payload
    needed: nothing is sent in these tests)."""
    OutboxMessage.objects.bulk_create([
        OutboxMessage(topic=PRINT_JOB_TOPIC,
                      key=print_job_key(f"{office.code}-TEST-{next(_serial):04d}", 1),
                      status=status, priority=priority, delivered_at=delivered_at,
                      created_at=created_at or timezone.now())
        for _ in range(n)
    ])


def central_down() -> None:
    for _ in range(10):
        breaker.record_failure(CENTRAL_PRINTING, "503 from central")


def test_an_office_with_nothing_ever_sent_says_the_queue_is_empty(nunukan: Office) -> None:
    board = operator_board(nunukan, language="id")
    assert board["eta"] == {"state": "empty", "seconds": 0, "since": None,
                            "words": "Antrean kosong"}
    assert board["progress"] is None
    assert board["oldest"]["words"] == "Tidak ada yang menunggu"
    assert board["upstreams"][0]["name"] == CENTRAL_PRINTING
    assert board["upstreams"][0]["words"] == "Berjalan normal"


def test_an_emptied_queue_says_since_when_in_the_offices_clock(nunukan: Office) -> None:
    last = timezone.now() - dt.timedelta(minutes=7)
    jobs(nunukan, 3, status=MessageStatus.DELIVERED, delivered_at=last - dt.timedelta(minutes=5))
    jobs(nunukan, 1, status=MessageStatus.DELIVERED, delivered_at=last)
    board = operator_board(nunukan, language="id")
    assert board["eta"]["state"] == "empty"
    assert board["eta"]["words"] == f"Antrean kosong sejak {format_moment(last, nunukan)}"
    assert board["eta"]["words"].endswith(" WITA")  # Nunukan's wall clock, not the server's


def test_while_central_is_down_the_board_waits_for_it_and_says_since_when(
        nunukan: Office) -> None:
    jobs(nunukan, 12)
    central_down()
    board = operator_board(nunukan, language="id")
    since = UpstreamHealth.objects.get(upstream=CENTRAL_PRINTING).since
    assert board["eta"]["state"] == "waiting_for_central"
    assert board["eta"]["words"] == "Menunggu pusat pulih"
    assert board["progress"] is None
    central = board["upstreams"][0]
    assert central["state"] == "down"
    assert central["words"] == (f"Tidak dapat dihubungi sejak {format_moment(since, nunukan)}"
                                " (kurang dari 1 menit)")
    english = operator_board(nunukan, language="en")
    assert english["eta"]["words"] == "Waiting for central to recover"
    assert english["upstreams"][0]["words"].startswith("Cannot be reached since ")


def test_down_since_counts_from_the_outage_not_from_the_last_failed_probe(
        nunukan: Office) -> None:
    now = timezone.now()
    # Down 40 minutes ago, a probe passed at -5, the half-open spell failed at -2: the same
    # outage (still open), so the board counts from -40.
    UpstreamOutage.objects.create(upstream=CENTRAL_PRINTING, opened_at=now - dt.timedelta(
        minutes=40))
    UpstreamHealth.objects.create(upstream=CENTRAL_PRINTING, state=UpstreamHealth.State.DOWN,
                                  since=now - dt.timedelta(minutes=2))
    central = operator_board(nunukan, language="id")["upstreams"][0]
    assert central["since"] == now - dt.timedelta(minutes=40)
    assert central["words"].endswith("(40 menit)")


def test_after_recovery_up_since_is_when_the_outage_closed(nunukan: Office) -> None:
    central_down()
    breaker.probe_result(CENTRAL_PRINTING, True)
    for _ in range(3):
        breaker.record_success(CENTRAL_PRINTING)
    outage = UpstreamOutage.objects.get(upstream=CENTRAL_PRINTING)
    assert outage.closed_at is not None
    central = operator_board(nunukan, language="id")["upstreams"][0]
    assert central["state"] == "up"
    assert central["since"] == outage.closed_at
    assert central["words"] == f"Berjalan normal sejak {format_moment(outage.closed_at, nunukan)}"


def test_time_to_empty_is_the_backlog_over_the_recent_rate(nunukan: Office) -> None:
    now = timezone.now()
    # 20 delivered over the last 10 minutes: 2 per minute; 30 waiting: about 15 minutes.
    for minute in range(10):
        jobs(nunukan, 2, status=MessageStatus.DELIVERED,
             delivered_at=now - dt.timedelta(minutes=minute, seconds=30))
    jobs(nunukan, 30)
    board = operator_board(nunukan, language="id")
    assert board["rate"]["per_minute"] == pytest.approx(2.0, abs=0.05)
    assert board["rate"]["words"] == "2 per menit (10 menit terakhir)"
    assert board["eta"]["state"] == "draining"
    assert board["eta"]["seconds"] == pytest.approx(15 * 60, rel=0.03)
    finish = now + dt.timedelta(seconds=board["eta"]["seconds"])
    assert board["eta"]["words"] == (f"Sekitar 15 menit lagi, selesai sekitar "
                                     f"{format_moment(finish, nunukan)}")
    assert operator_board(nunukan, language="en")["eta"]["words"].startswith(
        "About 15 minutes to go, done around ")


def test_right_after_recovery_the_rate_counts_only_the_minutes_since(nunukan: Office) -> None:
    now = timezone.now()
    UpstreamHealth.objects.create(upstream=CENTRAL_PRINTING, state=UpstreamHealth.State.RECOVERING,
                                  since=now - dt.timedelta(minutes=2))
    jobs(nunukan, 20, status=MessageStatus.DELIVERED, delivered_at=now - dt.timedelta(seconds=30))
    jobs(nunukan, 100)
    board = operator_board(nunukan, language="id")
    # 20 in the 2 minutes since recovery: 10 a minute, not 2 (20 over a 10-minute window).
    assert board["rate"]["per_minute"] == pytest.approx(10.0, rel=0.05)
    assert board["rate"]["window_minutes"] == 2
    assert board["eta"]["words"].startswith("Sekitar 10 menit lagi")
    assert board["upstreams"][0]["words"].startswith("Baru pulih, pengiriman bertahap sejak ")


def test_central_up_but_nothing_sent_gives_no_estimate(nunukan: Office) -> None:
    jobs(nunukan, 5)
    board = operator_board(nunukan, language="id")
    assert board["eta"]["state"] == "stalled"
    assert board["eta"]["seconds"] is None
    assert board["eta"]["words"] == ("Belum ada pengiriman dalam 10 menit terakhir; "
                                     "perkiraan belum ada")


def test_backlog_by_status_and_lane_is_the_offices_own(nunukan: Office,
                                                      tanjung_perak: Office) -> None:
    jobs(nunukan, 4, priority=1)
    jobs(nunukan, 7, priority=0)
    jobs(nunukan, 2, status=MessageStatus.IN_FLIGHT, priority=0)
    jobs(nunukan, 1, status=MessageStatus.DEAD, priority=1)
    jobs(tanjung_perak, 50)  # another office's backlog is not Nunukan's
    backlog = operator_board(nunukan, language="id")["backlog"]
    assert (backlog["pending"], backlog["in_flight"], backlog["dead"], backlog["waiting"]) == \
        (11, 2, 1, 13)
    assert backlog["lanes"]["express"] == {"label": "Percepatan", "pending": 4, "in_flight": 0,
                                           "dead": 1, "waiting": 4}
    assert backlog["lanes"]["regular"] == {"label": "Reguler", "pending": 7, "in_flight": 2,
                                           "dead": 0, "waiting": 9}


def test_oldest_waiting_is_told_with_its_time_and_age(nunukan: Office) -> None:
    oldest = timezone.now() - dt.timedelta(hours=2, minutes=5)
    jobs(nunukan, 1, created_at=oldest)
    jobs(nunukan, 3)
    board = operator_board(nunukan, language="id")
    assert board["oldest"]["words"] == \
        f"Menunggu sejak {format_moment(oldest, nunukan)} (2 jam 5 menit)"


def test_drain_progress_compares_with_the_peak_since_the_queue_was_last_empty(
        nunukan: Office) -> None:
    now = timezone.now()
    for minutes_ago, waiting in [(90, 0), (60, 30), (45, 100), (20, 70)]:
        QueueSample.objects.create(scope="NNK", topic=PRINT_JOB_TOPIC, pending=waiting,
                                   at=now - dt.timedelta(minutes=minutes_ago))
    # An older, larger backlog before the queue emptied at -90 minutes does not count.
    QueueSample.objects.create(scope="NNK", topic=PRINT_JOB_TOPIC, pending=500,
                               at=now - dt.timedelta(minutes=120))
    jobs(nunukan, 40)
    jobs(nunukan, 6, status=MessageStatus.DELIVERED, delivered_at=now - dt.timedelta(minutes=1))
    progress = operator_board(nunukan, language="id")["progress"]
    assert progress == {"done": 60, "total": 100, "percent": 60,
                        "words": "60 dari 100 terkirim (60%)"}


def test_the_sampler_writes_one_row_per_office_and_minute_and_prunes(
        nunukan: Office, tanjung_perak: Office, settings: Any) -> None:
    settings.QUEUE_SAMPLE_RETENTION_DAYS = 7
    at = timezone.now().replace(second=30)
    jobs(nunukan, 3)
    jobs(nunukan, 2, status=MessageStatus.DELIVERED, delivered_at=at.replace(second=0)
         - dt.timedelta(seconds=20))
    jobs(nunukan, 1, status=MessageStatus.DELIVERED, delivered_at=at - dt.timedelta(minutes=5))
    old = QueueSample.objects.create(scope="NNK", topic=PRINT_JOB_TOPIC,
                                     at=at - dt.timedelta(days=8))
    sample_office_queues(at)
    jobs(nunukan, 1)
    sample_office_queues(at + dt.timedelta(seconds=5))  # the same minute again: overwritten
    rows = QueueSample.objects.filter(at=at.replace(second=0, microsecond=0))
    assert {r.scope for r in rows} == set(Office.objects.values_list("code", flat=True))
    nnk = rows.get(scope="NNK")
    assert (nnk.pending, nnk.delivered) == (4, 2)  # one minute's deliveries only
    assert rows.get(scope="TPK").pending == 0
    assert not QueueSample.objects.filter(pk=old.pk).exists()


def test_the_chart_is_inline_svg_without_style_or_script(nunukan: Office) -> None:
    now = timezone.now()
    for minutes_ago in [*range(300, 200, -1), *range(100, 0, -1)]:  # a gap in the middle
        QueueSample.objects.create(scope="NNK", topic=PRINT_JOB_TOPIC, at=now - dt.timedelta(
            minutes=minutes_ago), pending=minutes_ago, delivered=3)
    svg = str(render_chart(chart_samples(nunukan), nunukan, now=now))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert "style=" not in svg and "<script" not in svg and " on" not in svg.replace(
        "<path", "")
    depth = re.search(r'class="line depth" d="([^"]*)"', svg)
    assert depth is not None
    assert depth.group(1).count("M") == 2  # the line is lifted over the missing hours
    assert "Tertinggi 300 menunggu pada" in svg and "WITA" in svg
    assert re.search(r">\d{2}\.00</text>", svg)  # hour labels, Indonesian style


def test_an_empty_day_draws_an_empty_chart(nunukan: Office) -> None:
    svg = str(render_chart([], nunukan, now=timezone.now(), language="en"))
    assert "No data for the last 24 hours yet." in svg


def test_duration_words() -> None:
    assert duration_words(20, "id") == "kurang dari 1 menit"
    assert duration_words(12 * 60, "id") == "12 menit"
    assert duration_words(2 * 3600, "id") == "2 jam"
    assert duration_words(2 * 3600 + 5 * 60, "id") == "2 jam 5 menit"
    assert duration_words(3 * 86400 + 4 * 3600, "id") == "3 hari 4 jam"
    assert duration_words(12 * 60, "en") == "12 minutes"


def test_the_operations_endpoint_answers_in_the_requesters_language(bambang: User) -> None:
    api = client_for(bambang)
    answer = api.get("/api/v1/offices/NNK/operations", HTTP_ACCEPT_LANGUAGE="en")
    assert answer.status_code == 200
    assert answer.json()["eta"]["words"] == "The queue is empty"
    assert api.get("/api/v1/offices/nnk/operations").json()["eta"]["words"] == "Antrean kosong"


def test_every_upstream_has_a_name_in_both_languages() -> None:
    from immigration.oversight.board import WORDS
    from queueing import topics

    upstreams = {topic.upstream for topic in topics.all_topics()}
    assert {"central_printing", "billing", "sms_gateway", "web_push"} <= upstreams
    for language in ("id", "en"):
        assert {f"upstream.{u}" for u in upstreams} <= set(WORDS[language]), language
