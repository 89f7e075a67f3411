"""How long the office keeps personal data once an application is over (UU PDP 27/2022 art. 43:
data is erased or anonymised when its purpose has ended), per kind of data:

- **dossier files** (documents, photo, signature: `DossierFile` with its encrypted chunks, and
  any unfinished upload) are deleted RETENTION_DOSSIER_DAYS after the application was closed
  (passport collected, or application rejected or cancelled);
- **the application** is anonymised RETENTION_APPLICATION_DAYS after it was closed: every
  personal field blanked, the NIK blind index and the access-code hash cleared, the interview
  notes and the proxy's name and ID at pickup blanked, replay records dropped. The reference,
  office, service, types, status, dates, fees and the status events stay, so statistics and the
  audit chain still add up.

"Closed" is the time of the status event that moved it into its current final status. An
application still in progress (any status in ACTIVE_STATUSES) is never touched: each row is
re-checked under its lock right before it changes. Run by the beat task `privacy.retention`
and by `manage.py retention [--dry-run]`.

Other parts of the office that keep personal data of their own about an application (push
subscriptions, SMS numbers...) connect to `application_anonymised`, sent inside the transaction
that anonymises it, and drop theirs.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django.db.models import F, Max, Q, QuerySet
from django.dispatch import Signal
from django.utils import timezone

from immigration.audit import audit_record
from immigration.counter.models import Handover, Interview
from immigration.dossier.models import DossierFile, FileChunk, PendingChunk, PendingUpload
from immigration.lifecycle import Status
from immigration.models import PERSONAL_FIELDS, IdempotencyRecord, PassportApplication

# Final statuses: nothing more will happen to the application.
CLOSED_STATUSES = (Status.COLLECTED, Status.REJECTED, Status.CANCELLED)

# sender=PassportApplication, application=<the row, already blanked>. Sent inside the
# anonymising transaction: receivers delete their own personal data about it there.
application_anonymised = Signal()

DOSSIER = "dossier_files"
APPLICATIONS = "applications"
Progress = Callable[[str, int, int], None]  # kind, done so far, total


@dataclass(frozen=True)
class Periods:
    dossier: dt.timedelta
    application: dt.timedelta

    @classmethod
    def from_settings(cls) -> Periods:
        return cls(dossier=dt.timedelta(days=settings.RETENTION_DOSSIER_DAYS),
                   application=dt.timedelta(days=settings.RETENTION_APPLICATION_DAYS))


def closed_before(cutoff: dt.datetime) -> QuerySet[PassportApplication]:
    """Applications in a final status since before `cutoff`."""
    return (PassportApplication.objects.filter(status__in=CLOSED_STATUSES)
            .annotate(closed_at=Max("events__at", filter=Q(events__to_status=F("status"))))
            .filter(closed_at__lte=cutoff))


def due_for_file_deletion(now: dt.datetime, periods: Periods) -> QuerySet[PassportApplication]:
    holding = (Q(pk__in=DossierFile.objects.values("application_id"))
               | Q(pk__in=PendingUpload.objects.values("application_id")))
    ids = closed_before(now - periods.dossier).filter(holding).values("pk")
    return PassportApplication.objects.filter(pk__in=ids)


def due_for_anonymisation(now: dt.datetime, periods: Periods) -> QuerySet[PassportApplication]:
    ids = closed_before(now - periods.application).filter(anonymised_at__isnull=True).values("pk")
    return PassportApplication.objects.filter(pk__in=ids)


def dossier_delete(application: PassportApplication) -> int:
    """Delete the application's files and unfinished uploads (chunks first, in bulk: a file is
    up to 160 chunks and Django's cascade would load every one). Returns the files deleted.
    Caller holds the application's row lock."""
    files = DossierFile.objects.filter(application=application)
    uploads = PendingUpload.objects.filter(application=application)
    PendingChunk.objects.filter(upload__in=uploads).delete()
    uploads.delete()
    FileChunk.objects.filter(file__in=files).delete()
    _, per_model = files.delete()
    return per_model.get(DossierFile._meta.label, 0)


def anonymise(application: PassportApplication, *, now: dt.datetime) -> None:
    """Blank everything personal about the application; keep what statistics need. Caller holds
    the row lock and has checked the application is not in progress."""
    dossier_delete(application)
    for name in PERSONAL_FIELDS:
        setattr(application, name, "")
    application.nik_index = ""
    application.access_code_hash = ""  # the receipt's access code opens nothing any more
    application.attention_reason = ""  # central's words about the data may quote it
    application.anonymised_at = now
    application.save(update_fields=[*PERSONAL_FIELDS, "nik_index", "access_code_hash",
                                    "attention_reason", "anonymised_at", "updated_at"])
    IdempotencyRecord.objects.filter(application=application).delete()
    Interview.objects.filter(application=application).update(note="")
    Handover.objects.filter(application=application).update(proxy_name="", proxy_id_number="")
    application_anonymised.send(sender=PassportApplication, application=application)


@dataclass
class Report:
    dry_run: bool
    due: dict[str, int]
    done: dict[str, int]
    files_deleted: int = 0


def _locked_if_closed(pk: int) -> PassportApplication | None:
    """The row, locked, if it is (still) closed: it may have changed since it was listed."""
    return (PassportApplication.objects.select_for_update()
            .filter(pk=pk, status__in=CLOSED_STATUSES).first())


def _batches(ids: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(ids), size):
        yield ids[start:start + size]


def retention_run(*, dry_run: bool = False, now: dt.datetime | None = None,
                  periods: Periods | None = None, batch: int = 200,
                  progress: Progress | None = None) -> Report:
    """Apply the retention policy once. Small transactions (one per `batch` applications), so
    the office keeps working while a large backlog is processed."""
    now = now or timezone.now()
    periods = periods or Periods.from_settings()
    plan = {
        DOSSIER: list(due_for_file_deletion(now, periods).order_by("pk")
                      .values_list("pk", flat=True)),
        APPLICATIONS: list(due_for_anonymisation(now, periods).order_by("pk")
                           .values_list("pk", flat=True)),
    }
    report = Report(dry_run=dry_run, due={k: len(v) for k, v in plan.items()},
                    done=dict.fromkeys(plan, 0))
    if dry_run:
        return report
    for kind, ids in plan.items():
        for chunk in _batches(ids, batch):
            with transaction.atomic():
                for pk in chunk:
                    application = _locked_if_closed(pk)
                    if application is None:
                        continue
                    # In the audit chain too: what the policy removed, and when (actor None: the
                    # office's own policy, not a person).
                    if kind == DOSSIER:
                        deleted = dossier_delete(application)
                        report.files_deleted += deleted
                        audit_record(actor=None, action="dossier.retention_delete",
                                     office=application.office, application=application,
                                     detail={"reference": application.reference,
                                             "files": deleted})
                    elif application.anonymised_at is None:
                        anonymise(application, now=now)
                        audit_record(actor=None, action="application.retention_anonymise",
                                     office=application.office, application=application,
                                     detail={"reference": application.reference})
                    report.done[kind] += 1
            if progress:
                progress(kind, report.done[kind], len(ids))
    return report
