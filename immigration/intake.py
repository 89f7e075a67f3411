"""Accepting an application: the Idempotency-Key protocol and the one-active-NIK rule.

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
from immigration.models import IdempotencyRecord, Office, PassportApplication
from immigration.references import new_reference

SUBMIT_SCOPE = "applications.submit"


class KeyReused(Exception):
    """Same Idempotency-Key, different body (422)."""


class KeyInFlight(Exception):
    """Same Idempotency-Key while the first request is still being processed (409)."""


class ActiveApplicationExists(Exception):
    """The NIK already has an application in progress (409). Deliberately names no reference:
    whoever typed someone else's NIK must not learn anything about that person's application."""


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
    office: Office,
    applicant: dict[str, Any],
    fields: dict[str, Any],
    language: str = "id",
    scope: str = SUBMIT_SCOPE,
    by: Any = None,
    on_accepted: Callable[[PassportApplication], dict[str, Any]] | None = None,
) -> Submission:
    """Accept a validated application under an Idempotency-Key (see the module docstring).

    `by`: the clerk entering a walk-in (the first status event names them). `on_accepted`
    runs in the same transaction once the row exists (e.g. booking its appointment slot); what
    it returns joins the response body, so replays repeat it too."""
    now = timezone.now()
    with transaction.atomic():
        if not _try_lock_key(key):
            raise KeyInFlight
        record = IdempotencyRecord.objects.filter(scope=scope, key=key).first()
        if record is not None and record.expires_at > now:
            if record.request_hash != fingerprint:
                raise KeyReused
            return Submission(record.response_status, record.response_body, replayed=True)
        if record is not None:
            record.delete()  # expired: the key may be used afresh

        if PassportApplication.objects.with_nik(applicant["nik"]).active().exists():
            raise ActiveApplicationExists
        application, access_code = PassportApplication.build(
            office=office, applicant=applicant, submitted_at=now, **fields
        )
        for attempt in range(3):
            try:
                # Savepoint: a concurrent submission for the same NIK can still win the race
                # between the check above and this insert; the partial unique index is the
                # real guard. The other unique value is the random reference: draw again.
                with transaction.atomic():
                    application.save()
                break
            except IntegrityError as exc:
                if PassportApplication.objects.with_nik(applicant["nik"]).active().exists():
                    raise ActiveApplicationExists from exc
                if attempt == 2:
                    raise
                application.pk = None
                application.reference = new_reference(office.code)
        application.record_received(actor=Actor.STAFF if by is not None else Actor.APPLICANT,
                                    user=by)
        extra = on_accepted(application) if on_accepted else {}
        body = json.dumps(
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
    return Submission(201, body, replayed=False)


def purge_expired_replays() -> int:
    deleted, _ = IdempotencyRecord.objects.filter(expires_at__lte=timezone.now()).delete()
    return deleted
