"""Accepting an application: the office and service check, the Idempotency-Key protocol and
the one-active-NIK rule.

The application row, its first status event and the replay record commit in one transaction:
either the office has the application and will answer replays with the same body, or nothing
happened and the phone may simply try again.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from immigration.lifecycle import Actor, label
from immigration.models import (
    IdempotencyRecord,
    NikInUse,
    Office,
    PassportApplication,
    UnknownOffice,
)
from immigration.references import new_reference

SUBMIT_SCOPE = "applications.submit"


class KeyReused(Exception):
    """Same Idempotency-Key, different body (422)."""


class KeyInFlight(Exception):
    """Same Idempotency-Key while the first request is still being processed (409)."""


@dataclass(frozen=True)
class Submission:
    status_code: int
    body: str  # exact JSON bytes, stored and replayed verbatim
    replayed: bool


def request_fingerprint(payload: Any) -> str:
    """Hash of the request body as parsed JSON, so whitespace or key order do not matter."""
    # ensure_ascii: escapes lone surrogates too, so any parsed JSON can be fingerprinted.
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


def _try_lock_key(key: uuid.UUID) -> bool:
    """Take a transaction-scoped lock on the key. PostgreSQL: an advisory lock, so a concurrent
    request with the same key is told 409 at once instead of queueing behind the first. SQLite:
    IMMEDIATE transactions already serialise writers, so the second request simply runs after
    the first and replays its response."""
    if connection.vendor != "postgresql":
        return True
    lock_id = int.from_bytes(key.bytes[:8], "big", signed=True)
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s)", [lock_id])
        row = cursor.fetchone()
    return bool(row and row[0])


def application_submit(
    *,
    key: uuid.UUID,
    fingerprint: str,
    office_code: str,
    service: str,
    passport_type: str,
    application_type: str,
    applicant: dict[str, Any],
    consent_version: str,
    appointment_date: dt.date | None = None,
    language: str = "id",
    scope: str = SUBMIT_SCOPE,
    by: Any = None,
    on_accepted: Callable[[PassportApplication], dict[str, Any]] | None = None,
) -> Submission:
    """Accept a validated application under an Idempotency-Key (see the module docstring).

    `consent_version`: the consent text (immigration.consent) the applicant agreed to, already
    checked by the caller.
    `by`: the clerk entering a walk-in (the first status event names them; walk-ins use their
    own `scope` of keys). `on_accepted` runs in the same transaction once the row exists (the
    counter books its appointment slot there); what it returns joins the response body, so
    replays repeat it too.

    Raises UnknownOffice, ServiceClosed, NikInUse, KeyReused or KeyInFlight.
    """
    office = _open_office(office_code, service)
    now = timezone.now()
    with transaction.atomic():
        if not _try_lock_key(key):
            raise KeyInFlight
        replay = _replay(key, fingerprint, now, scope)
        if replay is not None:
            return replay
        if PassportApplication.objects.with_nik(applicant["nik"]).active().exists():
            raise NikInUse
        application, access_code = PassportApplication.build(
            office=office, applicant=applicant, submitted_at=now, service=service,
            passport_type=passport_type, application_type=application_type,
            appointment_date=appointment_date, consent_version=consent_version,
        )
        _insert(application, nik=applicant["nik"])
        application.record_received(actor=Actor.STAFF if by is not None else Actor.APPLICANT,
                                    user=by)
        extra = on_accepted(application) if on_accepted else {}
        body = _receipt(application, access_code, language, extra)
        _remember(key, fingerprint, application, body, now, scope)
    return Submission(201, body, replayed=False)


def _open_office(office_code: str, service: str) -> Office:
    office = Office.objects.filter(code=office_code.upper()).first()
    if office is None:
        raise UnknownOffice(office_code)
    office.ensure_offers(service)
    return office


def _replay(key: uuid.UUID, fingerprint: str, now: dt.datetime,
            scope: str) -> Submission | None:
    """The stored response for this key, if it is still fresh; an expired one is forgotten so
    the key may be used afresh."""
    record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
    if record is None:
        return None
    if record.expires_at <= now:
        record.delete()
        return None
    if record.request_hash != fingerprint:
        raise KeyReused
    return Submission(record.response_status, record.response_body, replayed=True)


def _insert(application: PassportApplication, *, nik: str) -> None:
    """Save the new application. A concurrent submission for the same NIK can still win the
    race after our check; the partial unique index is the real guard. The other unique value is
    the random reference: on a collision, draw again."""
    for attempt in range(3):
        try:
            with transaction.atomic():  # savepoint: the outer transaction survives a conflict
                application.save()
            return
        except IntegrityError as exc:
            if PassportApplication.objects.with_nik(nik).active().exists():
                raise NikInUse from exc
            if attempt == 2:
                raise
            application.pk = None
            application.reference = new_reference(application.office_id)


def _receipt(application: PassportApplication, access_code: str, language: str,
             extra: dict[str, Any]) -> str:
    return json.dumps(
        {
            "reference": application.reference,
            "access_code": access_code,
            "status": application.status,
            "status_label": label(application.status, language),
            "submitted_at": application.submitted_at.isoformat(),
            **extra,
        },
        default=str,
    )


def _remember(key: uuid.UUID, fingerprint: str, application: PassportApplication, body: str,
              now: dt.datetime, scope: str) -> None:
    IdempotencyRecord.objects.create(
        key=key,
        scope=scope,
        request_hash=fingerprint,
        response_status=201,
        response_body=body,
        application=application,
        created_at=now,
        expires_at=now + dt.timedelta(hours=settings.IDEMPOTENCY_TTL_HOURS),
    )


def purge_expired_replays() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
