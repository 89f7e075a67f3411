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

import hashlib
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
    " created_us INTEGER NOT NULL, stepped_at REAL NOT NULL, blobs TEXT NOT NULL DEFAULT '[]'"
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
CREATE TABLE IF NOT EXISTS blobs (
    sha256 TEXT PRIMARY KEY,
    length INTEGER NOT NULL,
    received INTEGER NOT NULL DEFAULT 0,
    complete INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS blob_chunks (
    sha256 TEXT NOT NULL,
    offset INTEGER NOT NULL,
    data BLOB NOT NULL,
    PRIMARY KEY (sha256, offset)
);
CREATE TABLE IF NOT EXISTS blobs_snapshot (sha256 TEXT PRIMARY KEY);
-- Like print_ledger, survives restore: what crossed the wire stays counted.
CREATE TABLE IF NOT EXISTS blob_ledger (
    sha256 TEXT PRIMARY KEY,
    completions INTEGER NOT NULL DEFAULT 0,
    losses INTEGER NOT NULL DEFAULT 0,
    bytes_received INTEGER NOT NULL DEFAULT 0,
    bytes_discarded INTEGER NOT NULL DEFAULT 0
);
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
class BlobPatch:
    """The outcome of one PATCH: HTTP status, central's offset afterwards, error code."""

    status: int
    offset: int
    error: str | None = None
    detail: str = ""


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
        for table in ("jobs", "jobs_snapshot"):
            # Databases made before blobs existed gain the column (restarts keep the file).
            columns = {r[1] for r in self._db.execute(f"PRAGMA table_info({table})")}
            if "blobs" not in columns:
                self._db.execute(
                    f"ALTER TABLE {table} ADD COLUMN blobs TEXT NOT NULL DEFAULT '[]'"
                )

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

    def accept(
        self, job: dict[str, Any], body_hash: str, *, now: float, blobs: list[str] | None = None
    ) -> Intake:
        """Store a validated job unless its key is known; the idempotency decision.

        `blobs` are the hashes central must fully hold before it takes the job (photo,
        signature): a known key is answered first, so a replay never depends on them.
        """
        key = job["key"]
        blobs = blobs or []
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
            missing = [sha for sha in blobs if not self._holds(db, sha)]
            if missing:
                return Intake(
                    409,
                    {
                        "error": "missing_blobs",
                        "detail": "central does not hold these blobs yet",
                        "missing": missing,
                    },
                )
            job_id = f"cp_{uuid.uuid4().hex}"
            db.execute(
                "INSERT INTO jobs (key, job_id, body_hash, office, reference, callback_url,"
                " status, created_us, stepped_at, blobs)"
                " VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?)",
                (
                    key,
                    job_id,
                    body_hash,
                    job["office"],
                    job["reference"],
                    job["callback_url"],
                    int(now * 1_000_000),
                    now,
                    json.dumps(blobs),
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
        job["blobs"] = json.loads(row["blobs"] or "[]")
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
            jobs = [self._public(r) for r in rows]
            for job in jobs:
                # What reconciliation needs after a restore that lost blobs: which of the
                # job's blobs central no longer fully holds.
                job["missing_blobs"] = [s for s in job["blobs"] if not self._holds(self._db, s)]
        return jobs, (rows[-1]["seq"] if more else None)

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
            db.execute("DELETE FROM blobs_snapshot")
            db.execute("INSERT INTO blobs_snapshot SELECT sha256 FROM blobs WHERE complete = 1")
            return int(db.execute("SELECT COUNT(*) FROM jobs_snapshot").fetchone()[0])

    def restore(self, *, all_blobs: bool = False) -> int:
        """Go back to the restore point (nothing, if none was marked); returns jobs lost.

        `all_blobs`: the blob store had no backup at all (most of PDNS 2 had none), so every
        blob is lost, also those of jobs the restore kept.

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
            # Blobs complete at the restore point come back; everything else (later or
            # partial blobs) is gone, and each complete one lost is counted in the ledger.
            lost = (
                "SELECT sha256 FROM blobs"
                " WHERE sha256 NOT IN (SELECT sha256 FROM blobs_snapshot)"
            )
            if all_blobs:
                lost = "SELECT sha256 FROM blobs WHERE 1"
            db.execute(
                f"UPDATE blob_ledger SET losses = losses + 1 WHERE sha256 IN ({lost}"  # noqa: S608
                " AND complete = 1)"
            )
            db.execute(f"DELETE FROM blob_chunks WHERE sha256 IN ({lost})")  # noqa: S608
            db.execute(f"DELETE FROM blobs WHERE sha256 IN ({lost})")  # noqa: S608
            return max(0, before - after)

    def reset(self) -> None:
        with self._tx() as db:
            for table in (
                "jobs",
                "jobs_snapshot",
                "print_ledger",
                "callbacks",
                "blobs",
                "blob_chunks",
                "blobs_snapshot",
                "blob_ledger",
            ):
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
            blobs = self._db.execute(
                "SELECT COUNT(*), COALESCE(SUM(complete), 0), COALESCE(SUM(received), 0)"
                " FROM blobs"
            ).fetchone()
            sent = self._db.execute(
                "SELECT COALESCE(SUM(bytes_received), 0), COALESCE(SUM(bytes_discarded), 0),"
                " COALESCE(SUM(completions), 0) FROM blob_ledger"
            ).fetchone()
        counts = {r["key"]: int(r["count"]) for r in ledger}
        return {
            "jobs": jobs,
            "blobs": {
                "held": int(blobs[0]),
                "complete": int(blobs[1]),
                "bytes_held": int(blobs[2]),
                "bytes_received": int(sent[0]),
                "bytes_discarded": int(sent[1]),
                "completions": int(sent[2]),
            },
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

    # -- blobs --------------------------------------------------------------------------

    @staticmethod
    def _holds(db: sqlite3.Connection, sha256: str) -> bool:
        row = db.execute("SELECT complete FROM blobs WHERE sha256 = ?", (sha256,)).fetchone()
        return row is not None and bool(row["complete"])

    def blob_state(self, sha256: str) -> tuple[int, int] | None:
        """(bytes held, declared length) of a blob, or None if central holds nothing."""
        with self._lock:
            row = self._db.execute(
                "SELECT received, length FROM blobs WHERE sha256 = ?", (sha256,)
            ).fetchone()
        return None if row is None else (int(row["received"]), int(row["length"]))

    def patch_blob(self, sha256: str, *, offset: int, length: int, data: bytes) -> BlobPatch:
        """Append one chunk at `offset`; on the last byte check the SHA-256 of the whole blob.

        Every byte that arrived is counted in the ledger, and the ones central did not keep
        (wrong offset, already complete, failed checksum) as discarded: that is how a drill
        proves a link cut costs at most the chunk in flight.
        """
        size = len(data)
        with self._tx() as db:
            db.execute(
                "INSERT INTO blob_ledger (sha256, bytes_received) VALUES (?, ?)"
                " ON CONFLICT (sha256) DO UPDATE SET bytes_received = bytes_received + ?",
                (sha256, size, size),
            )
            row = db.execute(
                "SELECT received, length, complete FROM blobs WHERE sha256 = ?", (sha256,)
            ).fetchone()
            held = 0 if row is None else int(row["received"])
            refusal: BlobPatch | None = None
            if row is not None and int(row["length"]) != length:
                refusal = BlobPatch(400, held, "length_mismatch", "Upload-Length differs")
            elif row is not None and row["complete"]:
                refusal = BlobPatch(204, held)  # idempotent: central already has it all
            elif offset != held:
                refusal = BlobPatch(409, held, "offset_mismatch", "ask HEAD for the offset")
            elif offset + size > length:
                refusal = BlobPatch(400, held, "too_long", "chunk runs past Upload-Length")
            if refusal is not None:
                self._discarded(db, sha256, size)
                return refusal
            if row is None:
                db.execute("INSERT INTO blobs (sha256, length) VALUES (?, ?)", (sha256, length))
            db.execute(
                "INSERT INTO blob_chunks (sha256, offset, data) VALUES (?, ?, ?)",
                (sha256, offset, data),
            )
            held = offset + size
            db.execute("UPDATE blobs SET received = ? WHERE sha256 = ?", (held, sha256))
            if held < length:
                return BlobPatch(204, held)
            if self._digest(db, sha256) != sha256:
                db.execute("DELETE FROM blob_chunks WHERE sha256 = ?", (sha256,))
                db.execute("DELETE FROM blobs WHERE sha256 = ?", (sha256,))
                self._discarded(db, sha256, length)
                return BlobPatch(460, 0, "checksum_mismatch", "SHA-256 differs; blob discarded")
            db.execute("UPDATE blobs SET complete = 1 WHERE sha256 = ?", (sha256,))
            db.execute(
                "UPDATE blob_ledger SET completions = completions + 1 WHERE sha256 = ?",
                (sha256,),
            )
            return BlobPatch(204, held)

    @staticmethod
    def _discarded(db: sqlite3.Connection, sha256: str, size: int) -> None:
        db.execute(
            "UPDATE blob_ledger SET bytes_discarded = bytes_discarded + ? WHERE sha256 = ?",
            (size, sha256),
        )

    @staticmethod
    def _digest(db: sqlite3.Connection, sha256: str) -> str:
        digest = hashlib.sha256()
        # Chunk by chunk from the cursor: a large blob is never in memory at once.
        for (data,) in db.execute(
            "SELECT data FROM blob_chunks WHERE sha256 = ? ORDER BY offset", (sha256,)
        ):
            digest.update(data)
        return digest.hexdigest()

    def blob_chunks(self, sha256: str) -> Iterator[bytes]:
        """The bytes central holds for a blob, chunk by chunk (tests compare them)."""
        offset = -1
        while True:
            with self._lock:
                row = self._db.execute(
                    "SELECT offset, data FROM blob_chunks WHERE sha256 = ? AND offset > ?"
                    " ORDER BY offset LIMIT 1",
                    (sha256, offset),
                ).fetchone()
            if row is None:
                return
            offset = int(row["offset"])
            yield bytes(row["data"])

    def blob_ledger(self) -> dict[str, dict[str, int]]:
        """Per blob: what central holds now and everything that ever crossed the wire."""
        with self._lock:
            rows = self._db.execute(
                "SELECT l.sha256, l.completions, l.losses, l.bytes_received, l.bytes_discarded,"
                " COALESCE(b.received, 0) AS held, b.length, COALESCE(b.complete, 0) AS complete"
                " FROM blob_ledger l LEFT JOIN blobs b ON b.sha256 = l.sha256"
            ).fetchall()
        return {
            r["sha256"]: {
                "held": int(r["held"]),
                "length": -1 if r["length"] is None else int(r["length"]),
                "complete": int(r["complete"]),
                "completions": int(r["completions"]),
                "losses": int(r["losses"]),
                "bytes_received": int(r["bytes_received"]),
                "bytes_discarded": int(r["bytes_discarded"]),
            }
            for r in rows
        }
