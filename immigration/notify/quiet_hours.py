"""Quiet hours: texts that are not urgent wait for the morning in the office's time zone.

The hold is a due time in the outbox (`next_attempt_at`), set when the message is made and
checked again when it is sent (a text retried through an outage may reach the night), never a
Celery ETA: a held text survives worker restarts and a flushed Redis like any other message.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from immigration.models import Office
from immigration.office_time import zone_of


def window() -> tuple[dt.time, dt.time] | None:
    """(start, end) local times from NOTIFY_QUIET_HOURS ("21:00-07:00"; empty: none)."""
    spec = settings.NOTIFY_QUIET_HOURS.strip()
    if not spec:
        return None
    try:
        start, end = (dt.time.fromisoformat(part.strip()) for part in spec.split("-"))
    except ValueError as exc:
        raise ImproperlyConfigured("NOTIFY_QUIET_HOURS must look like 21:00-07:00") from exc
    return start, end


def held_until(now: dt.datetime, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """When the quiet hours around `now` end, or None when it is not quiet now."""
    bounds = window()
    if bounds is None:
        return None
    start, end = bounds
    local = now.astimezone(zone)
    t = local.time()
    overnight = start > end
    quiet = (t >= start or t < end) if overnight else (start <= t < end)
    if not quiet:
        return None
    day = local.date() + dt.timedelta(days=1) if overnight and t >= start else local.date()
    return dt.datetime.combine(day, end, tzinfo=zone)


def office_zone(office_id: str) -> zoneinfo.ZoneInfo:
    office = Office.objects.filter(code=office_id).only("code", "timezone").first()
    return zone_of(office) if office is not None else zoneinfo.ZoneInfo(settings.TIME_ZONE)
