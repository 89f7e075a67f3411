"""Signed chain heads: exported daily, and later proof against truncation or rewriting."""

from __future__ import annotations

import base64
import io
import json
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.core.management import CommandError, call_command

from immigration.audit.chain import GENESIS, link_hash, seal, sealed_rows
from immigration.audit.heads import HeadRefused, read_head
from immigration.audit.models import AuditEntry, ChainHead
from immigration.audit.tasks import export_chain_head
from immigration.models import PassportApplication, StatusEvent
from tests.audit.conftest import sql

pytestmark = pytest.mark.django_db


@pytest.fixture
def head_dir(tmp_path: Path, settings: object) -> Path:
    settings.AUDIT_HEAD_DIR = tmp_path / "heads"  # type: ignore[attr-defined]
    return tmp_path / "heads"


def export(directory: Path) -> Path:
    out = io.StringIO()
    call_command("audit", "export-head", "--dir", str(directory), stdout=out)
    return Path(out.getvalue().split("wrote ", 1)[1].strip())


def verify_against(path: Path) -> str:
    out = io.StringIO()
    try:
        call_command("audit", "verify", "--head", str(path), stdout=out)
    except CommandError as exc:
        return str(exc)
    assert "matches the head exported" in out.getvalue()
    return ""


def test_beat_task_writes_a_signed_head_to_the_configured_directory(
    history: list[PassportApplication], head_dir: Path,
) -> None:
    path = Path(export_chain_head())

    assert path.parent == head_dir
    body = json.loads(path.read_text())
    assert body["seq"] == 9 and body["hash"] == ChainHead.objects.get().hash  # sealed first
    assert read_head(path).seq == 9
    assert verify_against(path) == ""


def test_chain_still_verifies_against_an_older_head(
    history: list[PassportApplication], head_dir: Path,
) -> None:
    path = export(head_dir)
    AuditEntry.objects.create(action="dossier.open")  # the chain grows after the export
    assert verify_against(path) == ""


def _rewind_head_to_last_row() -> None:
    last = max(sealed_rows(), key=lambda r: r.seq or 0)
    ChainHead.objects.filter(pk=1).update(seq=last.seq, hash=last.chain_hash)


def test_truncation_hidden_from_plain_verify_is_caught_by_the_head(
    history: list[PassportApplication], head_dir: Path,
) -> None:
    path = export(head_dir)
    # A careful intruder deletes the last entries and rewinds the head row to match.
    sql("DELETE FROM immigration_statusevent WHERE seq >= 8")
    sql("DELETE FROM audit_auditentry WHERE seq >= 8")
    _rewind_head_to_last_row()
    out = io.StringIO()
    call_command("audit", "verify", stdout=out)  # self-consistent on its own...

    failure = verify_against(path)

    assert "the chain has 7 entries but the head exported" in failure  # ...not against the head
    assert "had 9: truncated" in failure


def test_rewrite_with_every_seal_recomputed_is_caught_by_the_head(
    history: list[PassportApplication], head_dir: Path,
) -> None:
    path = export(head_dir)
    target = StatusEvent.objects.get(seq=3)
    sql("UPDATE immigration_statusevent SET note = 'disetujui' WHERE id = %s", target.pk)
    previous = GENESIS
    for row in list(sealed_rows()):  # recompute every seal from the start, and the head row
        row.chain_hash = previous = link_hash(previous, row)
        type(row).objects.filter(pk=row.pk).update(chain_hash=row.chain_hash)
    _rewind_head_to_last_row()
    call_command("audit", "verify", stdout=io.StringIO())  # self-consistent again

    failure = verify_against(path)

    assert "the chain up to #9 differs from the head exported" in failure


def test_edited_head_file_is_refused(history: list[PassportApplication], head_dir: Path) -> None:
    path = export(head_dir)
    body = json.loads(path.read_text())
    body["seq"] = 5
    path.write_text(json.dumps(body))

    with pytest.raises(HeadRefused, match="signature does not match"):
        read_head(path)
    assert "signature does not match" in verify_against(path)


def test_head_signed_by_another_key_is_refused(
    history: list[PassportApplication], head_dir: Path, settings: object,
) -> None:
    path = export(head_dir)
    other = Ed25519PrivateKey.generate().private_bytes_raw()
    settings.AUDIT_SIGNING_KEY = base64.b64encode(other).decode()  # type: ignore[attr-defined]

    assert "signature does not match" in verify_against(path)


def test_head_checked_with_a_public_key_given_on_the_command_line(
    history: list[PassportApplication], head_dir: Path,
) -> None:
    path = export(head_dir)
    out = io.StringIO()
    call_command("audit", "public-key", stdout=out)
    public = out.getvalue().strip()

    call_command("audit", "verify", "--head", str(path), "--public-key", public,
                 stdout=io.StringIO())
    wrong = base64.b64encode(Ed25519PrivateKey.generate().public_key().public_bytes_raw())
    with pytest.raises(CommandError, match="signature does not match"):
        call_command("audit", "verify", "--head", str(path), "--public-key", wrong.decode(),
                     stdout=io.StringIO())


def test_unreadable_head_file_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "head.json"
    path.write_text("{not json")
    assert "unreadable head file" in verify_against(path)
    assert seal() == 0


def test_beat_runs_the_sealer_and_the_daily_export(settings: object) -> None:
    from immigration.celery import app

    app.loader.import_default_modules()
    schedule = {entry["task"]: entry["schedule"]
                for entry in settings.CELERY_BEAT_SCHEDULE.values()}  # type: ignore[attr-defined]
    assert schedule["audit.seal"] <= 10 and schedule["audit.export_head"] == 86400.0
    assert {"audit.seal", "audit.export_head"} <= set(app.tasks)
