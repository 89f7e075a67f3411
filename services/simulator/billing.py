"""The billing upstream, simulated next to central printing in the same process.

Mounted under `/billing` (so the office's `BILLING_URL` is `http://host:port/billing`) with its
own fault knobs at `/_control/billing`: billing can be down while printing is up and the
reverse, which is the point of giving payments their own topic and breaker at the office.

Same contract shape as print jobs: `POST /v1/payments` with `Idempotency-Key` equal to the
body's `key` -> 201 `{payment_id}` the first time, 200 with the same body for the same key and
body, 422 for the same key with another body; `GET /v1/payments/{key}` -> the payment or 404;
`GET /v1/health`. Every call is signed (Standard Webhooks) and checked like central's. Payments
are committed to their own SQLite file before the answer, so a dropped response is a real
"recorded but unanswered" case.
"""

from __future__ import annotations

import hashlib
import json
import re
import sqlite3
import threading
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from services.simulator.config import SimulatorConfig, TokenBucket
from services.simulator.desk_faults import serve_with_faults

if TYPE_CHECKING:
    from services.simulator.server import Handler

PREFIX = "/billing"
CONTROL = "/_control/billing"
_PAYMENT_PATH = re.compile(r"\A/billing/v1/payments/(?P<key>[^/]+)\Z")
_REQUIRED = {"key": str, "office": str, "reference": str, "amount": int, "currency": str,
             "method": str, "paid_at": str}

SCHEMA = """
CREATE TABLE IF NOT EXISTS payments (
    key TEXT PRIMARY KEY, payment_id TEXT NOT NULL, body_hash TEXT NOT NULL,
    office TEXT NOT NULL, reference TEXT NOT NULL, amount INTEGER NOT NULL,
    created_at REAL NOT NULL
);
"""


def _hash(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _invalid(payment: Any) -> str | None:
    if not isinstance(payment, dict):
        return "body must be a JSON object"
    for name, kind in _REQUIRED.items():
        value = payment.get(name)
        if not isinstance(value, kind) or isinstance(value, bool):
            return f"{name}: required"
    if payment["currency"] != "IDR":
        return "currency: must be IDR"
    if payment["amount"] <= 0:
        return "amount: must be positive"
    if not (payment.get("billing_code") or payment.get("receipt_no")):
        return "billing_code or receipt_no: one is required"
    return None


class BillingDesk:
    """Billing's state, knobs and counters. Thread-safe; one per simulator process."""

    def __init__(self, db_path: str | Path, secrets: Sequence[str]) -> None:
        path = Path(db_path)
        path = path.with_name(f"{path.stem}-billing.sqlite3")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.secrets = list(secrets)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._config = SimulatorConfig()
        self._bucket = TokenBucket(None)
        self._calls = 0
        self._calls_while_down = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def config(self) -> SimulatorConfig:
        with self._lock:
            return self._config

    def configure(self, changes: Any) -> SimulatorConfig:
        with self._lock:
            new = self._config.merged(changes)
            if new.rate_limit_per_second != self._config.rate_limit_per_second:
                self._bucket = TokenBucket(new.rate_limit_per_second)
            self._config = new
            return new

    def reset(self) -> None:
        with self._lock:
            self._config = SimulatorConfig()
            self._bucket = TokenBucket(None)
            self._calls = self._calls_while_down = 0
            self._db.execute("DELETE FROM payments")

    def stats(self) -> dict[str, Any]:
        with self._lock:
            count = self._db.execute("SELECT count(*) FROM payments").fetchone()[0]
            # One application's fee recorded under two keys would be money counted twice.
            twice = self._db.execute("SELECT reference FROM payments GROUP BY reference"
                                     " HAVING count(*) > 1").fetchall()
            return {
                "payments": count,
                "recorded_twice": sorted(row[0] for row in twice),
                "calls": self._calls,
                "calls_while_down": self._calls_while_down,
            }

    def _count(self, *, down: bool) -> None:
        with self._lock:
            self._calls += 1
            self._calls_while_down += int(down)

    def record(self, payment: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem = _invalid(payment)
        if problem:
            return 422, {"error": "invalid", "detail": problem}
        body_hash = _hash(payment)
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                row = self._db.execute(
                    "SELECT payment_id, body_hash FROM payments WHERE key = ?", (payment["key"],)
                ).fetchone()
                if row is not None and row[1] != body_hash:
                    self._db.execute("ROLLBACK")
                    return 422, {"error": "key_reused",
                                 "detail": "key was used with a different body"}
                if row is not None:
                    self._db.execute("ROLLBACK")
                    return 200, {"payment_id": row[0], "key": payment["key"]}
                payment_id = "PAY-" + uuid.uuid4().hex[:16].upper()
                self._db.execute(
                    "INSERT INTO payments (key, payment_id, body_hash, office, reference, amount,"
                    " created_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (payment["key"], payment_id, body_hash, payment["office"],
                     payment["reference"], payment["amount"], time.time()),
                )
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
        return 201, {"payment_id": payment_id, "key": payment["key"]}

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute(
                "SELECT key, payment_id, office, reference, amount FROM payments WHERE key = ?",
                (key,),
            ).fetchone()
        if row is None:
            return None
        return dict(zip(("key", "payment_id", "office", "reference", "amount"), row, strict=True))


def serve(handler: Handler, method: str, path: str, body: bytes) -> None:
    """Answer one `/billing/...` request with billing's own fault knobs."""
    serve_with_faults(handler, handler.sim.billing, method, path, body, _dispatch)


def _dispatch(handler: Handler, desk: BillingDesk, method: str, path: str,
              body: bytes) -> tuple[int, dict[str, Any]]:
    from services.simulator.server import Reply

    if path == f"{PREFIX}/v1/health" and method == "GET":
        return 200, {"status": "ok"}
    if path == f"{PREFIX}/v1/payments" and method == "POST":
        key = handler.headers.get("idempotency-key")
        handler._key = key or "-"
        granted, wait = desk._bucket.take(1)
        if not granted:
            seconds = max(1, int(wait + 0.999))
            raise Reply(429, {"error": "rate_limited"}, {"Retry-After": str(seconds)})
        try:
            payment = json.loads(body)
        except ValueError:
            raise Reply(400, {"error": "bad_request", "detail": "body is not JSON"}) from None
        if not key or not isinstance(payment, dict) or payment.get("key") != key:
            raise Reply(400, {"error": "bad_request",
                              "detail": "Idempotency-Key must equal body key"})
        return desk.record(payment)
    match = _PAYMENT_PATH.match(path)
    if match and method == "GET":
        from urllib.parse import unquote

        found = desk.get(unquote(match["key"]))
        if found is None:
            raise Reply(404, {"error": "not_found"})
        return 200, found
    raise Reply(404, {"error": "not_found"})


def control(handler: Handler, method: str, path: str, body: bytes) -> None:
    """`GET/POST /_control/billing` (knobs), `GET .../stats`, `POST .../reset`."""
    from services.simulator.server import Reply

    desk = handler.sim.billing
    if path == CONTROL and method == "GET":
        handler._send(200, desk.config().as_json())
    elif path == CONTROL and method == "POST":
        try:
            changes = json.loads(body or b"{}")
            handler._send(200, desk.configure(changes).as_json())
        except ValueError as exc:
            raise Reply(400, {"error": "invalid", "detail": str(exc)}) from None
    elif path == f"{CONTROL}/stats" and method == "GET":
        handler._send(200, desk.stats())
    elif path == f"{CONTROL}/reset" and method == "POST":
        desk.reset()
        handler._send(200, {"status": "reset"})
    else:
        raise Reply(404, {"error": "not_found"})


class BillingControl:
    """Typed access to billing's control endpoint, for tests and drills."""

    def __init__(self, base_url: str, *, timeout: float = 10.0) -> None:
        self._http = httpx.Client(base_url=base_url.rstrip("/"), timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def configure(self, **knobs: Any) -> dict[str, Any]:
        response = self._http.post(CONTROL, json=knobs)
        response.raise_for_status()
        return dict(response.json())

    def stats(self) -> dict[str, Any]:
        response = self._http.get(f"{CONTROL}/stats")
        response.raise_for_status()
        return dict(response.json())

    def reset(self) -> None:
        self._http.post(f"{CONTROL}/reset").raise_for_status()
