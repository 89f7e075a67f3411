"""Accepting an application: the office and service check, the Idempotency-Key protocol and
the one-active-NIK rule.

The application row, its first status event and the replay record commit in one transaction:
either the office has the application and will answer replays with the same body, or nothing
happened and the phone may simply try again.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import json
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone

from immigration.lifecycle import Actor, label
from immigration.models import (
    IdempotencyRecord,
    NikInUse,
    Office,
    PassportApplication,
    UnknownOffice,
)

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


class _LostRace(Exception):
    """An insert hit a unique constraint: a request with the same key or NIK committed while we
    worked, or the random reference collided. The transaction is gone; look again."""


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
    accept = functools.partial(
        _accept_once, key=key, fingerprint=fingerprint, office_code=office_code,
        service=service, applicant=applicant, language=language, scope=scope, by=by,
        on_accepted=on_accepted,
        fields={"service": service, "passport_type": passport_type,
                "application_type": application_type, "appointment_date": appointment_date,
                "consent_version": consent_version},
    )
    attempts = 0
    while True:
        try:
            # After a lost race the next attempt looks for the NIK before inserting, so a NIK
            # in use is told apart from a reference collision; a key committed meanwhile is
            # replayed.
            return accept(nik_checked_first=attempts > 0)
        except _LostRace:
            attempts += 1
            if attempts == ACCEPT_ATTEMPTS:
                raise


ACCEPT_ATTEMPTS = 3  # a random reference colliding twice in a row is already unheard of


def _accept_once(
    *, key: uuid.UUID, fingerprint: str, office_code: str, service: str,
    applicant: dict[str, Any], fields: dict[str, Any], language: str, scope: str, by: Any,
    on_accepted: Callable[[PassportApplication], dict[str, Any]] | None,
    nik_checked_first: bool,
) -> Submission:
    """One attempt. On PostgreSQL a first submission with nothing to book is one statement
    (`_accept_in_one_statement`); everything else is the general path: one transaction with one
    SELECT (the office, the key's lock, any stored response and the new application's id), the
    three INSERTs (the application, its first event, the replay record) in one round trip, and
    the commit. No savepoint and no NIK pre-check on either path: the unique indexes decide,
    and a conflict rolls the whole attempt back (`_LostRace`) for the caller to look again."""
    now = timezone.now()
    if on_accepted is None and not nik_checked_first and _one_statement_possible():
        accepted = _accept_in_one_statement(
            key=key, fingerprint=fingerprint, office_code=office_code, service=service,
            applicant=applicant, fields=fields, language=language, scope=scope, by=by, now=now)
        if accepted is not None:
            return accepted
        # Nothing was written: a replay, a key in flight, a closed office, an unknown one. The
        # general path below sorts them out under the key's lock.
    with transaction.atomic():
        office, key_locked, replay_id, new_id = _office_and_key(office_code, key, scope)
        office.ensure_offers(service)
        if not key_locked:
            raise KeyInFlight
        if replay_id is not None:
            replay = _replay(replay_id, fingerprint, now)
            if replay is not None:
                return replay
        if nik_checked_first and (
            PassportApplication.objects.with_nik(applicant["nik"]).active().exists()
        ):
            raise NikInUse
        application, access_code = PassportApplication.build(
            office=office, applicant=applicant, submitted_at=now, **fields
        )
        application.pk = new_id  # PostgreSQL: drawn by the SELECT above, so the rows can go
        received = application.received_event(  # together; SQLite: given by the insert
            actor=Actor.STAFF if by is not None else Actor.APPLICANT, user=by)
        if on_accepted is None:
            body = _receipt(application, access_code, language, {})
            record = _replay_record(key, fingerprint, application, body, now, scope)
            _insert_or_lose(lambda: _insert_together(application, received, record))
        else:
            _insert_or_lose(lambda: _insert_together(application, received))
            body = _receipt(application, access_code, language, on_accepted(application))
            record = _replay_record(key, fingerprint, application, body, now, scope)
            _insert_or_lose(lambda: _insert_together(record))
    return Submission(201, body, replayed=False)


def _one_statement_possible() -> bool:
    # Inside someone else's transaction a failed statement would poison it; the general path
    # takes a savepoint there.
    return connection.vendor == "postgresql" and not transaction.get_connection().in_atomic_block


def _accept_in_one_statement(
    *, key: uuid.UUID, fingerprint: str, office_code: str, service: str,
    applicant: dict[str, Any], fields: dict[str, Any], language: str, scope: str, by: Any,
    now: dt.datetime,
) -> Submission | None:
    """The common case on PostgreSQL, a first submission with nothing to book, in ONE round
    trip: a single statement (so its own transaction) that reads the office, tries the key's
    lock, looks for a stored response and, only if the office takes `service`, the lock was won
    and there is no stored response, inserts the application, its first event and the replay
    record (data-modifying CTEs). Returns None when it inserted nothing; raises _LostRace when
    a unique index refused a row (nothing was written then either).

    Why by hand: the general path costs four round trips (BEGIN, the SELECT, the INSERTs,
    COMMIT), and on a loaded server each is a wait and a thread switch; profiled through
    gunicorn, they were most of what separated an accept from a bare create."""
    db = transaction.get_connection()
    application, access_code = PassportApplication.build(
        office=Office(code=office_code.upper()), applicant=applicant, submitted_at=now, **fields)
    received = application.received_event(
        actor=Actor.STAFF if by is not None else Actor.APPLICANT, user=by)
    body = _receipt(application, access_code, language, {})
    record = _replay_record(key, fingerprint, application, body, now, scope)
    new_id = {"application_id": "app.id"}
    insert_application, application_params = _insert_select(application, "o", {}, db)
    insert_event, event_params = _insert_select(received, "app", new_id, db)
    insert_record, record_params = _insert_select(record, "app", new_id, db)
    office_and_key, office_params = _office_and_key_select(db, office_code, key, scope)
    sql = (
        f"WITH o AS ({office_and_key}), "  # noqa: S608 (no input in the SQL)
        f"app AS ({insert_application} WHERE o.key_locked AND o.replay_id IS NULL "
        f"AND {Office.OFFERS_SQL} RETURNING id), "
        f"ev AS ({insert_event}), rec AS ({insert_record}) "
        f"SELECT o.*, (SELECT id FROM app) FROM o"
    )
    params = [*office_params, *application_params, service, *event_params, *record_params]
    try:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            row = cursor.fetchone()
    except IntegrityError as exc:
        raise _LostRace from exc
    if row is None or row[-1] is None:
        return None
    return Submission(201, body, replayed=False)


def _insert_select(row: Model, source: str | None, from_source: dict[str, str],
                   db: Any) -> tuple[str, list[Any]]:
    """`INSERT INTO table (columns) SELECT values FROM source` for a new row, or `... VALUES
    (values)` without a source. Each value is a parameter prepared as the ORM would prepare it
    (personal data encrypted), or, for the attnames in `from_source`, an SQL expression over
    `source`. The primary key is left to the database unless the row has one already."""
    meta, qn = row._meta, db.ops.quote_name
    columns, values, params = [], [], []
    for field in meta.local_concrete_fields:
        if field is meta.auto_field and row.pk is None:
            continue
        columns.append(qn(field.column))
        if field.attname in from_source:
            values.append(from_source[field.attname])
            continue
        values.append("%s")
        params.append(field.get_db_prep_save(field.pre_save(row, add=True), connection=db))
    # No input in the SQL: table and column names from the model, values as parameters.
    head = f"INSERT INTO {qn(meta.db_table)} ({', '.join(columns)}) "
    if source is None:
        return head + f"VALUES ({', '.join(values)})", params
    return head + f"SELECT {', '.join(values)} FROM {source}", params  # noqa: S608


def _office_and_key_select(db: Any, office_code: str, key: uuid.UUID, scope: str,
                           extra: str = "") -> tuple[str, list[Any]]:
    """One SELECT of the office's columns, `key_locked` and `replay_id` (plus `extra` columns),
    shared by both accept paths. `key_locked`: whether we hold the key's lock (PostgreSQL: a
    transaction-scoped advisory lock on the key, so a concurrent request with the same key is
    told 409 at once instead of queueing behind the first; SQLite: IMMEDIATE transactions
    already serialise writers, so the second simply runs after the first and replays it).
    `replay_id`: the key's stored response, if any. It reads the statement's snapshot, which
    may predate the lock: a response committed in between is missed here, the unique key then
    refuses our insert and the next attempt replays it."""
    qn = db.ops.quote_name
    records, offices = IdempotencyRecord._meta, Office._meta
    if db.vendor == "postgresql":
        locked, lock_params = "pg_try_advisory_xact_lock(%s)", [
            int.from_bytes(key.bytes[:8], "big", signed=True)]
    else:
        locked, lock_params = "1", []
    columns = ", ".join(f"f.{qn(f.column)}" for f in offices.concrete_fields)
    sql = (
        f"SELECT {columns}, {locked} AS key_locked, "  # noqa: S608 (no input in the SQL)
        f"(SELECT r.id FROM {qn(records.db_table)} r WHERE r.scope = %s AND r.key = %s) "
        f"AS replay_id{extra} FROM {qn(offices.db_table)} f WHERE f.code = %s"
    )
    key_value = records.get_field("key").get_db_prep_value(key, db)
    return sql, [*lock_params, scope, key_value, office_code.upper()]


def _office_and_key(office_code: str, key: uuid.UUID,
                    scope: str) -> tuple[Office, bool, int | None, int | None]:
    """The office, whether we hold the key's lock, the id of the key's stored response, if any
    (see `_office_and_key_select`), and (PostgreSQL) an id for the new application, in one
    round trip."""
    # The connection itself: see _insert_together().
    db = transaction.get_connection()
    if db.vendor == "postgresql":
        applications = PassportApplication._meta.db_table
        new_id = f", nextval(pg_get_serial_sequence('{applications}', 'id'))"
    else:
        new_id = ", NULL"
    # Raw SQL: the same statement built with annotate() and Subquery() cost twice the CPU of
    # the whole round trip (measured: 2.2 vs 0.7 ms per call), a raw() queryset about half as
    # much again as this cursor (profiled on the accept path).
    sql, params = _office_and_key_select(db, office_code, key, scope, extra=new_id)
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        row = cursor.fetchone()
    if row is None:
        raise UnknownOffice(office_code)
    fields = Office._meta.concrete_fields
    key_locked, replay_id, new_application_id = row[len(fields):]
    # to_python: SQLite answers booleans as 0/1 (the ORM's converters are skipped here).
    office = Office.from_db(db.alias, [f.attname for f in fields],
                            [f.to_python(v) for f, v in zip(fields, row, strict=False)])
    return office, bool(key_locked), replay_id, new_application_id


def _replay(record_id: int, fingerprint: str, now: dt.datetime) -> Submission | None:
    """The stored response, if it is still fresh; an expired one is forgotten so the key may be
    used afresh. Caller holds the key's lock."""
    record = IdempotencyRecord.objects.filter(pk=record_id).first()
    if record is None:
        return None
    if record.expires_at <= now:
        record.delete()
        return None
    if record.request_hash != fingerprint:
        raise KeyReused
    return Submission(record.response_status, record.response_body, replayed=True)


def _insert_or_lose(insert: Callable[[], Any]) -> None:
    try:
        insert()
    except IntegrityError as exc:
        raise _LostRace from exc


def _insert_together(*rows: Model) -> None:
    """INSERT new rows, in this order. PostgreSQL: in one round trip (Django's client-side
    binding cursor takes several statements in one execute); their foreign keys must already
    be set, so an application's id is drawn first. Written by hand because the ORM has no
    multi-table insert, and on the accept path every round trip is a share of the cost. SQLite:
    one save each (its database is in-process: a round trip costs nothing)."""
    if connection.vendor != "postgresql":
        for row in rows:
            row.save(force_insert=True)
        return
    # The connection itself, not django.db.connection: that proxy looks the connection up in a
    # context-local on every attribute access, and compiling an insert makes thousands.
    db = transaction.get_connection()
    statements: list[str] = []
    params: list[Any] = []
    for row in rows:
        sql, values = _insert_select(row, None, {}, db)
        statements.append(sql)
        params.extend(values)
    with db.cursor() as cursor:
        cursor.execute(";\n".join(statements), params)
    for row in rows:
        row._state.adding = False
        row._state.db = db.alias


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


def _replay_record(key: uuid.UUID, fingerprint: str, application: PassportApplication,
                   body: str, now: dt.datetime, scope: str) -> IdempotencyRecord:
    return IdempotencyRecord(
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
