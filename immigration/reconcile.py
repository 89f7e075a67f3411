"""Reconciliation after central comes back having lost data (restored from an old backup).

What central should hold is derived from the applications themselves, not from the outbox:
every application whose status says central acknowledged its print job (sent to central and
later, not yet collected) names its job by key (immigration/print_jobs.py). Delivered outbox
rows are purged after QUEUE_RETENTION_DAYS, so a central restored from a backup older than
that would otherwise lose jobs silently. We compare those keys with central's own inventory.
A job central no longer knows:
- not yet printed by central's last word (sent_to_central, printing): sent again under the
  same key (the outbox message requeued, or made anew if it was purged), and the applicant is
  told it is waiting to be sent again;
- already reported printed: the passport may physically exist, so it is not printed blindly a
  second time; the application needs staff attention ("check with central");
- already dispatched to the office (ready for pickup): the passport is here; only reported.
Jobs central has that we do not know are reported, not acted on.
A job central still has but whose photo or signature it lost (its inventory lists them as
`missing_blobs`): the print-job message is sent again; the sender puts the blobs back first,
and central answers the job itself as the replay it is. The applicant's status does not move:
central never lost the job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction
from django.utils import timezone

from immigration.lifecycle import Actor, Status
from immigration.models import PassportApplication
from immigration.print_jobs import parse_print_job_key
from immigration.printing import central_client

RESEND_STATUSES = (Status.SENT_TO_CENTRAL, Status.PRINTING)
# Statuses in which central has acknowledged the application's current print job and still
# has a reason to know it (after collection the job is history).
CENTRAL_HOLDS = (*RESEND_STATUSES, Status.PRINTED, Status.READY_FOR_PICKUP)
_READ_CHUNK = 2000


@dataclass
class ReconcileReport:
    central_jobs: int = 0
    checked: int = 0
    resent: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)
    lost_after_dispatch: list[str] = field(default_factory=list)
    unknown_at_office: list[str] = field(default_factory=list)
    blobs_resent: list[str] = field(default_factory=list)


def central_inventory(
    office: str | None, log: Callable[[str], None], lacking_blobs: set[str] | None = None
) -> set[str]:
    """Central's job keys; `lacking_blobs` collects the keys of jobs whose blobs it lost."""
    keys: set[str] = set()
    cursor: str | None = None
    while True:
        page = central_client().inventory(office, cursor=cursor)
        keys.update(str(job["key"]) for job in page.jobs)
        if lacking_blobs is not None:
            lacking_blobs.update(str(job["key"]) for job in page.jobs
                                 if job.get("missing_blobs"))
        log(f"  central inventory: {len(keys)} jobs so far")
        cursor = page.next_cursor
        if cursor is None:
            return keys


def reconcile(*, office: str | None = None,
              log: Callable[[str], None] = lambda line: None) -> ReconcileReport:
    report = ReconcileReport()
    started = timezone.now()
    lacking_blobs: set[str] = set()
    at_central = central_inventory(office, log, lacking_blobs)
    report.central_jobs = len(at_central)
    held = PassportApplication.objects.filter(status__in=CENTRAL_HOLDS)
    if office:
        held = held.for_office(office)
    # Only what central lacks is kept in memory, read in chunks: the applications waiting on
    # central can be many more than the jobs a restore lost.
    lost: dict[str, PassportApplication] = {}
    blobs_lost: list[PassportApplication] = []
    for application in held.only("id", "reference", "status", "data_version",
                                 "updated_at").iterator(chunk_size=_READ_CHUNK):
        report.checked += 1
        key = application.print_job_key
        if key not in at_central:
            lost[key] = application
        elif key in lacking_blobs and application.status in RESEND_STATUSES:
            blobs_lost.append(application)
    log(f"  {report.checked} applications central should hold; {len(lost)} it lacks")
    for key in sorted(lost):
        application = lost[key]
        if application.updated_at >= started and central_client().get(key) is not None:
            continue  # delivered while we read the inventory: central has it after all
        with transaction.atomic():
            locked = PassportApplication.objects.select_for_update().get(pk=application.pk)
            if locked.print_job_key != key:
                continue  # corrected meanwhile: a new data version is its own job
            if locked.status in RESEND_STATUSES:
                locked.back_to_print_queue(note="central lost this job (restored from a "
                                                "backup); sending it again")
                locked.send_print_job_again()
                report.resent.append(locked.reference)
            elif locked.status == Status.PRINTED:
                locked.needs_attention(
                    reason="central lost its record after reporting this passport printed; "
                           "check with central before sending it again",
                    actor=Actor.DELIVERY,
                )
                report.needs_attention.append(locked.reference)
            elif locked.status == Status.READY_FOR_PICKUP:
                report.lost_after_dispatch.append(locked.reference)
    for application in blobs_lost:
        with transaction.atomic():
            locked = PassportApplication.objects.select_for_update().get(pk=application.pk)
            if (locked.status in RESEND_STATUSES
                    and locked.print_job_key == application.print_job_key
                    and locked.send_print_job_again()):
                report.blobs_resent.append(locked.reference)
    report.unknown_at_office = sorted(at_central - _known_keys(at_central))
    return report


def _known_keys(keys: set[str]) -> set[str]:
    """Which of central's job keys are ours, looked up in chunks (no whole-table read)."""
    references = sorted({job[0] for job in map(parse_print_job_key, keys) if job})
    known: set[str] = set()
    for start in range(0, len(references), 1000):
        known.update(
            a.print_job_key
            for a in PassportApplication.objects.filter(
                reference__in=references[start : start + 1000]
            ).only("reference", "data_version")
        )
    return known
