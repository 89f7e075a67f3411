"""The passport-application domain: offices, staff, applications and their status events.

State changes are methods on the application; each writes an append-only status event in the
same transaction. Callers hold the row lock (`select_for_update`) for any method that changes
status, so two staff clicking "approve" at once produce one transition, not two.
"""

from __future__ import annotations

import base64
import datetime as dt
import hmac
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.utils import timezone

from immigration.lifecycle import ACTIVE_STATUSES, Actor, Status, chain_position, is_allowed
from immigration.office_time import DEFAULT_OFFICE_TIMEZONE, validate_timezone_name
from immigration.personal_data import EncryptedTextField, blind_index
from immigration.print_jobs import PRINT_JOB_TOPIC, print_job_key
from immigration.readiness import ensure_ready
from immigration.references import hash_access_code, new_access_code, new_reference
from immigration.status_changes import StatusChange, status_changed, status_hooks_registered
from queueing.lookups import int_array
from queueing.outbox import enqueue
from queueing.redeliver import send_again

__all__ = ["PRINT_JOB_TOPIC"]  # re-exported for callers written before print_jobs.py existed


class IllegalTransition(Exception):
    def __init__(self, current: str, target: str) -> None:
        super().__init__(f"an application that is {current} cannot become {target}")
        self.current, self.target = current, target


class NikInUse(Exception):
    """Another application for this NIK is still in progress (one active per NIK). Deliberately
    names no reference: whoever typed someone else's NIK must not learn anything about that
    person's application."""


class UnknownOffice(Exception):
    """No office has this code."""


class ServiceClosed(Exception):
    """The office does not offer this service now (registration or express closed on its
    board); `note` is the board's note for applicants."""

    def __init__(self, service: str, *, note: str = "") -> None:
        super().__init__(service)
        self.service, self.note = service, note


class Office(models.Model):
    code = models.CharField(max_length=6, primary_key=True)
    name = models.CharField(max_length=120)
    registration_open = models.BooleanField(default=True)
    express_open = models.BooleanField(default=True)
    pickup_open = models.BooleanField(default=True)
    service_note = models.CharField(max_length=300, blank=True, default="")
    # The office's wall clock (an IANA name): times shown to its staff and applicants, and its
    # quiet hours, are in this zone. Indonesia has three: WIB, WITA (Nunukan, Bali), WIT.
    timezone = models.CharField(
        max_length=64, default=DEFAULT_OFFICE_TIMEZONE, validators=[validate_timezone_name]
    )

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    # ensure_offers() as an SQL condition over a row `o` of offices and a `service` parameter,
    # for the accept in one statement (immigration/intake.py). Keep the two in step.
    OFFERS_SQL = "o.registration_open AND (%s <> 'express' OR o.express_open)"

    def ensure_offers(self, service: str) -> None:
        """Raise ServiceClosed when this office does not take `service` applications now
        (also OFFERS_SQL)."""
        if not self.registration_open:
            raise ServiceClosed("registration", note=self.service_note)
        if service == Service.EXPRESS and not self.express_open:
            raise ServiceClosed(service, note=self.service_note)


class StaffMembership(models.Model):
    """Staff belong to one office and see only its applications."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="membership"
    )
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="staff")

    def __str__(self) -> str:
        return f"{self.user} @ {self.office_id}"


class Announcement(models.Model):
    office = models.ForeignKey(Office, on_delete=models.CASCADE, related_name="announcements")
    message = models.CharField(max_length=500)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.office_id}: {self.message[:40]}"


class Service(models.TextChoices):
    REGULAR = "regular", "Regular"
    EXPRESS = "express", "Express (percepatan)"


class PassportType(models.TextChoices):
    ORDINARY = "ordinary", "Ordinary"
    ELECTRONIC = "electronic", "Electronic"


class ApplicationType(models.TextChoices):
    NEW = "new", "New"
    RENEWAL = "renewal", "Renewal"
    REPLACEMENT_LOST = "replacement_lost", "Replacement (lost)"
    REPLACEMENT_DAMAGED = "replacement_damaged", "Replacement (damaged)"


class Sex(models.TextChoices):
    MALE = "M", "Male"
    FEMALE = "F", "Female"


PERSONAL_FIELDS = (
    "nik", "full_name", "sex", "date_of_birth", "place_of_birth", "mother_name", "address",
    "phone", "email",
)


class ApplicationQuerySet(models.QuerySet["PassportApplication"]):
    def for_office(self, office_code: str) -> ApplicationQuerySet:
        return self.filter(office_id=office_code)

    def with_nik(self, nik: str) -> ApplicationQuerySet:
        return self.filter(nik_index=nik_blind_index(nik))

    def active(self) -> ApplicationQuerySet:
        return self.filter(status__in=ACTIVE_STATUSES)

    def mark_sent_to_central(self, jobs: dict[tuple[int, int], str]) -> int:
        """Bulk form of `PassportApplication.mark_sent_to_central` for a delivered batch:
        `jobs` maps (application id, data version) to central's job id. Only applications still
        queued with that data version move (callbacks may have moved others on already). Must run
        inside the transaction that settles the outbox messages; it takes the row locks itself.
        """
        now = timezone.now()
        notes = {app_id: f"central job {job_id}" for (app_id, _v), job_id in jobs.items()}
        if connection.vendor == "postgresql":
            moved = _move_to_sent_in_one_statement(jobs, notes, now)
        else:
            moved = self._move_to_sent(jobs, notes, now)
        # The bulk path bypasses _transition, so it reports its changes itself (one call per
        # batch).
        if moved and status_hooks_registered():
            status_changed([
                StatusChange(application_id=app_id, office_id=office, reference=reference,
                             from_status=Status.QUEUED_FOR_PRINTING,
                             to_status=Status.SENT_TO_CENTRAL, event_id=event_id,
                             note=notes[app_id])
                for app_id, office, reference, event_id in moved
            ])
        return len(moved)

    def _move_to_sent(self, jobs: dict[tuple[int, int], str], notes: dict[int, str],
                      now: dt.datetime) -> list[tuple[int, str, str, int]]:
        """(application id, office, reference, event id) of each application moved."""
        candidates = (
            self.select_for_update()
            .filter(id__any=[app_id for app_id, _ in jobs], status=Status.QUEUED_FOR_PRINTING)
            .values_list("id", "data_version", "office_id", "reference")
        )
        heads = {app_id: (office, reference) for app_id, version, office, reference in candidates
                 if (app_id, version) in jobs}
        if not heads:
            return []
        self.filter(id__any=list(heads)).update(status=Status.SENT_TO_CENTRAL, updated_at=now)
        events = StatusEvent.objects.bulk_create(  # primary keys back on SQLite >= 3.35
            StatusEvent(application_id=app_id, from_status=Status.QUEUED_FOR_PRINTING,
                        to_status=Status.SENT_TO_CENTRAL, actor=Actor.DELIVERY,
                        note=notes[app_id], at=now)
            for app_id in heads
        )
        return [(e.application_id, *heads[e.application_id], e.pk) for e in events]


def _move_to_sent_in_one_statement(
    jobs: dict[tuple[int, int], str], notes: dict[int, str], now: dt.datetime
) -> list[tuple[int, str, str, int]]:
    """PostgreSQL form of `_move_to_sent`: the conditional UPDATE (which takes the row locks)
    and the events' INSERT as one statement of data-modifying CTEs, by hand because the ORM
    has no UPDATE ... RETURNING. The general path reads and locks the batch first, then updates
    it: each row written twice and three round trips, for every batch of a drain.

    The batch reaches its applications by primary key whatever the planner believes: the
    expected status is a column of the materialized `job` rows, not a constant, so no index on
    status can be chosen instead. With `a.status = 'queued_for_printing'` as a constant and the
    statistics of a backlog bulk-built during an outage (or of no backlog at all), PostgreSQL
    walked every queued application for each batch: 40-50 ms per batch of 300 at 30,000
    waiting, most of the drain's database time, and up to 1.4 s once it chose a nested loop
    over them (pg_stat_statements and auto_explain, docs/benchmarks.md)."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute(*move_to_sent_statement(jobs, notes, now))
        return [tuple(row) for row in cursor.fetchall()]


def move_to_sent_statement(
    jobs: dict[tuple[int, int], str], notes: dict[int, str], now: dt.datetime
) -> tuple[str, list[Any]]:
    """The SQL and parameters of `_move_to_sent_in_one_statement` (its plan is tested)."""
    applications, events = PassportApplication._meta.db_table, StatusEvent._meta.db_table
    ids, versions = [app_id for app_id, _ in jobs], [version for _, version in jobs]
    return (
        f"WITH job AS MATERIALIZED (SELECT j.*, %s::text AS expected "  # noqa: S608
        f"FROM unnest(%s::bigint[], %s::int[], %s::text[]) AS j(id, version, note)), "
        f"moved AS (UPDATE {applications} AS a SET status = %s, updated_at = %s FROM job "
        f"WHERE a.id = job.id AND a.data_version = job.version AND a.status = job.expected "
        f"RETURNING a.id, a.office_id, a.reference, job.note), "
        f"event AS (INSERT INTO {events} (application_id, from_status, to_status, actor, "
        f"note, at, chain_hash) SELECT moved.id, %s, %s, %s, moved.note, %s, '' FROM moved "
        f"RETURNING application_id, id) "
        f"SELECT moved.id, moved.office_id, moved.reference, event.id FROM moved "
        f"JOIN event ON event.application_id = moved.id",
        [Status.QUEUED_FOR_PRINTING, int_array(ids), int_array(versions),
         [notes[app_id] for app_id in ids],
         Status.SENT_TO_CENTRAL, now,
         Status.QUEUED_FOR_PRINTING, Status.SENT_TO_CENTRAL, Actor.DELIVERY, now],
    )


def print_priority_of(service: str) -> int:
    """PassportApplication.print_priority, for a service read without its application."""
    return 1 if service == Service.EXPRESS else 0


def nik_blind_index(nik: str) -> str:
    return blind_index(nik, purpose="nik")


def _blind_index_key() -> bytes:
    # Access codes are hashed with the blind-index key: both are keyed lookups of a secret.
    return base64.b64decode(settings.PII_INDEX_KEY)


class PassportApplication(models.Model):
    reference = models.CharField(max_length=20, unique=True)
    # No index of its own: (office, status) below serves every lookup by office, and each index
    # is paid on every accept (migration 0008 also drops PostgreSQL's unused "_like" copies).
    office = models.ForeignKey(Office, on_delete=models.PROTECT, related_name="applications",
                               db_index=False)
    service = models.CharField(max_length=10, choices=Service.choices)
    passport_type = models.CharField(max_length=12, choices=PassportType.choices)
    application_type = models.CharField(max_length=24, choices=ApplicationType.choices)
    status = models.CharField(max_length=24, choices=Status.choices, default=Status.RECEIVED)
    appointment_date = models.DateField(null=True, blank=True)

    # Personal data: encrypted at rest, never filtered on (see personal_data.py).
    nik = EncryptedTextField()
    nik_index = models.CharField(max_length=64, db_index=True, editable=False)
    full_name = EncryptedTextField()
    sex = EncryptedTextField()
    date_of_birth = EncryptedTextField()  # ISO date; encrypted, so stored as text
    place_of_birth = EncryptedTextField()
    mother_name = EncryptedTextField()
    address = EncryptedTextField()
    phone = EncryptedTextField()
    email = EncryptedTextField(blank=True, default="")

    access_code_hash = models.CharField(max_length=64, editable=False)
    # UU PDP: which consent text (immigration.consent.TEXTS) the applicant agreed to. Blank only
    # for applications accepted before consent was recorded.
    consent_version = models.CharField(max_length=20, blank=True, default="")
    # Set when the personal data was blanked (retention or an erasure request): the row stays
    # for statistics (reference, status, events), the person is gone.
    anonymised_at = models.DateTimeField(null=True, blank=True)
    # Bumped whenever staff correct the data; part of the print-job key, so central sees a
    # corrected application as a new job rather than as a reused key with a different body.
    data_version = models.PositiveIntegerField(default=1)
    attention_reason = models.CharField(max_length=500, blank=True, default="")
    submitted_at = models.DateTimeField(default=timezone.now)
    approved_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = ApplicationQuerySet.as_manager()

    class Meta:
        constraints = [
            # The one-active-application-per-NIK rule, enforced by the database itself so two
            # concurrent submissions cannot both pass a check-then-insert.
            models.UniqueConstraint(
                fields=["nik_index"],
                condition=Q(status__in=sorted(s.value for s in ACTIVE_STATUSES)),
                name="one_active_application_per_nik",
            ),
        ]
        indexes = [models.Index(fields=["office", "status"], name="application_office_status")]

    def __str__(self) -> str:
        return self.reference  # never personal data: this string ends up in logs and admin

    # --- creation ---------------------------------------------------------------------------
    @classmethod
    def build(cls, *, office: Office, applicant: dict[str, Any], **fields: Any) -> tuple[
        PassportApplication, str
    ]:
        """An unsaved application with a fresh reference and access code (returned in clear,
        once: only its hash is stored)."""
        code = new_access_code()
        application = cls(
            office=office,
            reference=new_reference(office.code),
            access_code_hash=hash_access_code(code, key=_blind_index_key()),
            **fields,
        )
        application.set_applicant(applicant)
        return application, code

    def set_applicant(self, applicant: dict[str, Any]) -> None:
        for name in PERSONAL_FIELDS:
            value = applicant.get(name) or ""
            setattr(self, name, value.isoformat() if isinstance(value, dt.date) else str(value))
        self.nik_index = nik_blind_index(self.nik)

    def applicant_data(self) -> dict[str, str]:
        return {name: getattr(self, name) for name in PERSONAL_FIELDS}

    def access_code_matches(self, code: str) -> bool:
        return hmac.compare_digest(self.access_code_hash,
                                   hash_access_code(code, key=_blind_index_key()))

    # --- lifecycle --------------------------------------------------------------------------
    def _transition(
        self, target: Status, *, actor: Actor, user: Any = None, note: str = ""
    ) -> None:
        """Move to `target` and record it. Caller holds the row lock inside a transaction."""
        if not is_allowed(Status(self.status), target, actor):
            raise IllegalTransition(self.status, target)
        previous = self.status
        self.status = target
        self.save(update_fields=["status", "attention_reason", "approved_at", "data_version",
                                 "updated_at"])
        event = StatusEvent.objects.create(
            application=self,
            from_status=previous,
            to_status=target,
            actor=actor,
            user=user if user is not None and user.is_authenticated else None,
            note=note[:500],
        )
        status_changed([StatusChange(
            application_id=self.pk, office_id=self.office_id, reference=self.reference,
            from_status=previous, to_status=target, event_id=event.pk, note=event.note,
        )])

    def record_received(self, *, actor: Actor, user: Any = None) -> None:
        """The first event of the timeline, written when the application is accepted."""
        self.received_event(actor=actor, user=user).save()

    def received_event(self, *, actor: Actor, user: Any = None) -> StatusEvent:
        """The first event of the timeline, unsaved (intake writes it with the application)."""
        return StatusEvent(
            application=self, from_status="", to_status=Status.RECEIVED, actor=actor,
            user=user if user is not None and user.is_authenticated else None,
        )

    @property
    def print_job_key(self) -> str:
        return print_job_key(self.reference, self.data_version)

    @property
    def print_priority(self) -> int:
        """Express work is delivered before regular work (queueing.claim keeps a share of every
        batch for the oldest work, so regular applications are never starved)."""
        return print_priority_of(self.service)

    def approve(self, *, by: Any) -> bool:
        """Approve for printing and put the print job in the outbox, in the caller's
        transaction. Returns False (and does nothing) when it is already approved or beyond."""
        if chain_position(self.status) >= 0:
            return False
        if self.status != Status.RECEIVED:
            # Needs-attention applications go back through `resubmit` (a new data version).
            raise IllegalTransition(self.status, Status.QUEUED_FOR_PRINTING)
        ensure_ready(self)  # documents, fees, sign-off: whatever the office's parts require
        self.approved_at = timezone.now()
        self._transition(Status.QUEUED_FOR_PRINTING, actor=Actor.STAFF, user=by)
        self._enqueue_print_job()
        return True

    def _print_job_message(self) -> dict[str, Any]:
        return {
            "topic": PRINT_JOB_TOPIC,
            "key": self.print_job_key,
            # No personal data in the outbox: the job body is built from this row at send time.
            "payload": {"application_id": self.pk, "data_version": self.data_version},
            "priority": self.print_priority,
        }

    def _enqueue_print_job(self) -> None:
        enqueue(**self._print_job_message())

    def send_print_job_again(self) -> bool:
        """Central lost this job (reconciliation): its message goes again under the same key,
        made anew if the outbox already purged the delivered one. In the caller's transaction;
        False when the message is dead (an operator's call)."""
        return send_again(**self._print_job_message())

    def reject(self, *, by: Any, reason: str) -> None:
        self._transition(Status.REJECTED, actor=Actor.STAFF, user=by, note=reason)

    def cancel(self, *, by: Any, actor: Actor = Actor.STAFF, note: str = "") -> None:
        self._transition(Status.CANCELLED, actor=actor, user=by, note=note)

    def collect(self, *, by: Any) -> None:
        self._transition(Status.COLLECTED, actor=Actor.STAFF, user=by)

    def resubmit(self, *, by: Any, applicant: dict[str, Any] | None = None) -> None:
        """After central refused the data: correct it (optional) and send a new data version."""
        if self.status != Status.NEEDS_ATTENTION:
            raise IllegalTransition(self.status, Status.QUEUED_FOR_PRINTING)
        if applicant:
            if (applicant.get("nik") and PassportApplication.objects.with_nik(applicant["nik"])
                    .active().exclude(pk=self.pk).exists()):
                raise NikInUse
            self.set_applicant({**self.applicant_data(), **applicant})
            self.save(update_fields=[*PERSONAL_FIELDS, "nik_index", "updated_at"])
        self.data_version += 1
        self.attention_reason = ""
        self.approved_at = timezone.now()
        self._transition(Status.QUEUED_FOR_PRINTING, actor=Actor.STAFF, user=by,
                         note=f"data version {self.data_version}")
        self._enqueue_print_job()

    def requeue_unchanged(self, *, note: str) -> None:
        """Back to the print queue with the same data version (an operator retried the dead
        letter, e.g. after central fixed its own validation). The outbox message is reused."""
        self.attention_reason = ""
        self._transition(Status.QUEUED_FOR_PRINTING, actor=Actor.STAFF, note=note)

    def back_to_print_queue(self, *, note: str) -> None:
        """Central lost the job (reconciliation): the applicant is told it waits to be sent
        again, which is the truth; the caller requeues the outbox message."""
        self._transition(Status.QUEUED_FOR_PRINTING, actor=Actor.DELIVERY, note=note)

    def mark_sent_to_central(self, *, job_id: str) -> None:
        """Central acknowledged the print job. A no-op when callbacks already moved it on."""
        PassportApplication.objects.filter(pk=self.pk).mark_sent_to_central(
            {(self.pk, self.data_version): job_id}
        )
        self.refresh_from_db(fields=["status", "updated_at"])

    def advance_from_central(self, target: Status, *, note: str = "") -> bool:
        """Apply a central callback. Forward moves only: a late or repeated callback is ignored.
        Returns True when the status changed."""
        if chain_position(self.status) < 0 or chain_position(target) <= chain_position(self.status):
            return False
        self._transition(target, actor=Actor.CENTRAL, note=note)
        return True

    def needs_attention(self, *, reason: str, actor: Actor) -> None:
        self.attention_reason = reason[:500]
        self._transition(Status.NEEDS_ATTENTION, actor=actor, note=reason)


class StatusEvent(models.Model):
    """Append-only: one row per transition. Never updated or deleted (only sealed once, see
    immigration/audit/chain.py)."""

    # PROTECT: an application with history cannot be deleted (it would take its events along).
    application = models.ForeignKey(
        PassportApplication, on_delete=models.PROTECT, related_name="events"
    )
    from_status = models.CharField(max_length=24, blank=True)
    to_status = models.CharField(max_length=24, choices=Status.choices)
    actor = models.CharField(max_length=12, choices=Actor.choices)
    # PROTECT, not SET_NULL: clearing the user of a sealed event would break the audit chain;
    # staff who leave are deactivated, not deleted.
    # Indexed only where set (see Meta): most events are the applicant's or the delivery's, and
    # each index entry is written on every status change.
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+", db_index=False,
    )
    note = models.CharField(max_length=500, blank=True, default="")
    at = models.DateTimeField(default=timezone.now)
    # The audit chain's seal, set once by its sealer after the event committed; writers leave
    # them empty (no lock on the accept path). Both indexes are partial, so an insert touches
    # only the small "unsealed" one.
    seq = models.BigIntegerField(null=True, blank=True, editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["at", "id"]
        constraints = [
            models.UniqueConstraint(fields=["seq"], condition=Q(seq__isnull=False),
                                    name="statusevent_seq_unique"),
        ]
        indexes = [
            models.Index(fields=["user"], condition=Q(user__isnull=False),
                         name="statusevent_staff_user"),
            models.Index(fields=["id"], condition=Q(seq__isnull=True),
                         name="statusevent_unsealed"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id}: {self.from_status or '-'} -> {self.to_status}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("status events are append-only")
        super().save(*args, **kwargs)


class IdempotencyRecord(models.Model):
    """A submitted response kept for replays of the same Idempotency-Key for 24 hours. The body
    holds the access code, so it is encrypted like personal data."""

    key = models.UUIDField()
    scope = models.CharField(max_length=50)
    request_hash = models.CharField(max_length=64)
    response_status = models.PositiveSmallIntegerField()
    response_body = EncryptedTextField()
    # Not indexed: written on every accept, read only by retention, and the table holds one
    # day of submissions (records expire and are purged).
    application = models.ForeignKey(
        PassportApplication, null=True, on_delete=models.CASCADE, related_name="+",
        db_index=False,
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["scope", "key"], name="idempotency_unique_key"),
        ]
        indexes = [models.Index(fields=["expires_at"], name="idempotency_expiry")]

    def __str__(self) -> str:
        return f"{self.scope}:{self.key}"



class ProcessedCallback(models.Model):
    """Callback event ids already applied, so a replayed callback changes nothing."""

    event_id = models.CharField(max_length=100, unique=True)
    received_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return self.event_id
