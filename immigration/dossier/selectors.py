"""Read-only views of dossiers for the API, the print job and blob delivery."""

from __future__ import annotations

from typing import Any

from immigration.dossier import requirements
from immigration.dossier.models import DossierFile, Kind
from immigration.models import PassportApplication


def _blob(file: DossierFile) -> dict[str, Any]:
    return {"sha256": file.sha256, "size": file.size, "media_type": file.media_type}


def current_files_of(application_ids: list[int]) -> dict[int, list[DossierFile]]:
    """The current files of many applications in one query, by application id (a batch of
    print jobs: cheaper than prefetch_related, which builds a queryset per application)."""
    found: dict[int, list[DossierFile]] = {app_id: [] for app_id in application_ids}
    for file in DossierFile.objects.filter(application_id__any=application_ids,
                                           superseded_at__isnull=True):
        found[file.application_id].append(file)
    return found


def print_job_files(application: PassportApplication,
                    current: list[DossierFile] | None = None) -> dict[str, Any]:
    """What the print job names: photo, signature and document hashes (deterministic order).
    `current`: the application's current files, when the caller read them for a whole batch."""
    if current is None:
        current = requirements.current_files(application)
    return named_files(current)


def named_files(current: list[DossierFile]) -> dict[str, Any]:
    """`print_job_files` of an application whose current files are `current`."""
    files = sorted(current, key=lambda f: (f.kind, f.pk))
    by_kind = {f.kind: f for f in files}
    return {
        "photo": _blob(by_kind[Kind.PHOTO]) if Kind.PHOTO in by_kind else None,
        "signature": _blob(by_kind[Kind.SIGNATURE]) if Kind.SIGNATURE in by_kind else None,
        "documents": [{"kind": f.kind, **_blob(f)} for f in files
                      if f.kind not in (Kind.PHOTO, Kind.SIGNATURE)],
    }


def file_by_sha256(sha256: str) -> DossierFile | None:
    """A stored file with this content hash (current ones first)."""
    files = list(DossierFile.objects.filter(sha256=sha256.lower()).order_by("-id")[:20])
    files.sort(key=lambda f: f.superseded_at is not None)
    return files[0] if files else None


def file_view(file: DossierFile) -> dict[str, Any]:
    return {"id": file.pk, "kind": file.kind, "state": file.state, "size": file.size,
            "media_type": file.media_type, "sha256": file.sha256,
            "refusal_reason": file.refusal_reason, "created_at": file.created_at}


def dossier_view(application: PassportApplication) -> dict[str, Any]:
    """The `dossier` member of the application detail: what is required, what is there, what
    is still missing."""
    files = sorted(requirements.current_files(application), key=lambda f: (f.kind, f.pk))
    needed = requirements.required(application)  # one query per application, also in lists
    return {
        "required": needed,
        "files": [file_view(f) for f in files],
        "missing": requirements.missing(application, needed=needed),
    }
