"""Which files an application needs, from the office's rules (the `Requirement` table), and
what still keeps it from being approved."""

from __future__ import annotations

from django.utils.translation import gettext as _

from immigration.dossier.models import DossierFile, FileState, Kind, Requirement
from immigration.models import PassportApplication
from immigration.readiness import Blocker

ALWAYS = (str(Kind.PHOTO), str(Kind.SIGNATURE))


def document_groups(application_type: str) -> list[str]:
    """Codes of the document requirements, e.g. ["ktp", "kk", "birth_certificate|diploma|..."]."""
    return list(Requirement.objects.filter(application_type=application_type)
                .order_by("position", "id").values_list("kinds", flat=True))


def all_groups() -> dict[str, list[str]]:
    """Document requirement codes of every application type (the phone's offline copy)."""
    groups: dict[str, list[str]] = {}
    for application_type, kinds in (Requirement.objects.order_by("position", "id")
                                     .values_list("application_type", "kinds")):
        groups.setdefault(application_type, []).append(kinds)
    return groups


def required(application: PassportApplication) -> list[str]:
    return [*document_groups(application.application_type), *ALWAYS]


def current_files(application: PassportApplication) -> list[DossierFile]:
    # `.all()` so a list view's prefetch_related("dossier_files") is used.
    return [f for f in application.dossier_files.all() if f.superseded_at is None]


def _satisfied(code: str, files: list[DossierFile], states: set[FileState]) -> bool:
    kinds = set(code.split("|"))
    return any(f.kind in kinds and f.state in states for f in files)


def missing(application: PassportApplication, *, needed: list[str] | None = None) -> list[str]:
    """Requirements with no usable file yet (none uploaded, or only refused ones). `needed`:
    `required(application)` when the caller already has it."""
    files = current_files(application)
    usable = {FileState.RECEIVED, FileState.CHECKED}
    return [code for code in (needed if needed is not None else required(application))
            if not _satisfied(code, files, usable)]


def unchecked(application: PassportApplication) -> list[str]:
    """Document requirements with a file that no clerk has checked yet."""
    files = current_files(application)
    return [code for code in document_groups(application.application_type)
            if _satisfied(code, files, {FileState.RECEIVED})
            and not _satisfied(code, files, {FileState.CHECKED})]


def dossier_blockers(application: PassportApplication) -> list[Blocker]:
    """Readiness check "dossier": required documents present and checked, photo and signature
    present."""
    gaps = missing(application)
    documents = [code for code in gaps if code not in ALWAYS]
    blockers = []
    if documents:
        blockers.append(Blocker("documents_missing",
                                _("Documents still missing: %(codes)s.")
                                % {"codes": ", ".join(documents)}))
    waiting = unchecked(application)
    if waiting:
        blockers.append(Blocker("documents_unchecked",
                                _("Documents not yet checked against the originals: %(codes)s.")
                                % {"codes": ", ".join(waiting)}))
    if Kind.PHOTO in gaps:
        blockers.append(Blocker("photo_missing", _("The applicant's photo has not been taken.")))
    if Kind.SIGNATURE in gaps:
        blockers.append(Blocker("signature_missing",
                                _("The applicant's signature has not been taken.")))
    return blockers
