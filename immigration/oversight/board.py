"""The operator dashboard of one office, in words: upstreams, backlog, rate, time to empty.

Everything here is figures about the office's print jobs in the outbox and the upstreams'
states: no personal data, so a regional operator may see it for any office they watch.

How the time to empty is estimated (`_estimate`):
- The delivery rate is the number of this office's print jobs delivered over the last
  BOARD_RATE_WINDOW_MINUTES (10) minutes, divided by the minutes measured. Right after central
  recovers the window is shortened to the time since it recovered (at least one minute), so the
  first minutes of a drain are not averaged with the silent minutes of the outage before it.
- Time to empty = jobs waiting / that rate. It assumes the recent pace holds; the token bucket
  ramps up after a recovery (queueing/limiter.py), so early estimates err long, never short.
- While central's breaker is open nothing is sent and no rate means anything: the board says
  "menunggu pusat pulih" (waiting for central to recover) instead of a time.
- Central up but nothing delivered in the window: no estimate ("belum ada pengiriman").
- Nothing waiting: "antrean kosong sejak 10.42 WITA", the time of the last job that left.

Progress while draining (`_progress`) compares the jobs waiting now with the most that were
waiting since the queue was last empty (from the minute samples, 24 hours at most): "80 of 100
sent" means the backlog that built up has gone down by 80. No bar while central is down, while
nothing waits, or before the backlog has gone down at all.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db.models import Count, Max
from django.utils import timezone

from immigration.lifecycle import Status, label
from immigration.models import Office, PassportApplication
from immigration.office_time import format_moment, format_time
from immigration.print_jobs import CENTRAL_PRINTING, PRINT_JOB_TOPIC
from immigration.selectors import office_print_jobs
from queueing import samples, topics
from queueing.models import MessageStatus, QueueSample, UpstreamHealth, UpstreamOutage

DOWN, UP, RECOVERING = (UpstreamHealth.State.DOWN, UpstreamHealth.State.UP,
                        UpstreamHealth.State.RECOVERING)

# Print priority (PassportApplication.print_priority) -> the lane's name.
LANES = {1: "express", 0: "regular"}

WORDS: dict[str, dict[str, str]] = {
    "id": {
        "upstream.central_printing": "Pusat percetakan",
        "upstream.billing": "Pembayaran PNBP",
        "upstream.sms_gateway": "Gerbang SMS",
        "upstream.web_push": "Notifikasi ponsel",
        "state.up": "Berjalan normal",
        "state.down": "Tidak dapat dihubungi",
        "state.recovering": "Baru pulih, pengiriman bertahap",
        "since": "sejak {at}",
        "for": "({duration})",
        "lane.express": "Percepatan",
        "lane.regular": "Reguler",
        "eta.empty": "Antrean kosong",
        "eta.empty_since": "Antrean kosong sejak {at}",
        "eta.central_down": "Menunggu pusat pulih",
        "eta.stalled": "Belum ada pengiriman dalam {minutes} menit terakhir; perkiraan belum ada",
        "eta.draining": "Sekitar {duration} lagi",
        "eta.finish": "selesai sekitar {at}",
        "rate": "{rate} per menit ({minutes} menit terakhir)",
        "rate.none": "Tidak ada pengiriman ({minutes} menit terakhir)",
        "oldest": "Menunggu sejak {at} ({duration})",
        "oldest.none": "Tidak ada yang menunggu",
        "progress": "{done} dari {total} terkirim ({percent}%)",
        "duration.lt_minute": "kurang dari 1 menit",
        "duration.minutes": "{m} menit",
        "duration.hours": "{h} jam",
        "duration.hours_minutes": "{h} jam {m} menit",
        "duration.days_hours": "{d} hari {h} jam",
        "updated": "Diperbarui {at}",
    },
    "en": {
        "upstream.central_printing": "Central printing",
        "upstream.billing": "PNBP payments",
        "upstream.sms_gateway": "SMS gateway",
        "upstream.web_push": "Phone notifications",
        "state.up": "Working normally",
        "state.down": "Cannot be reached",
        "state.recovering": "Just recovered, sending gradually",
        "since": "since {at}",
        "for": "({duration})",
        "lane.express": "Express",
        "lane.regular": "Regular",
        "eta.empty": "The queue is empty",
        "eta.empty_since": "The queue has been empty since {at}",
        "eta.central_down": "Waiting for central to recover",
        "eta.stalled": "Nothing sent in the last {minutes} minutes; no estimate yet",
        "eta.draining": "About {duration} to go",
        "eta.finish": "done around {at}",
        "rate": "{rate} per minute (last {minutes} minutes)",
        "rate.none": "Nothing sent (last {minutes} minutes)",
        "oldest": "Waiting since {at} ({duration})",
        "oldest.none": "Nothing is waiting",
        "progress": "{done} of {total} sent ({percent}%)",
        "duration.lt_minute": "less than a minute",
        "duration.minutes": "{m} minutes",
        "duration.hours": "{h} hours",
        "duration.hours_minutes": "{h} hours {m} minutes",
        "duration.days_hours": "{d} days {h} hours",
        "updated": "Updated {at}",
    },
}


def lang_of(language: str) -> str:
    return "en" if language.startswith("en") else "id"


def say(lang: str, key: str, **values: Any) -> str:
    text = WORDS[lang].get(key, WORDS["id"].get(key, key))
    return text.format(**values)


def duration_words(seconds: float, lang: str) -> str:
    """Rounded the way a person says it: "12 menit", "2 jam 5 menit", "3 hari 4 jam"."""
    minutes = round(seconds / 60)
    if seconds < 60 or minutes < 1:
        return say(lang, "duration.lt_minute")
    if minutes < 60:
        return say(lang, "duration.minutes", m=minutes)
    hours, rest = divmod(minutes, 60)
    if hours < 24:
        return say(lang, "duration.hours_minutes" if rest else "duration.hours", h=hours, m=rest)
    days, hours = divmod(hours, 24)
    return say(lang, "duration.days_hours", d=days, h=hours)


def number_words(value: float, lang: str) -> str:
    """12,5 (id) / 12.5 (en); whole numbers without decimals."""
    text = f"{value:.0f}" if value >= 10 or value == int(value) else f"{value:.1f}"
    return text.replace(".", ",") if lang == "id" else text


@dataclass(frozen=True)
class UpstreamState:
    name: str
    state: str
    since: dt.datetime | None


def upstream_states() -> list[UpstreamState]:
    """Every registered upstream's last known state, central printing first, from the database
    (queueing/breaker.py mirrors the shared breaker's transitions there), so "since when"
    survives a Redis flush:
    - down: since its outage opened (queueing.models.UpstreamOutage). A probe that fails after
      a half-open spell does not restart the count: the outage is still the same one;
    - recovering: since the probe passed (the drain's start);
    - up: since the last outage closed; never seen failing: up, with no "since"."""
    names = sorted({t.upstream for t in topics.all_topics()} | {CENTRAL_PRINTING},
                   key=lambda n: (n != CENTRAL_PRINTING, n))
    rows = {h.upstream: h for h in UpstreamHealth.objects.filter(upstream__in=names)}
    outages = UpstreamOutage.objects.filter(upstream__in=names)
    opened = dict(outages.open().values_list("upstream", "opened_at"))
    closed = dict(outages.filter(closed_at__isnull=False).values_list("upstream")
                  .annotate(last=Max("closed_at")).order_by())
    states = []
    for name in names:
        row = rows.get(name)
        if row is None:
            states.append(UpstreamState(name, UP, None))
        elif row.state == DOWN:
            states.append(UpstreamState(name, DOWN, opened.get(name, row.since)))
        elif row.state == UP:
            states.append(UpstreamState(name, UP, closed.get(name, row.since)))
        else:
            states.append(UpstreamState(name, row.state, row.since))
    return states


def _upstream_view(u: UpstreamState, office: Office, lang: str,
                   now: dt.datetime) -> dict[str, Any]:
    words = say(lang, f"state.{u.state}")
    if u.since is not None:
        words += " " + say(lang, "since", at=format_moment(u.since, office, lang))
        if u.state != UP:
            words += " " + say(lang, "for", duration=duration_words(
                (now - u.since).total_seconds(), lang))
    return {"name": u.name, "label": say(lang, f"upstream.{u.name}"), "state": u.state,
            "since": u.since, "words": words}


def _backlog(office: Office, lang: str) -> dict[str, Any]:
    jobs = office_print_jobs(office.code)
    rows = (jobs.filter(status__in=[MessageStatus.PENDING, MessageStatus.IN_FLIGHT,
                                    MessageStatus.DEAD])
            .values_list("status", "priority").annotate(n=Count("id")).order_by())
    counts: dict[str, dict[str, int]] = {
        lane: {"pending": 0, "in_flight": 0, "dead": 0} for lane in LANES.values()
    }
    for status, priority, n in rows:
        counts[LANES.get(priority, "express" if priority > 0 else "regular")][status] += n
    totals = {s: sum(lane[s] for lane in counts.values()) for s in ("pending", "in_flight", "dead")}
    lanes = {lane: {"label": say(lang, f"lane.{lane}"), **figures,
                    "waiting": figures["pending"] + figures["in_flight"]}
             for lane, figures in counts.items()}
    return {**totals, "waiting": totals["pending"] + totals["in_flight"], "lanes": lanes}


def _rate(office: Office, central: UpstreamState, now: dt.datetime) -> tuple[float, int]:
    """Deliveries per minute over the window (see the module docstring), and the window."""
    window = dt.timedelta(minutes=settings.BOARD_RATE_WINDOW_MINUTES)
    start = now - window
    if central.state != DOWN and central.since is not None and central.since > start:
        start = min(central.since, now - dt.timedelta(minutes=1))
    delivered = office_print_jobs(office.code).filter(
        status=MessageStatus.DELIVERED, delivered_at__gte=start
    ).count()
    minutes = (now - start).total_seconds() / 60
    return delivered / minutes, max(1, round(minutes))


def _emptied_at(office: Office) -> dt.datetime | None:
    """When the last job left the queue (delivered, or given up as dead)."""
    last = office_print_jobs(office.code).exclude(
        status__in=[MessageStatus.PENDING, MessageStatus.IN_FLIGHT]
    ).aggregate(delivered=Max("delivered_at"), dead=Max("dead_at"))
    moments = [m for m in last.values() if m is not None]
    return max(moments) if moments else None


def _estimate(office: Office, *, waiting: int, rate: float, window: int,
              central: UpstreamState, now: dt.datetime, lang: str) -> dict[str, Any]:
    if waiting == 0:
        emptied = _emptied_at(office)
        if emptied is None:
            return {"state": "empty", "seconds": 0, "since": None,
                    "words": say(lang, "eta.empty")}
        return {"state": "empty", "seconds": 0, "since": emptied,
                "words": say(lang, "eta.empty_since", at=format_moment(emptied, office, lang))}
    if central.state == DOWN:
        return {"state": "waiting_for_central", "seconds": None, "since": None,
                "words": say(lang, "eta.central_down")}
    if rate <= 0:
        return {"state": "stalled", "seconds": None, "since": None,
                "words": say(lang, "eta.stalled", minutes=window)}
    seconds = waiting / rate * 60
    finish = now + dt.timedelta(seconds=seconds)
    words = (say(lang, "eta.draining", duration=duration_words(seconds, lang)) + ", "
             + say(lang, "eta.finish", at=format_moment(finish, office, lang)))
    return {"state": "draining", "seconds": round(seconds), "since": None, "words": words}


def _progress(office: Office, *, waiting: int, central: UpstreamState, now: dt.datetime,
              lang: str) -> dict[str, Any] | None:
    if waiting == 0 or central.state == DOWN:
        return None
    recent = QueueSample.objects.filter(scope=office.code, topic=PRINT_JOB_TOPIC,
                                        at__gte=now - dt.timedelta(hours=24))
    last_empty = recent.filter(pending=0, in_flight=0).aggregate(at=Max("at"))["at"]
    if last_empty is not None:
        recent = recent.filter(at__gt=last_empty)
    peak = max(waiting, max((s.waiting for s in recent.only("pending", "in_flight")), default=0))
    done = peak - waiting
    if done <= 0:
        return None  # nothing has gone down yet: no drain to show
    percent = int(done * 100 / peak)
    return {"done": done, "total": peak, "percent": percent,
            "words": say(lang, "progress", done=done, total=peak, percent=percent)}


def _applications_by_status(office: Office, lang: str) -> list[dict[str, Any]]:
    """How many of the office's applications are in each status (counts only: what a regional
    operator may see of applications without seeing anyone's), in lifecycle order."""
    counts = dict(PassportApplication.objects.filter(office=office).values_list("status")
                  .annotate(n=Count("id")).order_by())
    return [{"status": status.value, "label": label(status, lang), "count": counts[status]}
            for status in Status if counts.get(status)]


def operator_board(office: Office, *, language: str) -> dict[str, Any]:
    """The dashboard's live part, for the page and its JSON poll."""
    lang = lang_of(language)
    now = timezone.now()
    states = upstream_states()
    central = next(u for u in states if u.name == CENTRAL_PRINTING)
    backlog = _backlog(office, lang)
    oldest = office_print_jobs(office.code).waiting().order_by("created_at").values_list(
        "created_at", flat=True).first()
    rate, window = _rate(office, central, now)
    waiting = backlog["waiting"]
    return {
        "office": {"code": office.code, "name": office.name, "timezone": office.timezone},
        "now": now,
        "updated_words": say(lang, "updated", at=format_time(now, office, lang, seconds=True)),
        "upstreams": [_upstream_view(u, office, lang, now) for u in states],
        "backlog": backlog,
        "oldest": {
            "at": oldest,
            "age_seconds": (now - oldest).total_seconds() if oldest else None,
            "words": say(lang, "oldest", at=format_moment(oldest, office, lang),
                         duration=duration_words((now - oldest).total_seconds(), lang))
            if oldest else say(lang, "oldest.none"),
        },
        "rate": {
            "per_minute": round(rate, 2),
            "window_minutes": window,
            "words": say(lang, "rate", rate=number_words(rate, lang), minutes=window)
            if rate > 0 else say(lang, "rate.none", minutes=window),
        },
        "eta": _estimate(office, waiting=waiting, rate=rate, window=window, central=central,
                         now=now, lang=lang),
        "progress": _progress(office, waiting=waiting, central=central, now=now, lang=lang),
        "applications": _applications_by_status(office, lang),
    }


def sample_office_queues(at: dt.datetime | None = None) -> int:
    """Beat, once a minute: one sample of each office's print queue, then old samples pruned."""
    at = at or timezone.now()
    offices = list(Office.objects.values_list("code", flat=True))
    for code in offices:
        samples.take_sample(scope=code, topic=PRINT_JOB_TOPIC, messages=office_print_jobs(code),
                            at=at)
    samples.prune(before=at - dt.timedelta(days=settings.QUEUE_SAMPLE_RETENTION_DAYS))
    return len(offices)


def chart_samples(office: Office, *, hours: int = 24) -> list[QueueSample]:
    since = timezone.now() - dt.timedelta(hours=hours)
    return samples.history(scope=office.code, topic=PRINT_JOB_TOPIC, since=since)

