"""SQLite: out and back in through SQLite's online backup API.

Both directions copy the whole database in one step (`pages=-1`): one read transaction on the
source, so the copy is a consistent snapshot even while the office writes (WAL lets writers
carry on meanwhile), and one write transaction on the destination, so nobody ever reads a
half-restored database. Copying in several steps would let a busy office restart the backup
again and again, and let readers see a mix of old and new pages on restore.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path
from typing import Any


class SqliteFailed(Exception):
    pass


def snapshot(*, database: Path, into: Path) -> None:
    """A consistent copy of `database` as one self-contained file (rollback journal, so there
    is no -wal file beside it to forget)."""
    if not database.is_file():  # connecting would create an empty one and back that up
        raise SqliteFailed(f"there is no database at {database}")
    try:
        with closing(sqlite3.connect(database)) as source, \
                closing(sqlite3.connect(into)) as copy:
            source.backup(copy, pages=-1)
            copy.execute("PRAGMA journal_mode=DELETE")
    except sqlite3.Error as exc:
        raise SqliteFailed(f"SQLite backup failed: {exc}") from exc


def query(database: Path) -> Callable[[str], list[Any]]:
    """Read-only queries against a snapshot file (for the manifest)."""

    def run(sql: str) -> list[Any]:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            return list(db.execute(sql).fetchall())

    return run


def check(database: Path) -> None:
    """The decrypted file is a sound SQLite database before it replaces anything."""
    try:
        with closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
            result = db.execute("PRAGMA quick_check").fetchone()
    except sqlite3.Error as exc:
        raise SqliteFailed(f"the backup does not hold a readable SQLite database: {exc}") from exc
    if not result or result[0] != "ok":
        raise SqliteFailed(f"the backup's SQLite database is damaged: {result}")


def load(*, database: Path, snapshot_path: Path, busy_timeout: float = 30.0) -> None:
    """Replace `database`'s content by the snapshot's, atomically (it may not exist yet)."""
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        with closing(sqlite3.connect(f"file:{snapshot_path}?mode=ro", uri=True)) as source, \
                closing(sqlite3.connect(database, timeout=busy_timeout)) as target:
            source.backup(target, pages=-1)
    except sqlite3.Error as exc:
        raise SqliteFailed(f"restoring into {database} failed, nothing was changed: {exc}") \
            from exc
