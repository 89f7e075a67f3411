"""`audit verify` names the first sealed entry that was edited, deleted or moved, whatever was
done to the rows directly in the database."""

from __future__ import annotations

import io
import os
import subprocess
import sys
import threading
import uuid
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection, transaction

from immigration.audit import audit_record
from immigration.audit.chain import HeadMismatch, head, link_hash, seal
from immigration.audit.models import AuditEntry, ChainHead
from immigration.audit.verify import verify_chain
from immigration.models import Office, PassportApplication, StatusEvent
from tests.audit.conftest import new_application, sql

pytestmark = pytest.mark.django_db


def verify() -> str:
    """Run the command; return its failure message ('' when the chain is intact)."""
    out = io.StringIO()
    try:
        call_command("audit", "verify", stdout=out)
    except CommandError as exc:
        return str(exc)
    assert "audit chain intact: " in out.getvalue()
    return ""


def sealed(history: list[PassportApplication]) -> tuple[list[StatusEvent], list[AuditEntry]]:
    assert seal() == 9
    return (list(StatusEvent.objects.order_by("seq")), list(AuditEntry.objects.order_by("seq")))


def test_intact_chain_verifies(history: list[PassportApplication]) -> None:
    sealed(history)
    assert verify() == ""
    assert ChainHead.objects.get().seq == 9


def test_edited_status_event_is_named(history: list[PassportApplication]) -> None:
    events, _ = sealed(history)
    target = events[3]  # the second application's received event
    sql("UPDATE immigration_statusevent SET note = 'disetujui' WHERE id = %s", target.pk)

    failure = verify()

    assert f"status_event id {target.pk} " in failure
    assert f"at #{target.seq} does not match its seal: edited" in failure


def test_edited_audit_entry_is_named(history: list[PassportApplication], joko: User) -> None:
    _, entries = sealed(history)
    target = entries[1]
    sql("UPDATE audit_auditentry SET actor_id = %s WHERE id = %s", joko.pk, target.pk)

    failure = verify()

    assert f"audit id {target.pk} (dossier.open, application {target.application_id})" in failure
    assert "edited" in failure


def test_edited_timestamp_is_named(history: list[PassportApplication]) -> None:
    events, _ = sealed(history)
    target = events[-1]
    sql("UPDATE immigration_statusevent SET at = at - interval '1 day' WHERE id = %s"
        if connection.vendor == "postgresql" else
        "UPDATE immigration_statusevent SET at = '2020-01-01 00:00:00' WHERE id = %s", target.pk)

    assert f"status_event id {target.pk} " in verify()


def test_deleted_entry_is_named_by_its_position(history: list[PassportApplication]) -> None:
    events, _ = sealed(history)
    target = events[2]
    before = StatusEvent.objects.filter(seq=target.seq - 1).first() or \
        AuditEntry.objects.get(seq=target.seq - 1)
    sql("DELETE FROM immigration_statusevent WHERE id = %s", target.pk)

    failure = verify()

    assert f"sealed entry #{target.seq} is missing" in failure
    assert f"id {before.pk} " in failure  # the neighbour it followed, to find it in a backup
    assert "deleted" in failure


def test_deleted_tail_is_found_against_the_head_row(history: list[PassportApplication]) -> None:
    sealed(history)
    sql("DELETE FROM immigration_statusevent WHERE seq >= 8")
    sql("DELETE FROM audit_auditentry WHERE seq >= 8")

    assert "sealed entries #8-#9 are missing" in verify()


def test_swapped_entries_name_the_first_one_out_of_place(
    history: list[PassportApplication],
) -> None:
    events, _ = sealed(history)
    first, second = events[1], events[4]
    # Swap their positions (through a free value: seq is unique).
    sql("UPDATE immigration_statusevent SET seq = -1 WHERE id = %s", first.pk)
    sql("UPDATE immigration_statusevent SET seq = %s WHERE id = %s", first.seq, second.pk)
    sql("UPDATE immigration_statusevent SET seq = %s WHERE id = %s", second.seq, first.pk)

    failure = verify()

    assert f"status_event id {second.pk} " in failure
    assert f"at #{first.seq} does not match its seal: edited or moved" in failure


def test_swapped_contents_name_the_earlier_row(history: list[PassportApplication]) -> None:
    events, _ = sealed(history)
    a, b = events[0], events[3]  # two received events of different applications
    sql("UPDATE immigration_statusevent SET application_id = %s WHERE id = %s",
        b.application_id, a.pk)
    sql("UPDATE immigration_statusevent SET application_id = %s WHERE id = %s",
        a.application_id, b.pk)

    assert f"status_event id {a.pk} " in verify()


def test_row_with_a_recomputed_seal_breaks_the_next_link(
    history: list[PassportApplication],
) -> None:
    events, _ = sealed(history)
    target = events[1]
    sql("UPDATE immigration_statusevent SET note = 'disetujui' WHERE id = %s", target.pk)
    edited = StatusEvent.objects.get(pk=target.pk)
    previous = (StatusEvent.objects.filter(seq=target.seq - 1).first()
                or AuditEntry.objects.get(seq=target.seq - 1))
    sql("UPDATE immigration_statusevent SET chain_hash = %s WHERE id = %s",
        link_hash(previous.chain_hash, edited), target.pk)

    failure = verify()

    assert f"at #{target.seq + 1} does not match its seal" in failure


def test_unsealing_an_entry_to_have_it_resealed_leaves_a_gap(
    history: list[PassportApplication],
) -> None:
    events, _ = sealed(history)
    target = events[0]
    sql("UPDATE immigration_statusevent SET seq = NULL, chain_hash = '', note = 'x' "
        "WHERE id = %s", target.pk)

    assert f"sealed entry #{target.seq} is missing" in verify()  # verify seals it at #10 first


def test_verify_seals_pending_entries_first(history: list[PassportApplication]) -> None:
    assert verify() == ""
    assert not StatusEvent.objects.filter(seq__isnull=True).exists()
    assert not AuditEntry.objects.filter(seq__isnull=True).exists()


def test_verify_reports_progress(bambang: User) -> None:
    AuditEntry.objects.bulk_create(AuditEntry(actor=bambang, action="dossier.open")
                                   for _ in range(25))
    seal(batch=10)  # several sealing rounds make one chain
    seen: list[tuple[int, int]] = []

    verdict = verify_chain(progress=lambda done, total: seen.append((done, total)),
                           progress_every=10)

    assert verdict.ok and verdict.checked == 25
    assert seen == [(10, 25), (20, 25), (25, 25)]


@pytest.mark.django_db(transaction=True)
def test_late_commit_is_sealed_later_not_lost(nunukan: Office, bambang: User) -> None:
    """An entry whose id was allocated before others but committed after they were sealed is
    sealed in a later round, and the chain stays valid."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite has one writer at a time: ids are never committed out of order")
    inserted, release = threading.Event(), threading.Event()
    late_id: list[int] = []

    def slow_writer() -> None:
        try:
            with transaction.atomic():
                audit_record(actor=bambang, action="dossier.open", detail={"slow": True})
                late_id.append(AuditEntry.objects.latest("id").pk)
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    audit_record(actor=bambang, action="dossier.open", detail={"slow": False})
    assert seal() == 1  # the uncommitted one is invisible, so not sealed
    release.set()
    thread.join(10)

    assert seal() == 1
    late, early = AuditEntry.objects.get(pk=late_id[0]), AuditEntry.objects.get(detail__slow=False)
    assert late.pk < early.pk and late.seq is not None and early.seq is not None
    assert late.seq > early.seq
    assert verify() == ""


@pytest.mark.django_db(transaction=True)
def test_concurrent_sealers_build_one_chain(nunukan: Office, bambang: User) -> None:
    if connection.vendor != "postgresql":
        pytest.skip("row locks are PostgreSQL's; SQLite serialises writers anyway")
    AuditEntry.objects.bulk_create(AuditEntry(actor=bambang, action="dossier.open")
                                   for _ in range(300))
    errors: list[BaseException] = []

    def sealer() -> None:
        try:
            for _ in range(3):
                seal(batch=40)
        except BaseException as exc:  # reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=sealer) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)

    assert errors == []
    assert sorted(AuditEntry.objects.values_list("seq", flat=True)) == list(range(1, 301))
    assert verify() == ""


@pytest.mark.django_db(transaction=True)
def test_command_exits_non_zero_on_a_broken_chain(nunukan: Office, bambang: User) -> None:
    application = new_application(nunukan)
    audit_record(actor=bambang, action="dossier.open", application=application)
    seal()
    event = StatusEvent.objects.get()
    sql("UPDATE immigration_statusevent SET to_status = 'collected' WHERE id = %s", event.pk)
    db = settings.DATABASES["default"]
    password = f":{quote(db['PASSWORD'], safe='')}" if db.get("PASSWORD") else ""
    url = (f"sqlite:///{db['NAME']}" if connection.vendor == "sqlite" else
           f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}")

    done = subprocess.run(
        [sys.executable, "manage.py", "audit", "verify"], capture_output=True, text=True,
        env={**os.environ, "DATABASE_URL": url}, cwd=Path(settings.BASE_DIR), timeout=120,
    )

    assert done.returncode != 0
    assert f"status_event id {event.pk} " in done.stderr


def test_reset_head_row_stops_the_sealer_and_fails_verify(
    history: list[PassportApplication], bambang: User,
) -> None:
    sealed(history)
    sql("DELETE FROM audit_chainhead")
    audit_record(actor=bambang, action="dossier.open")

    with pytest.raises(HeadMismatch):
        seal()
    failure = verify()

    assert "the chain head row does not match the last sealed entry" in failure
    assert AuditEntry.objects.filter(seq__isnull=True).count() == 1  # nothing built on it


def test_sealer_refuses_to_build_after_a_deleted_tail(
    history: list[PassportApplication], bambang: User,
) -> None:
    sealed(history)
    sql("DELETE FROM immigration_statusevent WHERE seq = 9")
    sql("DELETE FROM audit_auditentry WHERE seq = 9")
    audit_record(actor=bambang, action="dossier.open")

    assert "sealed entry #9 is missing (the chain ends early" in verify()


@pytest.mark.django_db(transaction=True)
def test_writers_never_wait_for_the_sealer(nunukan: Office, bambang: User) -> None:
    """Accepting an application and auditing a read go through while the sealer holds the
    chain-head lock: the chain adds no serialization point to the accept path."""
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises all writers anyway")
    from rest_framework.test import APIClient

    from tests.conftest import application_payload

    results: list[int] = []

    def writer() -> None:
        try:
            response = APIClient().post("/api/v1/applications", application_payload(),
                                        format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
            results.append(response.status_code)
            audit_record(actor=bambang, action="dossier.open")
        finally:
            connection.close()

    head()  # a transactional test's flush may have removed the row the migration made
    with transaction.atomic():
        ChainHead.objects.select_for_update().get(pk=1)  # as a sealer mid-round holds it
        thread = threading.Thread(target=writer)
        thread.start()
        thread.join(60)
        finished = not thread.is_alive()
    thread.join()

    assert finished and results == [201]
    assert seal() == 2  # the received event and the audit entry
