"""Handing the passport over: only when it is ready, to the person whose KTP matches, or to a
proxy with a letter; who handed it over and to whom is recorded. Also cancelling, which frees
whatever the application held at the counter (its slot, its waiting number)."""

from __future__ import annotations

import hmac
from typing import Any

from django.utils.translation import gettext as _

from immigration.counter.errors import CounterRefused
from immigration.counter.models import Handover, TicketState, audit
from immigration.counter.slots import appointment_release
from immigration.counter.tickets import tickets_withdraw
from immigration.lifecycle import Actor, Status
from immigration.models import PassportApplication, nik_blind_index


class PickupRefused(CounterRefused):
    """A handover or cancel rule said no."""


def handover_record(*, application: PassportApplication, by: Any, nik: str, recipient: str,
                    proxy_name: str = "", proxy_id_number: str = "",
                    letter_no: str = "") -> Handover:
    """Caller holds the application's row lock inside a transaction."""
    office = application.office
    if not office.pickup_open:
        raise PickupRefused("service_unavailable", _("Passport pickup is closed at this office."),
                            note=office.service_note)
    if application.status != Status.READY_FOR_PICKUP:
        raise PickupRefused("illegal_transition",
                            _("Only a passport that is ready for pickup can be handed over."))
    if recipient == "proxy" and not (proxy_name and proxy_id_number and letter_no):
        raise PickupRefused("invalid", _("A proxy needs a name, an ID number and a letter."))
    # The NIK typed from the KTP is compared through the blind index: the clear NIK is never
    # read back or compared in SQL.
    if not hmac.compare_digest(nik_blind_index(nik.strip()), application.nik_index):
        raise PickupRefused("identity_mismatch",
                            _("The NIK on the KTP does not match this application."))
    handover = Handover.objects.create(
        application=application, recipient=recipient, by=by,
        proxy_name=proxy_name if recipient == "proxy" else "",
        proxy_id_number=proxy_id_number if recipient == "proxy" else "",
        letter_no=letter_no if recipient == "proxy" else "",
    )
    application.collect(by=by)
    application.tickets.filter(state=TicketState.CALLED).update(state=TicketState.SERVED)
    audit(office=office, action="handed_over", user=by, application=application,
          note=f"to {recipient}" + (f", letter {letter_no}" if recipient == "proxy" else ""))
    return handover


def handover_view(application: PassportApplication) -> dict[str, Any] | None:
    handover = Handover.objects.filter(application=application).select_related("by").first()
    if handover is None:
        return None
    return {"recipient": handover.recipient, "by": handover.by.get_username(),
            "at": handover.at, "letter_no": handover.letter_no}


def application_cancel(*, application: PassportApplication, by: Any, staff: bool,
                       reason: str = "") -> None:
    """Cancel (applicant: only while received; staff: per the lifecycle table) and free the
    slot and the waiting number. Caller holds the row lock inside a transaction."""
    if not staff and application.status != Status.RECEIVED:
        raise PickupRefused("illegal_transition",
                            _("This application can no longer be cancelled by the applicant; "
                              "please ask at the counter."))
    application.cancel(by=by if staff else None,
                       actor=Actor.STAFF if staff else Actor.APPLICANT, note=reason)
    appointment_release(application=application, by=by if staff else None,
                        reason="application cancelled")
    tickets_withdraw(application)
    audit(office=application.office_id, action="cancelled", user=by if staff else None,
          application=application, note=reason)
