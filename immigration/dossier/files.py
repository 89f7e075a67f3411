"""Storing and reviewing dossier files: the domain functions the API and the tests call."""

from __future__ import annotations

from typing import IO, Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from immigration.dossier import content
from immigration.dossier.content import ContentRejected, Inspected
from immigration.dossier.models import COUNTER_KINDS, DossierFile, FileState
from immigration.dossier.storage import FileWriter
from immigration.lifecycle import Status
from immigration.models import PassportApplication

# The dossier can change only while staff have not approved the application: after that the
# print job names its photo and signature.
OPEN_STATUSES = frozenset({Status.RECEIVED, Status.NEEDS_ATTENTION})


def ensure_open(application: PassportApplication) -> None:
    if application.status not in OPEN_STATUSES:
        raise ContentRejected("application_closed",
                              _("This application's dossier can no longer be changed."), 409)


def dossier_store(*, application: PassportApplication, kind: str, stream: IO[bytes], size: int,
                  by: Any = None, declared: str = "") -> DossierFile:
    """Check the content and store it as the application's current file of `kind`.
    Raises ContentRejected (nothing stored) when the content is not acceptable."""
    inspected = content.inspect(stream, size=size, kind=kind, declared=declared)
    return file_store(application=application, kind=kind, inspected=inspected, by=by)


def file_store(*, application: PassportApplication, kind: str, inspected: Inspected,
               by: Any = None) -> DossierFile:
    """Store checked content (see `content.inspect`) in one transaction: the file row, its
    encrypted chunks and the supersession of the previous file of the same kind become visible
    together, or not at all."""
    staff = by if by is not None and getattr(by, "is_authenticated", False) else None
    with transaction.atomic():
        # The row lock serialises two stores of the same kind (one current file per kind).
        locked = PassportApplication.objects.select_for_update().get(pk=application.pk)
        ensure_open(locked)
        now = timezone.now()
        DossierFile.objects.current().filter(application=locked, kind=kind).update(
            superseded_at=now)
        # Photo and signature are taken by the clerk at the counter: checked by being taken.
        taken_at_counter = staff is not None and kind in COUNTER_KINDS
        file = DossierFile.objects.create(
            application=locked, kind=kind, media_type=inspected.media_type, sha256="",
            uploaded_by=staff,
            state=FileState.CHECKED if taken_at_counter else FileState.RECEIVED,
            checked_by=staff if taken_at_counter else None,
            checked_at=now if taken_at_counter else None,
        )
        writer = FileWriter(file)
        content.write_clean(inspected, writer)
        file.size, file.sha256 = writer.finish()
        file.save(update_fields=["size", "sha256"])
    return file


def file_review(*, file: DossierFile, by: Any, result: str, reason: str = "") -> DossierFile:
    """A clerk checked the file against the original (`checked`) or refused it with a reason
    the applicant sees (`refused`)."""
    if result not in (FileState.CHECKED, FileState.REFUSED):
        raise ContentRejected("invalid_result", _("Result must be checked or refused."), 400)
    reason = reason.strip()
    if result == FileState.REFUSED and len(reason) < 3:
        raise ContentRejected("reason_required",
                              _("Say why the file is refused; the applicant will see it."), 400)
    with transaction.atomic():
        application = PassportApplication.objects.select_for_update().get(
            pk=file.application_id)
        ensure_open(application)
        file = DossierFile.objects.select_for_update().get(pk=file.pk)
        if file.superseded_at is not None:
            raise ContentRejected("superseded",
                                  _("A newer file of this kind replaced this one."), 409)
        file.state = result
        file.refusal_reason = reason[:300] if result == FileState.REFUSED else ""
        file.checked_by = by
        file.checked_at = timezone.now()
        file.save(update_fields=["state", "refusal_reason", "checked_by", "checked_at"])
    return file
