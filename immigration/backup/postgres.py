"""PostgreSQL: out through pg_dump (custom format), back in through pg_restore and psql.

pg_dump reads inside one REPEATABLE READ snapshot, so the dump is consistent while the office
keeps taking applications; we export that snapshot from our own transaction first, so the
manifest's counts are of exactly the rows the dump holds.

Restoring replaces the whole database in one transaction: psql runs "drop every table in the
schema" followed by the SQL pg_restore makes from the dump, all under --single-transaction with
ON_ERROR_STOP, so a failed restore leaves the database as it was.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from glob import glob
from pathlib import Path
from typing import IO, Any

from django.conf import settings
from django.db import connections

READ_BYTES = 1024 * 1024

# Every table, view and sequence of the current schema, so objects that a newer migration made
# and the backup lacks do not survive the restore. Other sessions (web, workers) should be
# stopped; if one still holds a lock, fail clearly after 30 s rather than hang.
DROP_EVERYTHING = """
SET lock_timeout = '30s';
DO $$
DECLARE r record;
BEGIN
  FOR r IN SELECT c.relname, c.relkind FROM pg_class c
           JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind IN ('r', 'p', 'v', 'm', 'f')
  LOOP
    EXECUTE format('DROP %s IF EXISTS %I CASCADE',
                   CASE r.relkind WHEN 'v' THEN 'VIEW' WHEN 'm' THEN 'MATERIALIZED VIEW'
                                  WHEN 'f' THEN 'FOREIGN TABLE' ELSE 'TABLE' END,
                   r.relname);
  END LOOP;
  -- Identity sequences went with their tables; what is left stands alone.
  FOR r IN SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
           WHERE n.nspname = current_schema() AND c.relkind = 'S'
  LOOP
    EXECUTE format('DROP SEQUENCE IF EXISTS %I CASCADE', r.relname);
  END LOOP;
END $$;
"""


class PostgresFailed(Exception):
    pass


def _major(binary: Path) -> int | None:
    try:
        out = subprocess.run([str(binary), "--version"], capture_output=True, text=True,  # noqa: S603
                             timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\)\s+(\d+)", out)
    return int(found.group(1)) if found else None


def _candidate_dirs() -> list[Path]:
    configured = getattr(settings, "BACKUP_PG_BINDIR", "")
    if configured:
        return [Path(configured)]
    # The same places scripts/lib.sh looks for the test cluster's server binaries.
    dirs = [Path(d) for d in glob("/usr/lib/postgresql/*/bin")]
    dirs += [Path(d) for d in glob("/usr/pgsql-*/bin")] + [Path("/usr/local/pgsql/bin")]
    for name in ("pg_dump", "pg_restore", "psql"):
        found = shutil.which(name)
        if found:
            dirs.append(Path(found).parent)
    return dirs


def client_binary(name: str, server_major: int) -> Path:
    """`name` of the server's major version, else the oldest newer one (pg_dump must not be
    older than the server; an older psql reading a newer pg_restore's SQL may meet settings it
    does not know)."""
    found: list[tuple[int, Path]] = []
    for directory in _candidate_dirs():
        binary = directory / name
        if binary.is_file() and os.access(binary, os.X_OK):
            major = _major(binary)
            if major is not None and major >= server_major:
                found.append((major, binary))
    if not found:
        raise PostgresFailed(
            f"no {name} of PostgreSQL {server_major} or newer found (looked in "
            f"{', '.join(map(str, _candidate_dirs())) or 'nowhere'}): install "
            f"postgresql-client-{server_major}, or set BACKUP_PG_BINDIR to its bin directory")
    return min(found)[1]


_LIBPQ_OPTIONS = {"sslmode": "PGSSLMODE", "sslrootcert": "PGSSLROOTCERT",
                  "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY", "options": "PGOPTIONS",
                  "connect_timeout": "PGCONNECT_TIMEOUT"}


def client_env(alias: str = "default") -> dict[str, str]:
    """libpq's environment for the Django database: the password never goes on a command line
    (where `ps` would show it)."""
    params: dict[str, Any] = connections[alias].settings_dict
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    for key, var in (("HOST", "PGHOST"), ("PORT", "PGPORT"), ("USER", "PGUSER"),
                     ("PASSWORD", "PGPASSWORD"), ("NAME", "PGDATABASE")):
        if params.get(key):
            env[var] = str(params[key])
    for option, var in _LIBPQ_OPTIONS.items():
        if params.get("OPTIONS", {}).get(option) is not None:
            env[var] = str(params["OPTIONS"][option])
    env["PGAPPNAME"] = "tangguh-backup"
    return env


def server_version(alias: str = "default") -> tuple[int, str]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT current_setting('server_version_num')::int, "
                       "current_setting('server_version')")
        number, text = cursor.fetchone()
    return int(number) // 10000, str(text).split()[0]


@contextmanager
def exported_snapshot(alias: str = "default") -> Iterator[tuple[str, Callable[[str], list[Any]]]]:
    """A read-only REPEATABLE READ transaction on a connection of its own, kept open while the
    caller runs; yields its exported snapshot id and a query function inside it."""
    connection = connections.create_connection(alias)
    try:
        connection.set_autocommit(False)
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            cursor.execute("SELECT pg_export_snapshot()")
            snapshot = str(cursor.fetchone()[0])

            def query(sql: str) -> list[Any]:
                cursor.execute(sql)
                return list(cursor.fetchall())

            yield snapshot, query
        connection.rollback()
    finally:
        connection.close()


def dump(*, snapshot: str, sink: Callable[[bytes], None], alias: str = "default") -> None:
    """pg_dump in the custom format (compressed, restorable table by table) into `sink`."""
    major, _ = server_version(alias)
    command = [str(client_binary("pg_dump", major)), "--format=custom", "--no-password",
               f"--snapshot={snapshot}"]
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=errors,  # noqa: S603
                                   env=client_env(alias))
        assert process.stdout is not None
        try:
            while chunk := process.stdout.read(READ_BYTES):
                sink(chunk)
        finally:
            process.stdout.close()
            code = process.wait()
        if code != 0:
            raise PostgresFailed(f"pg_dump failed ({code}): {_tail(errors)}")


def load(*, dump_path: Path, progress: Callable[[int], None], alias: str = "default") -> None:
    """Replace the database's schema and rows by the dump's, in one transaction."""
    major, _ = server_version(alias)
    connections[alias].close()  # our own idle session must not hold anything during the drop
    env = client_env(alias)
    psql_command = [str(client_binary("psql", major)), "--no-psqlrc", "--quiet",
                    "--no-password", "--single-transaction", "-v", "ON_ERROR_STOP=1",
                    "--file=-"]
    restore_command = [str(client_binary("pg_restore", major)), "--no-owner",
                       "--no-privileges", "--file=-", str(dump_path)]
    with tempfile.TemporaryFile() as psql_errors, tempfile.TemporaryFile() as restore_errors:
        psql = subprocess.Popen(psql_command, stdin=subprocess.PIPE,  # noqa: S603
                                stdout=subprocess.DEVNULL, stderr=psql_errors, env=env)
        restore = subprocess.Popen(restore_command, stdout=subprocess.PIPE,  # noqa: S603
                                   stderr=restore_errors, env=env)
        assert psql.stdin is not None and restore.stdout is not None
        try:
            _pipe([DROP_EVERYTHING.encode()], restore.stdout, psql.stdin, progress)
        finally:
            restore.stdout.close()
            restore_code = restore.wait()
            _close_quietly(psql.stdin)
            psql_code = psql.wait()
        # psql first: when it stops on an error, pg_restore fails too (on the closed pipe).
        if psql_code != 0:
            raise PostgresFailed(f"loading the dump failed ({psql_code}), nothing was changed: "
                                 f"{_tail(psql_errors)}")
        if restore_code != 0:
            raise PostgresFailed(f"pg_restore failed ({restore_code}), nothing was changed: "
                                 f"{_tail(restore_errors)}")


def _pipe(first: Sequence[bytes], source: IO[bytes], sink: IO[bytes],
          progress: Callable[[int], None]) -> None:
    try:
        for data in first:
            sink.write(data)
        while chunk := source.read(READ_BYTES):
            sink.write(chunk)
            progress(len(chunk))
    except BrokenPipeError:
        pass  # psql stopped on an error: its exit code and message say which


def _close_quietly(stream: IO[bytes]) -> None:
    try:
        stream.close()
    except BrokenPipeError:
        pass


def _tail(errors: IO[bytes], limit: int = 2000) -> str:
    errors.seek(0)
    text = errors.read().decode(errors="replace").strip()
    return text[-limit:] or "no message"
