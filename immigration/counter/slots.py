"""Quota slots: the free-slot calendar, booking with the submission, reschedule and release.

Never overbooked: a slot is taken only by `UPDATE ... SET booked = booked + 1 WHERE booked <
capacity`, whose row count says who won. On PostgreSQL a concurrent taker blocks on the row
lock and re-checks the condition after the winner commits (READ COMMITTED re-evaluates the
WHERE clause on the new row version); on SQLite writers are serialised. A check constraint
(booked <= capacity) backs this up in the database itself.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import F
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from immigration.counter.errors import CounterRefused
from immigration.counter.models import (
    Appointment,
    ClosedDay,
    CounterSettings,
    Lane,
    PriorityReason,
    QuotaSlot,
    audit,
)
from immigration.lifecycle import Status
from immigration.models import Office, PassportApplication, Service

ELDERLY_AGE = 60


class SlotRefused(CounterRefused):
    """A booking, capacity or closed-day rule said no."""


def parse_slot(text: str) -> int | None:
    """"09:00" -> 9; anything else (other minutes, garbage) -> None."""
    hours, sep, minutes = text.partition(":")
    if not (sep and hours.isdigit() and minutes == "00" and len(hours) <= 2):
        return None
    hour = int(hours)
    return hour if 0 <= hour <= 23 else None


def slot_label(hour: int) -> str:
    return f"{hour:02d}:00"


def window(cs: CounterSettings) -> tuple[dt.date, dt.date]:
    """Bookable days: from tomorrow (the same day is a walk-in) for `booking_window_days`."""
    today = cs.today()
    return today + dt.timedelta(days=1), today + dt.timedelta(days=max(1, cs.booking_window_days))


def _closed(office: Office, first: dt.date, last: dt.date) -> dict[dt.date, str]:
    return dict(ClosedDay.objects.filter(office=office, date__range=(first, last))
                .values_list("date", "note"))


def lane_for(application: PassportApplication, priority_reason: str, day: dt.date) -> str:
    if application.service == Service.EXPRESS:
        return Lane.EXPRESS
    if priority_reason:
        return Lane.PRIORITY
    try:
        born = dt.date.fromisoformat(application.date_of_birth)
    except ValueError:
        return Lane.REGULAR
    age = day.year - born.year - ((day.month, day.day) < (born.month, born.day))
    return Lane.PRIORITY if age >= ELDERLY_AGE else Lane.REGULAR


def calendar(*, office: Office, lane: str, start: dt.date | None, days: int) -> dict[str, Any]:
    """What is free per day and hour for one lane (public: counts only)."""
    cs = CounterSettings.for_office(office)
    first, last = window(cs)
    start = min(max(start or first, first), last)
    end = min(last, start + dt.timedelta(days=max(1, days) - 1))
    closed = _closed(office, start, end)
    rows = {(s.date, s.hour): s for s in QuotaSlot.objects.filter(
        office=office, lane=lane, date__range=(start, end))}
    weekdays, hours = cs.weekdays(), cs.hours()
    out = []
    day = start
    while day <= end:
        if day in closed or day.weekday() not in weekdays:
            out.append({"date": day, "closed": True, "note": closed.get(day, ""), "slots": []})
        else:
            slots = []
            for hour in hours:
                row = rows.get((day, hour))
                capacity = row.capacity if row else cs.capacity(lane)
                free = row.free if row else capacity
                slots.append({"slot": slot_label(hour), "capacity": capacity, "free": free})
            out.append({"date": day, "closed": False, "note": "", "slots": slots})
        day += dt.timedelta(days=1)
    return {"office": office.code, "lane": lane, "timezone": cs.timezone,
            "window": {"from": first, "to": last}, "generated_at": timezone.now(), "days": out}


def _slot_row(office: Office, cs: CounterSettings, day: dt.date, hour: int,
              lane: str) -> QuotaSlot:
    # get_or_create survives a concurrent first booking of the same slot: the loser's INSERT
    # hits the unique constraint inside a savepoint and it reads the winner's row instead.
    slot, _ = QuotaSlot.objects.get_or_create(
        office=office, date=day, hour=hour, lane=lane,
        defaults={"capacity": cs.capacity(lane)},
    )
    return slot


def _take(slot: QuotaSlot) -> bool:
    return QuotaSlot.objects.filter(pk=slot.pk, booked__lt=F("capacity")).update(
        booked=F("booked") + 1) == 1


def _give_back(slot_id: int) -> None:
    QuotaSlot.objects.filter(pk=slot_id, booked__gt=0).update(booked=F("booked") - 1)


def _unbookable(cs: CounterSettings, office: Office, day: dt.date, hour: int) -> SlotRefused | None:
    first, last = window(cs)
    if not (first <= day <= last) or hour not in cs.hours():
        return SlotRefused("outside_window", _("That time is outside the booking window."))
    if day.weekday() not in cs.weekdays() or ClosedDay.objects.filter(office=office,
                                                                      date=day).exists():
        return SlotRefused("day_closed", _("The office is closed on that day."))
    return None


def _candidates(cs: CounterSettings, office: Office, day: dt.date,
                hour: int) -> list[tuple[dt.date, int]]:
    """Every bookable (day, hour) of the window, nearest to the asked time first (a later
    time wins a tie: nobody is offered an hour earlier than they could come)."""
    first, last = window(cs)
    closed = _closed(office, first, last)
    asked = cs.slot_start(day, hour)
    pairs: list[tuple[dt.date, int]] = []
    d = first
    while d <= last:
        if d not in closed and d.weekday() in cs.weekdays():
            pairs.extend((d, h) for h in cs.hours())
        d += dt.timedelta(days=1)

    def distance(pair: tuple[dt.date, int]) -> tuple[float, bool]:
        delta = (cs.slot_start(*pair) - asked).total_seconds()
        return abs(delta), delta < 0

    return sorted(pairs, key=distance)


def _nearest_free(cs: CounterSettings, office: Office, lane: str, day: dt.date, hour: int,
                  *, take: bool) -> QuotaSlot | None:
    first, last = window(cs)
    full = set(QuotaSlot.objects.filter(office=office, lane=lane, date__range=(first, last),
                                        booked__gte=F("capacity")).values_list("date", "hour"))
    for d, h in _candidates(cs, office, day, hour):
        if (d, h) in full:
            continue
        slot = _slot_row(office, cs, d, h, lane)
        if not take:
            if slot.free > 0:
                return slot
        elif _take(slot):
            return slot
    return None


@dataclass(frozen=True)
class Booking:
    status: str  # confirmed | moved | unavailable
    slot: QuotaSlot | None
    lane: str
    requested: tuple[dt.date, int]

    def as_dict(self, *, language: str = "id") -> dict[str, Any]:
        day, hour = self.requested
        data: dict[str, Any] = {
            "status": self.status, "date": self.slot.date.isoformat() if self.slot else None,
            "slot": self.slot.label if self.slot else None, "lane": self.lane,
            "requested": {"date": day.isoformat(), "slot": slot_label(hour)},
        }
        if self.status == "confirmed":
            data["message"] = _("Your appointment is confirmed: %(when)s.") % {
                "when": _when(self.slot)}
        elif self.status == "moved":
            data["message"] = _("%(asked)s was no longer available; you have the nearest free "
                                "time instead: %(when)s.") % {
                "asked": f"{formats.date_format(day, 'j M Y')} {slot_label(hour)}",
                "when": _when(self.slot)}
        else:
            data["message"] = _("No appointment time is free in the booking window. Your "
                                "application is received; come as a walk-in or book later.")
        return data


def _when(slot: QuotaSlot | None) -> str:
    assert slot is not None
    return f"{formats.date_format(slot.date, 'j M Y')} {slot.label}"


def appointment_book(*, application: PassportApplication, day: dt.date, hour: int,
                     priority_reason: str = "", by: Any = None) -> Booking:
    """Book the asked slot, or the nearest free one of the same lane, inside the caller's
    transaction (the submission's). Never refuses: an application that waited days on a phone
    is accepted, and told plainly what it got."""
    if priority_reason and priority_reason not in PriorityReason.values:
        priority_reason = ""
    office = application.office
    cs = CounterSettings.for_office(office)
    lane = lane_for(application, priority_reason, day)
    slot: QuotaSlot | None = None
    status = "unavailable"
    if _unbookable(cs, office, day, hour) is None and _take(
            _slot_row(office, cs, day, hour, lane)):
        slot = QuotaSlot.objects.get(office=office, date=day, hour=hour, lane=lane)
        status = "confirmed"
    else:
        slot = _nearest_free(cs, office, lane, day, hour, take=True)
        status = "moved" if slot else "unavailable"
    Appointment.objects.update_or_create(
        application=application,
        defaults={"slot": slot, "lane": lane, "priority_reason": priority_reason,
                  "booked_at": timezone.now()},
    )
    if slot:
        application.appointment_date = slot.date
        application.save(update_fields=["appointment_date", "updated_at"])
    audit(office=office, action="appointment_booked", user=by, application=application,
          note=f"{status} {slot or '-'}")
    return Booking(status, slot, lane, (day, hour))


def appointment_view(application: PassportApplication) -> dict[str, Any]:
    appointment = Appointment.objects.filter(application=application).select_related(
        "slot").first()
    if appointment is None or appointment.slot is None:
        return {"status": "none", "date": None, "slot": None,
                "lane": appointment.lane if appointment else None,
                "priority": appointment.priority_reason if appointment else "",
                "booked_at": None}
    return {"status": "booked", "date": appointment.slot.date, "slot": appointment.slot.label,
            "lane": appointment.lane, "priority": appointment.priority_reason,
            "booked_at": appointment.booked_at}


def appointment_reschedule(*, application: PassportApplication, day: dt.date, hour: int,
                           priority_reason: str | None = None, by: Any = None,
                           reason: str = "") -> None:
    """Move the booking to exactly this slot (interactive: a full slot is refused with the
    nearest free one suggested). Caller holds the application's row lock in a transaction."""
    if application.status != Status.RECEIVED:
        raise SlotRefused("illegal_transition",
                          _("Only an application still being received can be rescheduled."))
    office = application.office
    cs = CounterSettings.for_office(office)
    current = Appointment.objects.filter(application=application).first()
    if priority_reason is None:
        priority_reason = current.priority_reason if current else ""
    lane = lane_for(application, priority_reason, day)
    problem = _unbookable(cs, office, day, hour)
    if problem:
        raise problem
    if current and current.slot_id and current.slot and (current.slot.date, current.slot.hour,
                                                          current.slot.lane) == (day, hour, lane):
        return
    slot = _slot_row(office, cs, day, hour, lane)
    if not _take(slot):
        nearest = _nearest_free(cs, office, lane, day, hour, take=False)
        raise SlotRefused("slot_full", _("That time is fully booked."), nearest=(
            {"date": nearest.date.isoformat(), "slot": nearest.label} if nearest else None))
    if current and current.slot_id:
        _give_back(current.slot_id)
    Appointment.objects.update_or_create(
        application=application,
        defaults={"slot": slot, "lane": lane, "priority_reason": priority_reason,
                  "booked_at": timezone.now()})
    application.appointment_date = day
    application.save(update_fields=["appointment_date", "updated_at"])
    audit(office=office, action="appointment_rescheduled", user=by, application=application,
          note=f"{slot} {reason}".strip())


def appointment_release(*, application: PassportApplication, by: Any = None,
                        reason: str = "") -> bool:
    """Free the booked slot (the application stays). Returns False when nothing was booked."""
    with transaction.atomic():
        appointment = (Appointment.objects.select_for_update()
                       .filter(application=application, slot__isnull=False).first())
        if appointment is None or appointment.slot_id is None:
            return False
        _give_back(appointment.slot_id)
        appointment.slot = None
        appointment.save(update_fields=["slot"])
        audit(office=application.office_id, action="appointment_released", user=by,
              application=application, note=reason)
    return True


def slot_set_capacity(*, office: Office, day: dt.date, hour: int, lane: str, capacity: int,
                      by: Any) -> QuotaSlot:
    cs = CounterSettings.for_office(office)
    with transaction.atomic():
        slot = _slot_row(office, cs, day, hour, lane)
        # Conditional, like booking: a booking racing this change cannot slip under it.
        if not QuotaSlot.objects.filter(pk=slot.pk, booked__lte=capacity).update(
                capacity=capacity):
            slot.refresh_from_db()
            raise SlotRefused("capacity_below_booked",
                              _("More people have booked this slot than that capacity."),
                              booked=slot.booked)
        audit(office=office, action="slot_capacity", user=by,
              note=f"{day} {slot_label(hour)} {lane} = {capacity}")
    slot.refresh_from_db()
    return slot


def day_close(*, office: Office, day: dt.date, note: str, by: Any) -> ClosedDay:
    with transaction.atomic():
        booked = Appointment.objects.filter(slot__office=office, slot__date=day).count()
        if booked:
            raise SlotRefused("day_has_bookings",
                              _("People hold appointments on that day; reschedule them first."),
                              bookings=booked)
        closed, _created = ClosedDay.objects.update_or_create(office=office, date=day,
                                                       defaults={"note": note})
        audit(office=office, action="day_closed", user=by, note=f"{day} {note}")
    return closed
