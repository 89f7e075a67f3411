"""The application lifecycle: statuses, who may move an application where, and what the
applicant is told at each step.

Kept apart from the models so the rules read as one table.
"""

from __future__ import annotations

from django.db import models


class Status(models.TextChoices):
    # Labels here are for staff and the admin; applicants see LABELS below.
    RECEIVED = "received", "Received"
    QUEUED_FOR_PRINTING = "queued_for_printing", "Queued for printing"
    SENT_TO_CENTRAL = "sent_to_central", "Sent to central"
    PRINTING = "printing", "Printing"
    PRINTED = "printed", "Printed"
    READY_FOR_PICKUP = "ready_for_pickup", "Ready for pickup"
    COLLECTED = "collected", "Collected"
    REJECTED = "rejected", "Rejected"
    NEEDS_ATTENTION = "needs_attention", "Needs attention"
    CANCELLED = "cancelled", "Cancelled"


class Actor(models.TextChoices):
    """What kind of party moved the application (the user, if any, is recorded separately)."""

    APPLICANT = "applicant", "applicant"
    STAFF = "staff", "staff"
    DELIVERY = "delivery", "delivery"  # the outbox worker, after central acknowledged
    CENTRAL = "central", "central"  # central's signed status callbacks


# The print chain, in order. Central's callbacks and the delivery worker only ever move an
# application forward along it; callbacks can arrive out of order (or before our own delivery
# was recorded, when central committed but the response was lost), so a jump ahead is legal and a
# step back is simply ignored by the caller.
PRINT_CHAIN: tuple[Status, ...] = (
    Status.QUEUED_FOR_PRINTING,
    Status.SENT_TO_CENTRAL,
    Status.PRINTING,
    Status.PRINTED,
    Status.READY_FOR_PICKUP,
)

ACTIVE_STATUSES: frozenset[Status] = frozenset(
    {
        Status.RECEIVED,
        Status.QUEUED_FOR_PRINTING,
        Status.SENT_TO_CENTRAL,
        Status.PRINTING,
        Status.PRINTED,
        Status.READY_FOR_PICKUP,
        Status.NEEDS_ATTENTION,
    }
)


def _forward(actor: Actor, start: Status) -> set[tuple[Status, Status, Actor]]:
    index = PRINT_CHAIN.index(start)
    return {(start, later, actor) for later in PRINT_CHAIN[index + 1 :]}


ALLOWED: frozenset[tuple[Status, Status, Actor]] = frozenset(
    {
        (Status.RECEIVED, Status.QUEUED_FOR_PRINTING, Actor.STAFF),
        (Status.RECEIVED, Status.REJECTED, Actor.STAFF),
        (Status.RECEIVED, Status.CANCELLED, Actor.STAFF),
        (Status.RECEIVED, Status.CANCELLED, Actor.APPLICANT),
        (Status.QUEUED_FOR_PRINTING, Status.SENT_TO_CENTRAL, Actor.DELIVERY),
        (Status.QUEUED_FOR_PRINTING, Status.NEEDS_ATTENTION, Actor.DELIVERY),
        (Status.QUEUED_FOR_PRINTING, Status.CANCELLED, Actor.STAFF),
        (Status.SENT_TO_CENTRAL, Status.NEEDS_ATTENTION, Actor.CENTRAL),
        (Status.PRINTING, Status.NEEDS_ATTENTION, Actor.CENTRAL),
        (Status.QUEUED_FOR_PRINTING, Status.NEEDS_ATTENTION, Actor.CENTRAL),
        (Status.NEEDS_ATTENTION, Status.QUEUED_FOR_PRINTING, Actor.STAFF),
        (Status.NEEDS_ATTENTION, Status.REJECTED, Actor.STAFF),
        (Status.NEEDS_ATTENTION, Status.CANCELLED, Actor.STAFF),
        (Status.READY_FOR_PICKUP, Status.COLLECTED, Actor.STAFF),
        # Reconciliation: central lost the job in a restore before printing it.
        (Status.SENT_TO_CENTRAL, Status.QUEUED_FOR_PRINTING, Actor.DELIVERY),
        (Status.PRINTING, Status.QUEUED_FOR_PRINTING, Actor.DELIVERY),
        (Status.PRINTED, Status.NEEDS_ATTENTION, Actor.DELIVERY),
    }
    | _forward(Actor.CENTRAL, Status.QUEUED_FOR_PRINTING)
    | _forward(Actor.CENTRAL, Status.SENT_TO_CENTRAL)
    | _forward(Actor.CENTRAL, Status.PRINTING)
    | _forward(Actor.CENTRAL, Status.PRINTED)
)


def is_allowed(current: Status, target: Status, actor: Actor) -> bool:
    return (current, target, actor) in ALLOWED


def chain_position(status: str) -> int:
    """Position on the print chain, or -1 when the status is not on it."""
    try:
        return PRINT_CHAIN.index(Status(status))
    except ValueError:
        return -1


# Applicant-facing labels in both languages, kept here rather than only in .po files so the
# API can return either language on request without a translation catalogue being compiled.
LABELS: dict[str, dict[str, str]] = {
    "id": {
        Status.RECEIVED: "Diterima kantor, menunggu verifikasi petugas",
        Status.QUEUED_FOR_PRINTING: "Disetujui, menunggu dikirim ke pusat percetakan",
        Status.SENT_TO_CENTRAL: "Sudah diterima pusat percetakan",
        Status.PRINTING: "Sedang dicetak",
        Status.PRINTED: "Sudah dicetak, menunggu dikirim ke kantor",
        Status.READY_FOR_PICKUP: "Siap diambil di kantor",
        Status.COLLECTED: "Sudah diambil",
        Status.REJECTED: "Ditolak",
        Status.NEEDS_ATTENTION: "Data perlu diperbaiki petugas sebelum dikirim ulang",
        Status.CANCELLED: "Dibatalkan",
    },
    "en": {
        Status.RECEIVED: "Received by the office, awaiting verification",
        Status.QUEUED_FOR_PRINTING: "Approved, waiting to be sent to central printing",
        Status.SENT_TO_CENTRAL: "Accepted by central printing",
        Status.PRINTING: "Being printed",
        Status.PRINTED: "Printed, waiting to be sent to the office",
        Status.READY_FOR_PICKUP: "Ready for pickup at the office",
        Status.COLLECTED: "Collected",
        Status.REJECTED: "Rejected",
        Status.NEEDS_ATTENTION: "Staff must correct the data before it is sent again",
        Status.CANCELLED: "Cancelled",
    },
}


def label(status: str, language: str = "id") -> str:
    table = LABELS.get(language[:2], LABELS["id"])
    return table[Status(status)]
