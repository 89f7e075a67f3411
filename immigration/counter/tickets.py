"""Arrival and queue numbers (antrian): check-in hands a number per lane, counters call the
next one, and the waiting room sees numbers and counters only.

Issuing a number and calling the next both lock the office's `QueueDay` row, so two clerks
checking people in at once never get the same number, and two counters calling at once never
call the same person. The unique constraint on (office, day, lane, seq) backs this up.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from immigration.counter.errors import CounterRefused
from immigration.counter.models import (
    LANE_LETTERS,
    Appointment,
    Call,
    CounterSettings,
    Lane,
    QueueDay,
    Ticket,
    TicketState,
    audit,
)
from immigration.lifecycle import Status
from immigration.models import Office, PassportApplication, Service

OPEN_STATES = (TicketState.WAITING, TicketState.CALLED)


class TicketRefused(CounterRefused):
    """A check-in or queue rule said no."""


def _locked_day(office: Office, day: dt.date) -> QueueDay:
    QueueDay.objects.get_or_create(office=office, day=day)
    return QueueDay.objects.select_for_update().get(office=office, day=day)


def ticket_view(ticket: Ticket, *, staff: bool = True) -> dict[str, Any]:
    data: dict[str, Any] = {
        "id": ticket.pk, "number": ticket.number, "lane": ticket.lane,
        "purpose": ticket.purpose, "state": ticket.state, "counter": ticket.counter or None,
        "issued_at": ticket.issued_at, "called_at": ticket.called_at,
    }
    if staff:
        data["reference"] = ticket.application.reference
    return data


def waiting_counts(office: Office, day: dt.date) -> dict[str, int]:
    counts = dict.fromkeys(Lane.values, 0)
    for lane in Ticket.objects.filter(office=office, day=day,
                                      state=TicketState.WAITING).values_list("lane", flat=True):
        counts[lane] += 1
    return counts


def ticket_issue(*, application: PassportApplication, by: Any,
                 lane: str | None = None) -> tuple[Ticket, bool]:
    """Check the applicant in. Returns (ticket, created): someone checked in twice the same
    day keeps their number."""
    office = application.office
    if application.status == Status.RECEIVED:
        purpose = "verification"
    elif application.status == Status.READY_FOR_PICKUP:
        purpose = "pickup"
        if not office.pickup_open:
            raise TicketRefused("service_unavailable",
                                _("Passport pickup is closed at this office."),
                                note=office.service_note)
    else:
        raise TicketRefused("illegal_transition",
                            _("Only applications being received or ready for pickup can be "
                              "checked in."))
    cs = CounterSettings.for_office(office)
    day = cs.today()
    with transaction.atomic():
        queue_day = _locked_day(office, day)
        existing = Ticket.objects.filter(application=application, day=day,
                                         state__in=OPEN_STATES).first()
        if existing is not None:
            return existing, False
        if lane is None:
            appointment = Appointment.objects.filter(application=application).first()
            if appointment is not None:
                lane = appointment.lane
            else:
                lane = Lane.EXPRESS if application.service == Service.EXPRESS else Lane.REGULAR
        field = f"last_{lane}"
        seq = getattr(queue_day, field) + 1
        setattr(queue_day, field, seq)
        queue_day.save(update_fields=[field])
        ticket = Ticket.objects.create(
            office=office, day=day, lane=lane, seq=seq,
            number=f"{LANE_LETTERS[Lane(lane)]}-{seq:03d}", application=application,
            purpose=purpose, issued_by=by if getattr(by, "is_authenticated", False) else None,
        )
        audit(office=office, action="checked_in", user=by, application=application,
              note=f"{ticket.number} {purpose}")
    return ticket, True


def ticket_call_next(*, office: Office, counter: str, by: Any) -> Ticket | None:
    """Close what this counter was serving and call the next number: express and priority
    first, oldest first, but never more than `regular_every` of them in a row while a regular
    ticket waits (a bounded share, so the regular lane is never starved)."""
    cs = CounterSettings.for_office(office)
    day = cs.today()
    now = timezone.now()
    with transaction.atomic():
        queue_day = _locked_day(office, day)
        Ticket.objects.filter(office=office, day=day, counter=counter,
                              state=TicketState.CALLED).update(state=TicketState.SERVED,
                                                               closed_at=now)
        waiting = Ticket.objects.filter(office=office, day=day,
                                        state=TicketState.WAITING).order_by("issued_at", "id")
        regular = waiting.filter(lane=Lane.REGULAR).first()
        other = waiting.exclude(lane=Lane.REGULAR).first()
        if other is not None and (regular is None
                                  or queue_day.non_regular_streak < cs.regular_every):
            chosen = other
            queue_day.non_regular_streak += 1
        elif regular is not None:
            chosen = regular
            queue_day.non_regular_streak = 0
        else:
            return None
        queue_day.save(update_fields=["non_regular_streak"])
        Ticket.objects.filter(pk=chosen.pk).update(state=TicketState.CALLED, counter=counter,
                                                   called_at=now)
        chosen.refresh_from_db()
        Call.objects.create(office=office, day=day, ticket=chosen, counter=counter, at=now)
        audit(office=office, action="called", user=by, application=chosen.application,
              note=f"{chosen.number} counter {counter}")
    return chosen


def _locked_ticket(office: Office, ticket_id: int) -> Ticket:
    ticket = Ticket.objects.select_for_update().filter(office=office, pk=ticket_id).first()
    if ticket is None:
        raise TicketRefused("not_found", _("No such ticket at your office."), 404)
    return ticket


def ticket_recall(*, office: Office, ticket_id: int, by: Any) -> Ticket:
    with transaction.atomic():
        ticket = _locked_ticket(office, ticket_id)
        if ticket.state != TicketState.CALLED:
            raise TicketRefused("illegal_transition", _("Only a called number can be recalled."))
        Call.objects.create(office=office, day=ticket.day, ticket=ticket, counter=ticket.counter)
        audit(office=office, action="recalled", user=by, application=ticket.application,
              note=ticket.number)
    return ticket


def ticket_close(*, office: Office, ticket_id: int, state: str, by: Any) -> Ticket:
    with transaction.atomic():
        ticket = _locked_ticket(office, ticket_id)
        if ticket.state != TicketState.CALLED:
            raise TicketRefused("illegal_transition", _("Only a called number can be closed."))
        ticket.state, ticket.closed_at = state, timezone.now()
        ticket.save(update_fields=["state", "closed_at"])
        audit(office=office, action=state, user=by, application=ticket.application,
              note=ticket.number)
    return ticket


def tickets_withdraw(application: PassportApplication) -> None:
    """The application was cancelled: its waiting number leaves the queue."""
    Ticket.objects.filter(application=application, state=TicketState.WAITING).update(
        state=TicketState.CANCELLED, closed_at=timezone.now())


def display_feed(office: Office) -> dict[str, Any]:
    """The waiting-room display: numbers and counters only, never names or references."""
    day = CounterSettings.for_office(office).today()
    calls = (Call.objects.filter(office=office, day=day).select_related("ticket")
             .order_by("-id")[:10])
    return {
        "office": office.code, "date": day, "generated_at": timezone.now(),
        "calls": [{"call_id": c.pk, "number": c.ticket.number, "counter": c.counter, "at": c.at}
                  for c in calls],
        "waiting": waiting_counts(office, day),
    }
