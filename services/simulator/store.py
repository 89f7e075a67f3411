"""Central's durable state: jobs, the print ledger, pending callbacks, the restore point.

SQLite in WAL mode: every accepted job is committed before central answers, so a
SIGKILLed simulator restarts with exactly the jobs it acknowledged (what makes the
"lost 0 / duplicated 0" drills meaningful), and WAL lets someone inspect the file with
the sqlite3 shell while the simulator keeps taking jobs. `synchronous=NORMAL` is durable
against process crashes, which is what the drills inflict; only a power cut could lose
the last commits, and nobody drills that on a laptop.

Only a hash of each job body is kept: the simulator never needs applicant data back, so
its database file holds no personal data.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

NEXT_STATUS = {"queued": "printing", "printing": "printed", "printed": "dispatched"}
REJECT_REASON = "data mismatch at central"

_JOB_COLUMNS = (
    "seq INTEGER PRIMARY KEY AUTOINCREMENT, key TEXT NOT NULL UNIQUE, job_id TEXT NOT NULL,"
    " body_hash TEXT NOT NULL, office TEXT NOT NULL, reference TEXT NOT NULL,"
    " callback_url TEXT NOT NULL, status TEXT NOT NULL, reason TEXT,"
    " created_us INTEGER NOT NULL, stepped_at REAL NOT NULL"
)
SCHEMA = f"""
CREATE TABLE IF NOT EXISTS jobs ({_JOB_COLUMNS});
CREATE INDEX IF NOT EXISTS jobs_office ON jobs (office, seq);
CREATE TABLE IF NOT EXISTS jobs_snapshot ({_JOB_COLUMNS});
CREATE TABLE IF NOT EXISTS print_ledger (key TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE IF NOT EXISTS callbacks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    event_id TEXT NOT NULL UNIQUE,
    key TEXT NOT NULL,
    url TEXT NOT NULL,
    payload TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending',
    attempts INTEGER NOT NULL DEFAULT 0,
    -- NULL while an earlier event of the same job is still pending (see advance()).
    next_attempt_at REAL
);
CREATE INDEX IF NOT EXISTS callbacks_by_job ON callbacks (key, state, id);
CREATE INDEX IF NOT EXISTS callbacks_due ON callbacks (state, next_attempt_at);
CREATE INDEX IF NOT EXISTS jobs_unfinished ON jobs (stepped_at)
    WHERE status IN ('queued', 'printing', 'printed');
"""


EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, tz=UTC).isoformat(timespec="microseconds")


def iso_us(us: int) -> str:
    return (EPOCH + timedelta(microseconds=us)).isoformat(timespec="microseconds")


def to_us(when: datetime) -> int:
    # Creation times are whole microseconds so that a `since` copied from a job's
    # `created_at` selects that job again exactly; floats would round either way.
    return (when - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Intake:
    status_code: int
    body: dict[str, Any]

    @property
    def created(self) -> bool:
        return self.status_code == 201


@dataclass(frozen=True)
class Callback:
    id: int
    event_id: str
    key: str
    url: str
    payload: str
    attempts: int


class Store:
    """All access goes through one connection behind one lock.

    Intake, stepping and callback bookkeeping are each a few row writes; serialising them
    in-process is simpler than juggling SQLITE_BUSY between threads and is still far
    faster than the office can send (callbacks are sent outside the lock).
    """

    def __init__(self, path: str | Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.row_factory = sqlite3.Row
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def _tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    # -- intake -------------------------------------------------------------------------

    def accept(self, job: dict[str, Any], body_hash: str, *, now: float) -> Intake:
        """Store a validated job unless its key is known; the idempotency decision."""
        key = job["key"]
        with self._tx() as db:
            row = db.execute("SELECT job_id, body_hash FROM jobs WHERE key = ?", (key,)).fetchone()
            if row is not None:
                if row["body_hash"] != body_hash:
                    return Intake(
                        422,
                        {"error": "key_reused", "detail": "key was used with a different body"},
                    )
                # The replay answers with the original body, not the job's current status:
                # a client retrying after a lost response must see what it would have seen.
                return Intake(200, {"job_id": row["job_id"], "status": "accepted"})
            job_id = f"cp_{uuid.uuid4().hex}"
            db.execute(
                "INSERT INTO jobs (key, job_id, body_hash, office, reference, callback_url,"
                " status, created_us, stepped_at) VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?)",
                (
                    key,
                    job_id,
                    body_hash,
                    job["office"],
                    job["reference"],
                    job["callback_url"],
                    int(now * 1_000_000),
                    now,
                ),
            )
            db.execute(
                "INSERT INTO print_ledger (key, count) VALUES (?, 1)"
                " ON CONFLICT (key) DO UPDATE SET count = count + 1",
                (key,),
            )
            return Intake(201, {"job_id": job_id, "status": "accepted"})

    # -- reads --------------------------------------------------------------------------

    @staticmethod
    def _public(row: sqlite3.Row) -> dict[str, Any]:
        job = {
            "key": row["key"],
            "job_id": row["job_id"],
            "status": row["status"],
            "office": row["office"],
            "reference": row["reference"],
            "created_at": iso_us(row["created_us"]),
            "updated_at": iso(row["stepped_at"]),
        }
        if row["reason"]:
            job["reason"] = row["reason"]
        return job

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT * FROM jobs WHERE key = ?", (key,)).fetchone()
        return None if row is None else self._public(row)

    def inventory(
        self, *, office: str | None, since: datetime | None, after: int, limit: int
    ) -> tuple[list[dict[str, Any]], int | None]:
        """Jobs in acceptance order after sequence `after`; returns (jobs, next `after`)."""
        sql = "SELECT * FROM jobs WHERE seq > ?"
        args: list[Any] = [after]
        if office:
            sql += " AND office = ?"
            args.append(office)
        if since is not None:
            sql += " AND created_us >= ?"
            args.append(to_us(since))
        sql += " ORDER BY seq LIMIT ?"
        args.append(limit + 1)
        with self._lock:
            rows = self._db.execute(sql, args).fetchall()
        more = len(rows) > limit
        rows = rows[:limit]
        return [self._public(r) for r in rows], (rows[-1]["seq"] if more else None)

    # -- progression --------------------------------------------------------------------

    def advance(
        self, *, now: float, due_before: float | None, reject_references: frozenset[str]
    ) -> int:
        """Move jobs one status step and queue their callbacks, in one transaction.

        `due_before` None moves every unfinished job; otherwise only those whose last
        step was at or before it.
        """
        sql = "SELECT * FROM jobs WHERE status IN ('queued', 'printing', 'printed')"
        args: list[Any] = []
        if due_before is not None:
            sql += " AND stepped_at <= ?"
            args.append(due_before)
        with self._tx() as db:
            rows = db.execute(sql + " ORDER BY seq", args).fetchall()
            for row in rows:
                status, reason = NEXT_STATUS[row["status"]], None
                # Central checks the data before printing, so a mismatch surfaces as the
                # first step, never after "printing" was already announced.
                if row["status"] == "queued" and row["reference"] in reject_references:
                    status, reason = "rejected", REJECT_REASON
                db.execute(
                    "UPDATE jobs SET status = ?, reason = ?, stepped_at = ? WHERE seq = ?",
                    (status, reason, now, row["seq"]),
                )
                event_id = str(uuid.uuid4())
                payload: dict[str, Any] = {
                    "event_id": event_id,
                    "key": row["key"],
                    "job_id": row["job_id"],
                    "status": status,
                    "at": iso(now),
                }
                if reason:
                    payload["reason"] = reason
                # Events of one job go out strictly in order: an event queued behind a
                # pending one stays parked (NULL) until callback_done() releases it.
                # That keeps the dispatcher's "what is due" query an index range scan,
                # however many events wait behind an unreachable office.
                earlier = db.execute(
                    "SELECT 1 FROM callbacks WHERE key = ? AND state = 'pending' LIMIT 1",
                    (row["key"],),
                ).fetchone()
                db.execute(
                    "INSERT INTO callbacks (event_id, key, url, payload, next_attempt_at)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (
                        event_id,
                        row["key"],
                        row["callback_url"],
                        json.dumps(payload, separators=(",", ":")),
                        None if earlier else now,
                    ),
                )
            return len(rows)

    # -- callbacks ----------------------------------------------------------------------

    def due_callbacks(self, *, now: float, busy_keys: set[str], limit: int) -> list[Callback]:
        """Callbacks due for a (re)try: at most one per job, the oldest pending one."""
        with self._lock:
            rows = self._db.execute(
                "SELECT * FROM callbacks WHERE state = 'pending' AND next_attempt_at <= ?"
                " ORDER BY next_attempt_at, id LIMIT ?",
                (now, limit + len(busy_keys)),
            ).fetchall()
        out = [
            Callback(r["id"], r["event_id"], r["key"], r["url"], r["payload"], r["attempts"])
            for r in rows
            if r["key"] not in busy_keys
        ]
        return out[:limit]

    def callback_done(
        self, callback: Callback, *, state: str, now: float, next_attempt_at: float = 0
    ) -> None:
        """Record one delivery attempt; a finished callback releases the job's next event."""
        with self._tx() as db:
            if state == "pending":
                db.execute(
                    "UPDATE callbacks SET attempts = attempts + 1, next_attempt_at = ?"
                    " WHERE id = ?",
                    (next_attempt_at, callback.id),
                )
                return
            db.execute(
                "UPDATE callbacks SET state = ?, attempts = attempts + 1 WHERE id = ?",
                (state, callback.id),
            )
            db.execute(
                "UPDATE callbacks SET next_attempt_at = ? WHERE id = ("
                " SELECT MIN(id) FROM callbacks WHERE key = ? AND state = 'pending')",
                (now, callback.key),
            )

    # -- control ------------------------------------------------------------------------

    def mark_restore_point(self) -> int:
        with self._tx() as db:
            db.execute("DELETE FROM jobs_snapshot")
            db.execute("INSERT INTO jobs_snapshot SELECT * FROM jobs")
            return int(db.execute("SELECT COUNT(*) FROM jobs_snapshot").fetchone()[0])

    def restore(self) -> int:
        """Go back to the restore point (nothing, if none was marked); returns jobs lost.

        The print ledger survives on purpose: paper already printed stays printed, which
        is what lets a drill see a job printed twice after central forgot it.
        Pending callbacks are dropped: central's outbound queue was lost with its data.
        """
        with self._tx() as db:
            before = int(db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
            db.execute("DELETE FROM jobs")
            db.execute("INSERT INTO jobs SELECT * FROM jobs_snapshot")
            db.execute("DELETE FROM callbacks WHERE state = 'pending'")
            after = int(db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
            return max(0, before - after)

    def reset(self) -> None:
        with self._tx() as db:
            for table in ("jobs", "jobs_snapshot", "print_ledger", "callbacks"):
                db.execute(f"DELETE FROM {table}")  # noqa: S608 - fixed table names

    def stats(self) -> dict[str, Any]:
        with self._lock:
            jobs = int(self._db.execute("SELECT COUNT(*) FROM jobs").fetchone()[0])
            ledger = self._db.execute("SELECT key, count FROM print_ledger").fetchall()
            callbacks = self._db.execute(
                "SELECT state, COUNT(*) FROM callbacks GROUP BY state"
            ).fetchall()
            by_status = self._db.execute(
                "SELECT status, COUNT(*) FROM jobs GROUP BY status"
            ).fetchall()
        counts = {r["key"]: int(r["count"]) for r in ledger}
        return {
            "jobs": jobs,
            "jobs_by_status": {r[0]: int(r[1]) for r in by_status},
            "print_counts": counts,
            "printed_twice": sorted(k for k, n in counts.items() if n > 1),
            "callbacks": {
                "pending": 0,
                "delivered": 0,
                "abandoned": 0,
                **{r[0]: int(r[1]) for r in callbacks},
            },
        }
