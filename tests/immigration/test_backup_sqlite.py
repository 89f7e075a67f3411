"""SQLite's side of backups on plain files: a snapshot of a live WAL database while another
connection holds an open write transaction, and a load that replaces the target whole."""

from __future__ import annotations

import sqlite3
from contextlib import closing

import pytest

from immigration.backup import sqlite


def _db(path, rows):
    with closing(sqlite3.connect(path)) as db:
        db.execute("PRAGMA journal_mode=WAL")
        db.execute("CREATE TABLE t (n INTEGER)")
        db.executemany("INSERT INTO t VALUES (?)", [(n,) for n in rows])
        db.commit()


def _rows(path):
    with closing(sqlite3.connect(path)) as db:
        return [n for (n,) in db.execute("SELECT n FROM t ORDER BY n")]


def test_snapshot_holds_committed_rows_only_and_load_replaces_the_target(tmp_path):
    live, copy, target = tmp_path / "live.db", tmp_path / "copy.db", tmp_path / "target.db"
    _db(live, range(100))
    with closing(sqlite3.connect(live)) as writer:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("INSERT INTO t VALUES (1000)")  # not committed during the snapshot
        sqlite.snapshot(database=live, into=copy)
        writer.commit()
    assert _rows(copy) == list(range(100))
    assert not (tmp_path / "copy.db-wal").exists()

    _db(target, [7, 8, 9])
    sqlite.check(copy)
    sqlite.load(database=target, snapshot_path=copy)
    assert _rows(target) == list(range(100))


def test_a_missing_database_is_not_backed_up_as_an_empty_one(tmp_path):
    with pytest.raises(sqlite.SqliteFailed, match="no database"):
        sqlite.snapshot(database=tmp_path / "gone.db", into=tmp_path / "copy.db")
    assert not (tmp_path / "gone.db").exists()


def test_a_file_that_is_not_sqlite_is_refused_before_loading(tmp_path):
    bogus = tmp_path / "bogus.db"
    bogus.write_bytes(b"PGDMP" + b"\0" * 5000)
    with pytest.raises(sqlite.SqliteFailed):
        sqlite.check(bogus)
