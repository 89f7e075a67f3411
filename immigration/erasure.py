"""Erasure on request (UU PDP 27/2022 art. 8 and 43): staff erase an applicant's personal data
when the applicant asks and the office is not bound to keep it.

Where the law allows it here:
- `received` (nothing approved yet): the application is withdrawn (cancelled, freeing its slot
  and waiting number) and its personal data erased at once;
- `rejected` or `cancelled`: erased at once.

Where it does not (the office must keep the data, art. 15 and 16(2): a legal obligation and a
service already under way), refused with 409 `erasure_not_allowed`:
- queued for printing, sent to central, printing, printed, ready for pickup, needs attention:
  a print job for this person is in the office's queue or at central, and the office must be
  able to finish it, correct it or account for the passport being made;
- `collected`: a passport was issued on this data; the record is kept for the retention period
  and then anonymised by the retention policy (immigration/retention.py).

Erasing is the retention policy's anonymisation (the reference, status and events stay: they
are the office's statistics and the audit chain), applied now, plus an `application.erase`
entry in the audit chain naming the clerk.
"""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from django.utils.translation import gettext as _

from immigration.audit import audit_record
from immigration.counter.pickup import application_cancel
from immigration.lifecycle import Status
from immigration.models import PassportApplication
from immigration.retention import anonymise

ERASABLE = frozenset({Status.RECEIVED, Status.REJECTED, Status.CANCELLED})


class ErasureRefused(Exception):
    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def check_erasable(application: PassportApplication) -> None:
    if application.anonymised_at is not None:
        raise ErasureRefused("already_erased",
                             _("This application's personal data was already erased."))
    if application.status not in ERASABLE:
        raise ErasureRefused("erasure_not_allowed", _(
            "The office must keep this application's data while it is being printed or after "
            "the passport was issued; it is anonymised when its retention period ends."))


def application_erase(*, application: PassportApplication, by: Any) -> None:
    """Erase the application's personal data at the applicant's request. Caller holds the row
    lock inside a transaction. Raises ErasureRefused."""
    check_erasable(application)
    status = application.status
    if status == Status.RECEIVED:
        application_cancel(application=application, by=by, staff=True,
                           reason="withdrawn: personal data erased at the applicant's request")
    anonymise(application, now=timezone.now())
    audit_record(actor=by, action="application.erase", office=application.office,
                 application=application,
                 detail={"reference": application.reference, "status": status})
