"""Staff correct an application central refused, and send it again as a new data version."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from immigration.audit import audit_record
from immigration.models import PERSONAL_FIELDS, PassportApplication

# Validates a whole applicant record and returns it cleaned; raises on invalid data. The API
# passes its serializer's rules, so a correction obeys exactly what a submission does.
ApplicantRules = Callable[[dict[str, Any]], dict[str, Any]]


def application_resubmit(
    *,
    application: PassportApplication,
    by: Any,
    corrections: dict[str, Any],
    rules: ApplicantRules,
) -> None:
    """Merge `corrections` into the stored record, validate the result as a whole (a new birth
    date must still agree with the NIK, and so on) and queue the new data version. Caller holds
    the row lock. Raises IllegalTransition or NikInUse (and whatever `rules` raises)."""
    applicant = rules({**application.applicant_data(), **corrections}) if corrections else None
    application.resubmit(by=by, applicant=applicant)
    if corrections:
        # Which fields changed, never to what: the values are personal data. The status event
        # records the resubmission itself.
        changed = sorted(name for name in corrections if name in PERSONAL_FIELDS)
        audit_record(actor=by, action="application.correct", application=application,
                     detail={"fields": ",".join(changed),
                             "data_version": application.data_version})
