"""What applicants are told about an office and about their place in the queue."""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.db.models import Min
from django.utils import timezone

from immigration.counter.slots import appointment_view
from immigration.dossier.selectors import dossier_view
from immigration.lifecycle import Status, label
from immigration.models import Office, PassportApplication
from immigration.print_jobs import CENTRAL_PRINTING, PRINT_JOB_TOPIC
from queueing.models import OutboxMessage, UpstreamHealth
from queueing.stats import position_in_queue

CENTRAL_NOTES = {
    "id": {
        "up": "Pusat percetakan berjalan normal.",
        "down": "Pusat percetakan sedang tidak dapat dihubungi. Permohonan tetap diterima dan "
                "akan dikirim otomatis begitu pusat pulih.",
        "recovering": "Pusat percetakan baru pulih; antrean sedang dikirim bertahap.",
    },
    "en": {
        "up": "Central printing is working normally.",
        "down": "Central printing cannot be reached. Applications are still accepted and will "
                "be sent automatically as soon as it recovers.",
        "recovering": "Central printing has just recovered; the backlog is being sent gradually.",
    },
}


def central_health() -> tuple[str, dt.datetime | None]:
    """Central's last known state and since when (None: never seen failing)."""
    row = UpstreamHealth.objects.filter(upstream=CENTRAL_PRINTING).first()
    return (row.state, row.since) if row else (UpstreamHealth.State.UP, None)


def _lang(language: str) -> str:
    return "en" if language.startswith("en") else "id"


def office_board(office: Office, *, language: str) -> dict[str, Any]:
    lang = _lang(language)
    central_state, central_since = central_health()
    waiting = PassportApplication.objects.for_office(office.code).filter(
        status=Status.QUEUED_FOR_PRINTING
    )
    oldest = waiting.aggregate(oldest=Min("approved_at"))["oldest"]
    printing_up = central_state == UpstreamHealth.State.UP
    return {
        "office": {"code": office.code, "name": office.name},
        "services": {
            "registration": {"available": office.registration_open, "note": office.service_note},
            "express": {"available": office.express_open, "note": ""},
            "printing": {
                "available": printing_up,
                "note": CENTRAL_NOTES[lang][central_state],
            },
            "pickup": {"available": office.pickup_open, "note": ""},
        },
        "central": {"state": central_state, "since": central_since},
        "backlog": {
            "waiting_for_central": waiting.count(),
            "oldest_age_seconds": (timezone.now() - oldest).total_seconds() if oldest else None,
        },
        "announcements": [
            {"message": a.message, "at": a.created_at}
            for a in office.announcements.filter(active=True)[:10]
        ],
    }


def application_view(
    application: PassportApplication,
    *,
    language: str,
    staff: bool,
    central: tuple[str, dt.datetime | None] | None = None,
) -> dict[str, Any]:
    """What an applicant (or, with `staff`, a clerk) sees. A list passes `central` (from
    `central_health()`) so it is read once per page, not once per row."""
    lang = _lang(language)
    queue = None
    if application.status == Status.QUEUED_FOR_PRINTING:
        central_state, central_since = central or central_health()
        message = OutboxMessage.objects.filter(
            topic=PRINT_JOB_TOPIC, key=application.print_job_key
        ).first()
        queue = {
            "position": position_in_queue(message) if message else None,
            "central_state": central_state,
            "central_since": central_since,
            "note": CENTRAL_NOTES[lang][central_state],
        }
    shown_notes = {Status.REJECTED, Status.NEEDS_ATTENTION}
    data: dict[str, Any] = {
        "reference": application.reference,
        "status": application.status,
        "status_label": label(application.status, lang),
        "service": application.service,
        "passport_type": application.passport_type,
        "application_type": application.application_type,
        "office": {"code": application.office.code, "name": application.office.name},
        "submitted_at": application.submitted_at,
        "appointment_date": application.appointment_date,
        "attention_reason": application.attention_reason,
        "timeline": [
            {
                "status": e.to_status,
                "label": label(e.to_status, lang),
                "at": e.at,
                "note": e.note if (staff or e.to_status in shown_notes) else "",
            }
            for e in application.events.all()
        ],
        "queue": queue,
        "dossier": dossier_view(application),
        "appointment": appointment_view(application),
    }
    if staff:
        data["applicant"] = application.applicant_data()
        data["data_version"] = application.data_version
        data["consent_version"] = application.consent_version
        data["anonymised_at"] = application.anonymised_at
    return data
