"""Writing audit entries (the body of `immigration.audit.audit_record`)."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from immigration.audit.models import AuditEntry
from immigration.models import PERSONAL_FIELDS, Office, PassportApplication

_ACTION = re.compile(r"^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$")
# A value holding a NIK (16 digits) or a phone number (a standalone run of 10+ digits) is
# refused: detail is for references and field names, and a slip here would put personal data
# into a permanent chain. Runs inside identifiers (a UUID's groups) are not phone numbers.
_DIGITS = re.compile(r"(?<![0-9A-Za-z-])\d{10,}(?![0-9A-Za-z-])")


class AuditDetailRefused(ValueError):
    """The detail would put personal data (or something unencodable) into the chain."""


def record(
    *,
    actor: Any | None,
    action: str,
    office: Office | None = None,
    application: PassportApplication | None = None,
    detail: Mapping[str, str | int | bool] | None = None,
) -> AuditEntry:
    if not _ACTION.match(action):
        raise ValueError(f"audit action {action!r} is not a dotted name")
    clean = _checked_detail(detail or {})
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    office_id: str | None
    if office is None and application is not None:
        office_id = application.office_id
    else:
        office_id = office.pk if office is not None else None
    return AuditEntry.objects.create(
        actor=actor, action=action, office_id=office_id, application=application, detail=clean
    )


def _checked_detail(detail: Mapping[str, str | int | bool]) -> dict[str, str | int | bool]:
    clean: dict[str, str | int | bool] = {}
    for key, value in detail.items():
        if key in PERSONAL_FIELDS:
            raise AuditDetailRefused(f"detail key {key!r} names a personal field's value")
        if not isinstance(value, (str, int, bool)):  # bool is an int; floats would not round-trip
            raise AuditDetailRefused(f"detail {key!r} must be str, int or bool")
        if isinstance(value, str) and _DIGITS.search(value):
            raise AuditDetailRefused(f"detail {key!r} looks like an identity number")
        clean[key] = value
    return clean
