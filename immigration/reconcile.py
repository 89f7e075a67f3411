"""Reconciliation after central comes back having lost data (restored from an old backup).

We compare what we delivered with central's own inventory. A job central no longer knows:
- not yet printed by central's last word (sent_to_central, printing): requeued under the same
  key, and the applicant is told it is waiting to be sent again;
- already reported printed: the passport may physically exist, so it is not printed blindly a
  second time; the application needs staff attention ("check with central").
Jobs central has that we never delivered are reported, not acted on.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import transaction

from immigration.lifecycle import Actor, Status
from immigration.models import PassportApplication
from immigration.print_jobs import PRINT_JOB_TOPIC, parse_print_job_key
from immigration.printing import central_client
from queueing.models import MessageStatus, OutboxMessage
from queueing.redeliver import redeliver

RESEND_STATUSES = (Status.SENT_TO_CENTRAL, Status.PRINTING)


@dataclass
class ReconcileReport:
    central_jobs: int = 0
    checked: int = 0
    resent: list[str] = field(default_factory=list)
    needs_attention: list[str] = field(default_factory=list)
    unknown_at_office: list[str] = field(default_factory=list)


def central_inventory(office: str | None, log: Callable[[str], None]) -> set[str]:
    keys: set[str] = set()
    cursor: str | None = None
    while True:
        page = central_client().inventory(office, cursor=cursor)
        keys.update(str(job["key"]) for job in page.jobs)
        log(f"  central inventory: {len(keys)} jobs so far")
        cursor = page.next_cursor
        if cursor is None:
            return keys


def reconcile(*, office: str | None = None,
              log: Callable[[str], None] = lambda line: None) -> ReconcileReport:
    report = ReconcileReport()
    at_central = central_inventory(office, log)
    report.central_jobs = len(at_central)
    waiting_on_central = PassportApplication.objects.filter(
        status__in=[*RESEND_STATUSES, Status.PRINTED]
    )
    if office:
        waiting_on_central = waiting_on_central.for_office(office)
    # Only the keys that matter are fetched: the applications still waiting on central that
    # central no longer knows, and among those the ones we had delivered.
    candidates = {a.print_job_key: a for a in waiting_on_central.only("id", "reference",
                                                                      "status", "data_version")}
    report.checked = len(candidates)
    lost = set(
        OutboxMessage.objects.filter(topic=PRINT_JOB_TOPIC, status=MessageStatus.DELIVERED,
                                     key__in=set(candidates) - at_central)
        .values_list("key", flat=True)
    )
    for key in sorted(lost):
        with transaction.atomic():
            locked = PassportApplication.objects.select_for_update().get(pk=candidates[key].pk)
            if locked.status in RESEND_STATUSES:
                locked.back_to_print_queue(note="central lost this job (restored from a "
                                                "backup); sending it again")
                redeliver(topic=PRINT_JOB_TOPIC, keys=[key])
                report.resent.append(locked.reference)
            elif locked.status == Status.PRINTED:
                locked.needs_attention(
                    reason="central lost its record after reporting this passport printed; "
                           "check with central before sending it again",
                    actor=Actor.DELIVERY,
                )
                report.needs_attention.append(locked.reference)
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
