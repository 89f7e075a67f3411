"""Central's checks on an incoming print job.

Error details name the field and the rule, never the value: the value is personal data
and these details travel back into office logs and dead-letter reasons.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from urllib.parse import urlsplit

NIK = re.compile(r"\A[0-9]{16}\Z")
DATE = re.compile(r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
SERVICES = ("regular", "express")
PASSPORT_TYPES = ("ordinary", "electronic")
MAX_TEXT = 500
SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")
IMAGE_TYPES = ("image/jpeg", "image/png")
DOCUMENT_TYPES = (*IMAGE_TYPES, "application/pdf")
MAX_DOCUMENTS = 20


class InvalidJob(ValueError):
    pass


def _text(data: dict[str, Any], name: str, *, prefix: str = "", required: bool = True) -> None:
    value = data.get(name)
    if value is None and not required:
        return
    if not isinstance(value, str) or not value.strip():
        raise InvalidJob(f"{prefix}{name}: required text")
    if len(value) > MAX_TEXT:
        raise InvalidJob(f"{prefix}{name}: too long")


def _choice(data: dict[str, Any], name: str, choices: tuple[str, ...]) -> None:
    if data.get(name) not in choices:
        raise InvalidJob(f"{name}: must be one of {', '.join(choices)}")


def check_job(job: Any) -> None:
    """Raise InvalidJob (with a field-level reason) if `job` is not a valid print job."""
    if not isinstance(job, dict):
        raise InvalidJob("job: must be an object")
    for name in ("key", "office", "reference"):
        _text(job, name)
    _choice(job, "service", SERVICES)
    _choice(job, "passport_type", PASSPORT_TYPES)
    priority = job.get("priority")
    if isinstance(priority, bool) or not isinstance(priority, int):
        raise InvalidJob("priority: must be an integer")
    approved_at = job.get("approved_at")
    try:
        if not isinstance(approved_at, str):
            raise ValueError
        datetime.fromisoformat(approved_at)
    except ValueError:
        raise InvalidJob("approved_at: must be an ISO 8601 date-time") from None
    callback_url = job.get("callback_url")
    parts = urlsplit(callback_url) if isinstance(callback_url, str) else None
    if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidJob("callback_url: must be an http(s) URL")
    _check_applicant(job.get("applicant"))
    # Photo and signature are optional here so jobs from before the dossier still print;
    # when named, central must hold their blobs (checked at intake, not here).
    for name in ("photo", "signature"):
        if job.get(name) is not None:
            _check_file(job[name], name, IMAGE_TYPES)
    documents = job.get("documents")
    if documents is not None:
        if not isinstance(documents, list) or len(documents) > MAX_DOCUMENTS:
            raise InvalidJob(f"documents: must be a list of at most {MAX_DOCUMENTS}")
        for index, document in enumerate(documents):
            _check_file(document, f"documents[{index}]", DOCUMENT_TYPES)
            _text(document, "kind", prefix=f"documents[{index}].")


def required_blobs(job: dict[str, Any]) -> list[str]:
    """The blobs central must hold before it accepts `job`: photo and signature.

    Documents are named by hash only: they stay at the office.
    """
    return [job[name]["sha256"] for name in ("photo", "signature") if job.get(name)]


def _check_file(data: Any, name: str, media_types: tuple[str, ...]) -> None:
    if not isinstance(data, dict):
        raise InvalidJob(f"{name}: must be an object")
    sha256 = data.get("sha256")
    if not isinstance(sha256, str) or not SHA256.match(sha256):
        raise InvalidJob(f"{name}.sha256: must be 64 lowercase hex digits")
    size = data.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or size < 0:
        raise InvalidJob(f"{name}.size: must be a whole number of bytes")
    if data.get("media_type") not in media_types:
        raise InvalidJob(f"{name}.media_type: must be one of {', '.join(media_types)}")


def _check_applicant(applicant: Any) -> None:
    if not isinstance(applicant, dict):
        raise InvalidJob("applicant: must be an object")
    nik = applicant.get("nik")
    if not isinstance(nik, str) or not NIK.match(nik):
        raise InvalidJob("applicant.nik: must be 16 digits")
    for name in ("full_name", "place_of_birth", "mother_name", "address", "phone"):
        _text(applicant, name, prefix="applicant.")
    if applicant.get("sex") not in ("M", "F"):
        raise InvalidJob("applicant.sex: must be M or F")
    born = applicant.get("date_of_birth")
    try:
        if not isinstance(born, str) or not DATE.match(born):
            raise ValueError
        date.fromisoformat(born)
    except ValueError:
        raise InvalidJob("applicant.date_of_birth: must be YYYY-MM-DD") from None
    email = applicant.get("email")
    if email not in (None, "") and (not isinstance(email, str) or "@" not in email):
        raise InvalidJob("applicant.email: must be an email address")
