"""Backups that restore: the office is backed up while it works, its database destroyed and
restored, and nothing accepted before the backup is lost, every file comes back byte for byte,
and the queue resumes without central printing anything twice. Runs on whichever database the
suite runs on (PostgreSQL: pg_dump/pg_restore; SQLite: the online backup API)."""

from __future__ import annotations

import base64
import hashlib
import threading
import time
import uuid
from io import StringIO
from pathlib import Path

import pytest
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db import connection
from rest_framework.test import APIClient

from immigration.dossier import requirements
from immigration.dossier.models import DossierFile
from immigration.dossier.storage import open_chunks
from immigration.models import PassportApplication, StatusEvent
from queueing import deliver
from tests.conftest import application_payload
from tests.fixtures.approvable import make_approvable
from tests.fixtures.dossier import dossier_store, small_pdf
from tests.fixtures.photos import passport_photo, signature_png

pytestmark = pytest.mark.django_db(transaction=True)

_seed = iter(range(20_000, 100_000))


def _approve(submit, bambang_api) -> PassportApplication:
    """Approved with a photo and signature of its own (distinct blobs at central)."""
    reference = submit(application_payload()).json()["reference"]
    bambang = User.objects.get(username="bambang")
    make_approvable(reference, bambang)
    application = PassportApplication.objects.get(reference=reference)
    dossier_store(application, "photo", passport_photo(next(_seed)), by=bambang)
    dossier_store(application, "signature", signature_png(next(_seed)), by=bambang)
    assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200
    return application


def _statuses(references) -> dict[str, str]:
    return dict(PassportApplication.objects.filter(reference__in=list(references))
                .values_list("reference", "status"))


def _files() -> dict[tuple[str, str, str], bytes]:
    """Every stored file's plaintext, by (reference, kind, sha256)."""
    return {(f.application.reference, f.kind, f.sha256): b"".join(open_chunks(f))
            for f in DossierFile.objects.select_related("application")}


def _destroy_database() -> None:
    """Ransomware: the office database is gone (PostgreSQL: dropped and created empty; SQLite:
    the file deleted)."""
    name = connection.settings_dict["NAME"]
    connection.close()
    if connection.vendor == "postgresql":
        with connection._nodb_cursor() as cursor:
            cursor.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
            cursor.execute(f'CREATE DATABASE "{name}"')
    else:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{name}{suffix}").unlink(missing_ok=True)
    assert connection.introspection.table_names() == []


def test_restored_office_loses_nothing_and_prints_nothing_twice(
    wired, submit, bambang_api, api, tmp_path
):
    # Before the backup: jobs central holds, jobs waiting in the queue, and an application
    # still at the counter with the documents the applicant sent.
    delivered = [_approve(submit, bambang_api) for _ in range(3)]
    deliver.drain(budget_seconds=10)
    queued = [_approve(submit, bambang_api) for _ in range(2)]
    key = str(uuid.uuid4())
    payload = application_payload()
    first = submit(payload, key=key)
    waiting = PassportApplication.objects.get(reference=first.json()["reference"])
    dossier_store(waiting, "ktp", small_pdf(padding=200_000))  # several 64 KB chunks
    before = _statuses(a.reference for a in [*delivered, *queued, waiting])
    assert set(before.values()) == {"sent_to_central", "queued_for_printing", "received"}
    files = _files()
    # Per approved one: its documents (how many depends on the application type), photo and
    # signature, and the two they superseded; and the waiting one's KTP.
    assert len(files) == sum(len(requirements.document_groups(a.application_type)) + 4
                             for a in [*delivered, *queued]) + 1

    backup = tmp_path / "office.tgbackup"
    out = StringIO()
    call_command("backup", str(backup), stdout=out)
    assert "backup written" in out.getvalue() and backup.stat().st_mode & 0o077 == 0
    sealed = backup.read_bytes()
    for content in files.values():  # no file, not even a piece of one, in the clear
        middle = len(content) // 2
        assert content[middle : middle + 32] not in sealed

    # After the backup the office carries on: the queue drains, one more is approved and sent.
    deliver.drain(budget_seconds=10)
    later = _approve(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    assert set(_statuses(a.reference for a in [*queued, later]).values()) == {"sent_to_central"}

    _destroy_database()
    restored = StringIO()
    call_command("restore", str(backup), stdout=restored)
    assert f"restored: 6 applications, {len(files)} dossier files" in restored.getvalue()

    # Nothing accepted before the backup is lost, and every file is byte-identical.
    assert _statuses(before) == before
    assert _files() == files
    for (_, _, sha256), content in files.items():
        assert hashlib.sha256(content).hexdigest() == sha256
    # The applicant's phone replays its submission: the same application, not a second one.
    replay = submit(payload, key=key)
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.content == first.content
    lookup = api.get(f"/api/v1/applications/{waiting.reference}",
                     HTTP_X_ACCESS_CODE=first.json()["access_code"])
    assert lookup.status_code == 200 and lookup.json()["status"] == "received"

    # The queue resumes where the backup left it; central dedupes what it already had.
    deliver.drain(budget_seconds=10)
    assert set(_statuses(a.reference for a in queued).values()) == {"sent_to_central"}
    stats = wired.control.stats()
    assert stats["printed_twice"] == []
    assert stats["print_counts"] == {a.print_job_key: 1 for a in [*delivered, *queued, later]}
    ledger = wired.control.blobs()
    sent = DossierFile.objects.current().filter(kind__in=["photo", "signature"],
                                                application__status="sent_to_central")
    assert sent.count() == 2 * 5
    for file in sent.select_related("application"):
        assert ledger[file.sha256]["completions"] == 1  # never sent again in full
        content = files[(file.application.reference, file.kind, file.sha256)]
        assert wired.control.blob_bytes(file.sha256) == content

    # Central knows the job approved after the backup; reconciliation tells the operator.
    report = StringIO()
    call_command("reconcile", stdout=report)
    assert f"this office does not know: {later.print_job_key}" in report.getvalue()
    assert "re-sent 0" in report.getvalue()

    # And the restored office keeps working: a new application goes all the way to central.
    fresh = _approve(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    assert _statuses([fresh.reference]) == {fresh.reference: "sent_to_central"}
    assert wired.control.stats()["print_counts"][fresh.print_job_key] == 1


# --- refusals: the database is left as it was -------------------------------------------------


@pytest.fixture
def office_backup(submit, tmp_path) -> tuple[Path, str]:
    """A backup holding one application; a second one is accepted after it."""
    before = submit().json()["reference"]
    path = tmp_path / "office.tgbackup"
    call_command("backup", str(path), stdout=StringIO())
    submit()
    return path, before


def _restore(path: Path, *args: str) -> str:
    out = StringIO()
    call_command("restore", str(path), *args, stdout=out)
    return out.getvalue()


def test_restore_over_data_needs_force(office_backup):
    path, before = office_backup
    with pytest.raises(CommandError, match=r"not empty \(2 applications.*--force"):
        _restore(path)
    assert PassportApplication.objects.count() == 2

    _restore(path, "--force")
    assert list(PassportApplication.objects.values_list("reference", flat=True)) == [before]


def test_a_tampered_backup_is_refused_and_nothing_changes(office_backup):
    path, _ = office_backup
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))
    with pytest.raises(CommandError, match=r"altered or damaged.*nothing was changed"):
        _restore(path, "--force")
    with pytest.raises(CommandError, match="altered or damaged"):
        _restore(path, "--check")
    assert PassportApplication.objects.count() == 2


def test_a_backup_cut_short_is_refused(office_backup):
    path, _ = office_backup
    path.write_bytes(path.read_bytes()[:-100])
    with pytest.raises(CommandError, match="cut short"):
        _restore(path, "--force")
    assert PassportApplication.objects.count() == 2


def test_a_wrong_backup_key_is_refused(office_backup, settings):
    path, _ = office_backup
    settings.BACKUP_KEYS = "1:" + base64.b64encode(b"\x07" * 32).decode()
    with pytest.raises(CommandError, match="wrong backup key"):
        _restore(path, "--force")
    assert PassportApplication.objects.count() == 2


def test_restore_onto_other_personal_data_keys_is_refused(office_backup, settings):
    path, _ = office_backup
    settings.PII_KEYS = "1:" + base64.b64encode(b"\x09" * 32).decode()
    with pytest.raises(CommandError, match=r"lacks personal-data key version\(s\) 1"):
        _restore(path, "--force")
    assert PassportApplication.objects.count() == 2


def test_check_verifies_without_changing_anything(office_backup):
    path, _ = office_backup
    out = _restore(path, "--check")
    assert "1 applications" in out and "backup verified" in out
    assert PassportApplication.objects.count() == 2


def test_backup_without_a_key_or_over_a_file_refuses(office_backup, settings, tmp_path):
    path, _ = office_backup
    with pytest.raises(CommandError, match="never overwrites"):
        call_command("backup", str(path), stdout=StringIO())
    settings.BACKUP_KEYS = None
    with pytest.raises(CommandError, match="BACKUP_KEYS is not set"):
        call_command("backup", str(tmp_path / "other.tgbackup"), stdout=StringIO())
    assert not (tmp_path / "other.tgbackup").exists()


def test_backup_taken_while_the_office_accepts_is_consistent(nunukan, tmp_path):
    """Applications keep arriving during the backup: what it holds is one moment of the office
    (each application with its status event, counts as the manifest says)."""
    stop = threading.Event()
    accepted: list[str] = []

    def phones() -> None:
        client = APIClient()
        try:
            while not stop.is_set():
                response = client.post("/api/v1/applications", application_payload(),
                                       format="json", HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()))
                assert response.status_code == 201, response.content
                accepted.append(response.json()["reference"])
        finally:
            connection.close()

    thread = threading.Thread(target=phones)
    thread.start()
    try:
        while len(accepted) < 5:
            time.sleep(0.05)
        path = tmp_path / "busy.tgbackup"
        out = StringIO()
        call_command("backup", str(path), stdout=out)
        in_backup = len(accepted)  # at least this many were committed before it ended
    finally:
        stop.set()
        thread.join()
    assert len(accepted) > 5

    restored = _restore(path, "--force")  # refuses if the counts differ from the manifest
    count = PassportApplication.objects.count()
    assert f"restored: {count} applications" in restored
    assert 5 <= count <= in_backup
    assert set(PassportApplication.objects.values_list("reference", flat=True)) == set(
        accepted[:count])
    events = StatusEvent.objects.filter(to_status="received")
    assert events.count() == count  # no application without its event, nor the reverse
