"""Backing up and restoring the office: its database, with the dossier files inside it.

There is nothing else to keep: dossier files are sealed chunks in the database (see
immigration/dossier/storage.py), Redis only holds "there is work" and shared limiter state
(rebuilt from the database), and the secrets live in the environment. A backup is therefore
one file: the database dump, sealed with BACKUP_KEYS (see archive.py), with a manifest.

Personal data inside stays sealed with PII_KEYS as it was in the database, so a backup needs
both keys to be read: the backup key to open the file, the personal-data keys to read what
is in it. The manifest records fingerprints of the latter so a restore onto a server with
other keys is refused before it destroys anything.
"""

from __future__ import annotations

import base64
import hashlib
import os
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.db import connections
from django.db.migrations.loader import MigrationLoader

from immigration.backup import postgres, sqlite
from immigration.backup.archive import ArchiveReader, ArchiveWriter, BackupKeys, BackupRefused
from immigration.dossier.models import DossierFile
from immigration.models import PassportApplication
from queueing.models import OutboxMessage

Log = Callable[[str], None]
ALIAS = "default"
SUFFIX = ".tgbackup"

# What the manifest counts (and a restore compares): a backup that restores fewer
# applications or files than it says it holds is a failed restore.
COUNTED: dict[str, Any] = {"applications": PassportApplication, "dossier_files": DossierFile,
           "outbox_messages": OutboxMessage, "users": User}


class BackupFailed(Exception):
    """A clear reason, for the operator; nothing was changed."""


@dataclass(frozen=True)
class BackupResult:
    path: Path
    size: int
    sha256: str
    manifest: dict[str, Any]


def backup_keys() -> BackupKeys:
    spec = settings.BACKUP_KEYS
    if not spec:
        raise BackupFailed("BACKUP_KEYS is not set: production backups need their own key "
                           "(see README, Backups)")
    try:
        return BackupKeys.parse(spec)
    except ValueError as exc:
        raise BackupFailed(str(exc)) from exc


def _fingerprint(key: bytes) -> str:
    # Identifies a key without revealing it (a one-way hash of 32 random bytes).
    return hashlib.sha256(b"tangguh-key-fingerprint:" + key).hexdigest()[:16]


def _pii_fingerprints() -> dict[str, Any]:
    versions = {}
    for part in settings.PII_KEYS.split(","):
        if part.strip():
            number, key = part.strip().split(":", 1)
            versions[number] = _fingerprint(base64.b64decode(key))
    return {"pii_keys": versions,
            "pii_index_key": _fingerprint(base64.b64decode(settings.PII_INDEX_KEY))}


def _tangguh_version() -> str:
    try:
        return version("tangguh")
    except PackageNotFoundError:
        return "unknown"


def _facts(query: Callable[[str], list[Any]]) -> dict[str, Any]:
    """Migration state and counts, read through `query` inside the snapshot being backed up."""
    applied = sorted(f"{app}.{name}" for app, name in
                     query("SELECT app, name FROM django_migrations"))
    counts = {label: int(query(f"SELECT COUNT(*) FROM {model._meta.db_table}")[0][0])  # noqa: S608
              for label, model in COUNTED.items()}
    return {"migrations": applied, "counts": counts}


def _manifest(vendor: str, server: str, facts: dict[str, Any]) -> dict[str, Any]:
    return {
        "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "database": {"vendor": vendor, "version": server},
        "payload": "pg_dump custom format" if vendor == "postgresql" else "sqlite3 database",
        "tangguh": _tangguh_version(),
        **facts,
        **_pii_fingerprints(),
    }


class Progress:
    """One line at most every second: readable in a terminal, a journal and a CI log alike."""

    def __init__(self, log: Log, label: str, total: int | None = None) -> None:
        self.log, self.label, self.total = log, label, total
        self.done = 0
        self._started = self._last = time.monotonic()

    def __call__(self, n: int) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= 1.0:
            self._last = now
            self.log(self._line())

    def _line(self) -> str:
        line = f"  {self.label}: {self.done / 1e6:,.1f} MB"
        if self.total:
            line += f" of {self.total / 1e6:,.1f} MB ({100 * self.done / self.total:.0f} %)"
        return line

    def finish(self) -> None:
        self.log(self._line() + f" in {time.monotonic() - self._started:.1f} s")


def default_path(vendor: str) -> Path:
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    return Path(settings.BACKUP_DIR) / f"tangguh-{vendor}-{stamp}{SUFFIX}"


@contextmanager
def _private_temp(directory: Path, suffix: str) -> Iterator[Path]:
    """A 0600 file for plaintext in transit (a dump, a snapshot), removed afterwards."""
    directory.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=".tangguh-", suffix=suffix, dir=directory)
    os.close(fd)
    path = Path(name)
    try:
        yield path
    finally:
        for leftover in (path, Path(f"{path}-journal"), Path(f"{path}-wal"),
                         Path(f"{path}-shm")):
            leftover.unlink(missing_ok=True)


# --- backup ---------------------------------------------------------------------------------


def backup_create(*, path: Path | None = None, log: Log = lambda line: None) -> BackupResult:
    """Write an encrypted backup of the office database to `path` (a new file)."""
    keys = backup_keys()
    vendor = connections[ALIAS].vendor
    if vendor not in {"postgresql", "sqlite"}:
        raise BackupFailed(f"backups support PostgreSQL and SQLite, not {vendor}")
    path = path or default_path(vendor)
    if path.exists():
        raise BackupFailed(f"{path} exists: a backup never overwrites a file")
    path.parent.mkdir(parents=True, exist_ok=True)
    # Written next to its final name, renamed only when complete: a backup cut short by a
    # crash or a full disk never looks like a backup.
    partial = path.with_name(path.name + ".partial")
    try:
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            if vendor == "postgresql":
                manifest, digest, size = _backup_postgres(out, keys, log)
            else:
                manifest, digest, size = _backup_sqlite(out, keys, path.parent, log)
            out.flush()
            os.fsync(out.fileno())
        partial.replace(path)
    except (postgres.PostgresFailed, sqlite.SqliteFailed, OSError) as exc:
        raise BackupFailed(str(exc)) from exc
    finally:
        partial.unlink(missing_ok=True)
    counts = manifest["counts"]
    log(f"backup written: {path} ({size / 1e6:,.1f} MB; {counts['applications']} applications, "
        f"{counts['dossier_files']} dossier files; payload SHA-256 {digest})")
    return BackupResult(path=path, size=size, sha256=digest, manifest=manifest)


def _backup_postgres(out: Any, keys: BackupKeys, log: Log) -> tuple[dict[str, Any], str, int]:
    _, server = postgres.server_version(ALIAS)
    name = connections[ALIAS].settings_dict["NAME"]
    with postgres.exported_snapshot(ALIAS) as (snapshot, query):
        manifest = _manifest("postgresql", server, _facts(query))
        log(f"backing up PostgreSQL {server} database {name} (pg_dump, snapshot {snapshot})")
        writer = ArchiveWriter(out, keys=keys, manifest=manifest)
        progress = Progress(log, "dumped")

        def sink(chunk: bytes) -> None:
            writer.write(chunk)
            progress(len(chunk))

        postgres.dump(snapshot=snapshot, sink=sink, alias=ALIAS)
    digest = writer.close()
    progress.finish()
    return manifest, digest, writer.written


def _backup_sqlite(out: Any, keys: BackupKeys, workdir: Path,
                   log: Log) -> tuple[dict[str, Any], str, int]:
    database = Path(connections[ALIAS].settings_dict["NAME"])
    log(f"backing up SQLite database {database} (online backup API)")
    with _private_temp(workdir, ".sqlite3") as copy:
        sqlite.snapshot(database=database, into=copy)
        manifest = _manifest("sqlite", _sqlite_version(), _facts(sqlite.query(copy)))
        writer = ArchiveWriter(out, keys=keys, manifest=manifest)
        progress = Progress(log, "sealed", copy.stat().st_size)
        with copy.open("rb") as source:
            while chunk := source.read(postgres.READ_BYTES):
                writer.write(chunk)
                progress(len(chunk))
    digest = writer.close()
    progress.finish()
    return manifest, digest, writer.written


def _sqlite_version() -> str:
    import sqlite3

    return sqlite3.sqlite_version


# --- restore --------------------------------------------------------------------------------


def database_holds_data() -> str | None:
    """What the office database holds that a restore would destroy, or None when empty (no
    tables, or a freshly migrated database with only its seed rows)."""
    tables = set(connections[ALIAS].introspection.table_names())
    held = [f"{model.objects.count()} {label.replace('_', ' ')}"
            for label, model in COUNTED.items()
            if model._meta.db_table in tables and model.objects.exists()]
    return ", ".join(held) or None


def _code_migrations() -> set[str]:
    loader = MigrationLoader(None, ignore_no_migrations=True)
    return {f"{app}.{name}" for app, name in loader.disk_migrations}


def _check_compatible(manifest: dict[str, Any], *, ignore_key_mismatch: bool) -> None:
    vendor = connections[ALIAS].vendor
    source = manifest.get("database", {}).get("vendor")
    if source != vendor:
        raise BackupFailed(f"this is a backup of a {source} database; the office now runs on "
                           f"{vendor}: restore it on {source}")
    unknown = sorted(set(manifest.get("migrations", [])) - _code_migrations())
    if unknown:
        raise BackupFailed("this backup was made by a newer version of Tangguh (migrations "
                           f"unknown here: {', '.join(unknown[:5])}): restore it with that version")
    if ignore_key_mismatch:
        return
    ours = _pii_fingerprints()
    theirs_keys = manifest.get("pii_keys", {})
    missing = [v for v, fp in theirs_keys.items() if ours["pii_keys"].get(v) != fp]
    if missing or manifest.get("pii_index_key") != ours["pii_index_key"]:
        what = (f"personal-data key version(s) {', '.join(missing)} (PII_KEYS)" if missing
                else "the NIK index key (PII_INDEX_KEY)")
        raise BackupFailed(
            f"this server lacks {what} the backed-up office used, so restored personal data "
            "and files could not be read: set the same PII_KEYS and PII_INDEX_KEY as that "
            "office (or pass --ignore-key-mismatch if you know better)")


def _describe(manifest: dict[str, Any]) -> str:
    counts = manifest.get("counts", {})
    database = manifest.get("database", {})
    return (f"backup of {manifest.get('created_at', '?')}: {database.get('vendor', '?')} "
            f"{database.get('version', '')}, {counts.get('applications', '?')} applications, "
            f"{counts.get('dossier_files', '?')} dossier files, "
            f"{len(manifest.get('migrations', []))} migrations applied")


def backup_restore(*, path: Path, force: bool = False, check_only: bool = False,
                   ignore_key_mismatch: bool = False, tmp_dir: Path | None = None,
                   log: Log = lambda line: None) -> dict[str, Any]:
    """Verify the backup at `path` completely, then replace the office database with it.
    `check_only`: verify and report, change nothing. Returns the manifest."""
    keys = backup_keys()
    try:
        source = path.open("rb")
    except OSError as exc:
        raise BackupFailed(f"cannot read {path}: {exc.strerror}") from exc
    with source:
        try:
            reader = ArchiveReader.open(source)
            log(_describe(reader.manifest))
            reader.unlock(keys)  # a wrong key is said at once, not after reading gigabytes
        except BackupRefused as exc:
            raise BackupFailed(f"refused: {exc}") from exc
        manifest = reader.manifest
        if not check_only:
            _check_compatible(manifest, ignore_key_mismatch=ignore_key_mismatch)
            held = database_holds_data()
            if held and not force:
                raise BackupFailed(f"the office database is not empty ({held}): restoring "
                                   "replaces all of it; pass --force to do that")
        workdir = tmp_dir or Path(tempfile.gettempdir())
        with _private_temp(workdir, ".restore") as plain:
            _decrypt(reader, keys, plain, path.stat().st_size, log)
            if check_only:
                log("backup verified: key, integrity and SHA-256 match; nothing was changed")
                return manifest
            _load(manifest, plain, log)
    _report_restored(manifest, log)
    return manifest


def _decrypt(reader: ArchiveReader, keys: BackupKeys, plain: Path, total: int,
             log: Log) -> None:
    progress = Progress(log, "verified", total)
    try:
        with plain.open("wb") as out:
            before = 0  # the header counts too, so the last line says 100 %
            for segment in reader.payload(keys):
                out.write(segment)
                now = reader.source.tell()
                progress(now - before)
                before = now
    except BackupRefused as exc:
        raise BackupFailed(f"refused: {exc}; nothing was changed") from exc
    progress.finish()


def _load(manifest: dict[str, Any], plain: Path, log: Log) -> None:
    connection = connections[ALIAS]
    try:
        if connection.vendor == "postgresql":
            log(f"restoring into PostgreSQL database {connection.settings_dict['NAME']} "
                "(one transaction)")
            progress = Progress(log, "loaded (SQL)")
            postgres.load(dump_path=plain, progress=progress, alias=ALIAS)
            progress.finish()
        else:
            database = Path(connection.settings_dict["NAME"])
            sqlite.check(plain)
            log(f"restoring into SQLite database {database} (one transaction)")
            connection.close()
            sqlite.load(database=database, snapshot_path=plain)
    except (postgres.PostgresFailed, sqlite.SqliteFailed) as exc:
        raise BackupFailed(str(exc)) from exc
    finally:
        connection.close()  # whatever it cached describes the database before the restore


def _report_restored(manifest: dict[str, Any], log: Log) -> None:
    expected = manifest.get("counts", {})
    tables = set(connections[ALIAS].introspection.table_names())
    # Raw COUNT(*): the restored schema may predate columns the models have now.
    with connections[ALIAS].cursor() as cursor:
        found = {}
        for label, model in COUNTED.items():
            if model._meta.db_table in tables:
                cursor.execute(f"SELECT COUNT(*) FROM {model._meta.db_table}")  # noqa: S608
                found[label] = int(cursor.fetchone()[0])
    wrong = {k: (v, found[k]) for k, v in expected.items() if k in found and found[k] != v}
    if wrong:
        raise BackupFailed(f"restored database does not match the manifest: {wrong}")
    log("restored: " + ", ".join(f"{n} {label.replace('_', ' ')}" for label, n in found.items()))
    pending = sorted(_code_migrations() - set(manifest.get("migrations", [])))
    if pending:
        log(f"the backup predates {len(pending)} migration(s) of this version: run "
            "`manage.py migrate` before starting the office")
    log("start the web app, workers and beat again: the queue resumes where the backup left "
        "it (central dedupes on each job's key, so nothing delivered since prints twice)")
