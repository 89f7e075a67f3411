"""Read-side queries for the API and the staff pages: what a clerk may see of their office.

Each returns a queryset scoped to one office; views paginate and render it.
"""

from __future__ import annotations

from django.db.models import QuerySet

from immigration.lifecycle import Status
from immigration.models import PassportApplication, nik_blind_index
from immigration.print_jobs import PRINT_JOB_TOPIC, office_key_prefix
from immigration.references import normalize_reference
from queueing.models import OutboxMessage, OutboxMessageQuerySet


class UnknownStatus(ValueError):
    """A status filter that is not one of the lifecycle's statuses."""


def application_list(
    *,
    office: str,
    status: str | None = None,
    service: str | None = None,
    search: str | None = None,
) -> QuerySet[PassportApplication]:
    """The office's applications, newest first. `search` is a reference (typed loosely) or a
    NIK, both exact: a NIK is matched through its blind index, never in clear."""
    qs = (
        PassportApplication.objects.for_office(office)
        .select_related("office")
        .order_by("-submitted_at", "-id")
    )
    if status:
        if status not in Status.values:
            raise UnknownStatus(status)
        qs = qs.filter(status=status)
    if service:
        qs = qs.filter(service=service)
    if search:
        reference = normalize_reference(search)
        qs = qs.filter(reference=reference) if reference else qs.filter(
            nik_index=nik_blind_index(search)
        )
    return qs


def application_of_office(
    *, office: str, reference: str, for_update: bool = False
) -> PassportApplication | None:
    """One application of the office by reference (typed loosely), or None. With `for_update`
    the row is locked: call it inside transaction.atomic()."""
    normalized = normalize_reference(reference)
    if normalized is None:
        return None
    qs = PassportApplication.objects.filter(reference=normalized, office_id=office)
    if for_update:
        qs = qs.select_for_update()
    return qs.first()


def office_print_jobs(office: str) -> OutboxMessageQuerySet:
    """The office's print jobs in the outbox (their keys start with its references)."""
    return OutboxMessage.objects.filter(
        topic=PRINT_JOB_TOPIC, key__startswith=office_key_prefix(office)
    )
