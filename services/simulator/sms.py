"""The SMS gateway upstream, simulated next to central printing in the same process.

Mounted under `/sms` (so the office's `SMS_GATEWAY_URL` is `http://host:port/sms`) with its own
fault knobs at `/_control/sms` (the same knobs as central: `down` -> 503, `timeout`, `drop` =
"sent the text, lost the answer", `fail_rate`, `rate_limit_per_second` -> 429 + Retry-After).

Contract: `POST /v1/messages` with `Idempotency-Key` equal to the body's `key`, body
`{key, to, text}` -> 201 `{message_id}` the first time (the text "reaches the phone": one ledger
row), 200 with the same answer for the same key and body (nothing sent again), 422 for the same
key with another body; `GET /v1/messages/{key}` -> the message or 404; `GET /v1/health`.
Signed (Standard Webhooks) like every other call. The ledger is committed to its own SQLite file
before the answer, so a dropped response is a real "sent but unanswered" case.

Replies: `POST /_control/sms/reply {from, text}` plays a phone answering (e.g. "STOP"); the
gateway delivers it, signed, to the office's inbound URL (`inbound_url` knob).
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
from urllib.parse import unquote

import httpx

from services.central_printing import encode_body
from services.signing import sign_headers
from services.simulator.config import SimulatorConfig, TokenBucket
from services.simulator.desk_faults import serve_with_faults

if TYPE_CHECKING:
    from services.simulator.server import Handler

PREFIX = "/sms"
CONTROL = "/_control/sms"
_MESSAGE_PATH = re.compile(r"\A/sms/v1/messages/(?P<key>[^/]+)\Z")
MAX_TEXT = 1600  # ten concatenated parts; anything longer is a client bug

SCHEMA = """
CREATE TABLE IF NOT EXISTS messages (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT UNIQUE NOT NULL, message_id TEXT NOT NULL, body_hash TEXT NOT NULL,
    recipient TEXT NOT NULL, text TEXT NOT NULL, created_at REAL NOT NULL
);
"""


def _hash(payload: Any) -> str:
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


def _invalid(message: Any) -> str | None:
    if not isinstance(message, dict):
        return "body must be a JSON object"
    for name in ("key", "to", "text"):
        if not isinstance(message.get(name), str) or not message[name]:
            return f"{name}: required"
    if not re.fullmatch(r"\+[1-9][0-9]{6,14}", message["to"]):
        return "to: an E.164 number (+62...)"
    if len(message["text"]) > MAX_TEXT:
        return "text: too long"
    return None


class SmsDesk:
    """The gateway's ledger, knobs and counters. Thread-safe; one per simulator process."""

    def __init__(self, db_path: str | Path, secrets: Sequence[str]) -> None:
        path = Path(db_path)
        path = path.with_name(f"{path.stem}-sms.sqlite3")
        path.parent.mkdir(parents=True, exist_ok=True)
        self.secrets = list(secrets)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.executescript(SCHEMA)
        self._config = SimulatorConfig()
        self._bucket = TokenBucket(None)
        self.inbound_url = ""
        self._calls = 0
        self._calls_while_down = 0
        self._replays = 0

    def close(self) -> None:
        with self._lock:
            self._db.close()

    def config(self) -> SimulatorConfig:
        with self._lock:
            return self._config

    def configure(self, changes: Any) -> dict[str, Any]:
        if isinstance(changes, dict) and "inbound_url" in changes:
            changes = dict(changes)
            url = changes.pop("inbound_url")
            if not isinstance(url, str):
                raise ValueError("inbound_url: a URL")
            self.inbound_url = url
        with self._lock:
            new = self._config.merged(changes)
            if new.rate_limit_per_second != self._config.rate_limit_per_second:
                self._bucket = TokenBucket(new.rate_limit_per_second)
            self._config = new
        return self.knobs()

    def knobs(self) -> dict[str, Any]:
        return {**self.config().as_json(), "inbound_url": self.inbound_url}

    def reset(self) -> None:
        with self._lock:
            self._config = SimulatorConfig()
            self._bucket = TokenBucket(None)
            self._calls = self._calls_while_down = self._replays = 0
            self._db.execute("DELETE FROM messages")

    def ledger(self) -> list[dict[str, Any]]:
        """Every text that reached a phone, in order."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, message_id, recipient, text, created_at FROM messages ORDER BY seq"
            ).fetchall()
        return [dict(zip(("key", "message_id", "to", "text", "at"), row, strict=True))
                for row in rows]

    def stats(self) -> dict[str, Any]:
        with self._lock:
            count = self._db.execute("SELECT count(*) FROM messages").fetchone()[0]
            # The same words to the same phone under two keys is a duplicate the person sees.
            twice = self._db.execute(
                "SELECT count(*) FROM (SELECT 1 FROM messages GROUP BY recipient, text"
                " HAVING count(*) > 1)").fetchone()[0]
            return {"messages": count, "same_text_twice": twice, "calls": self._calls,
                    "calls_while_down": self._calls_while_down, "replays": self._replays}

    def _count(self, *, down: bool) -> None:
        with self._lock:
            self._calls += 1
            self._calls_while_down += int(down)

    def record(self, message: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        problem = _invalid(message)
        if problem:
            return 422, {"error": "invalid", "detail": problem}
        body_hash = _hash(message)
        with self._lock:
            row = self._db.execute("SELECT message_id, body_hash FROM messages WHERE key = ?",
                                   (message["key"],)).fetchone()
            if row is not None and row[1] != body_hash:
                return 422, {"error": "key_reused", "detail": "key was used with a different body"}
            if row is not None:
                self._replays += 1
                return 200, {"message_id": row[0], "key": message["key"]}
            message_id = "SMS-" + uuid.uuid4().hex[:16].upper()
            self._db.execute(
                "INSERT INTO messages (key, message_id, body_hash, recipient, text, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?)",
                (message["key"], message_id, body_hash, message["to"], message["text"],
                 time.time()),
            )
        return 201, {"message_id": message_id, "key": message["key"]}

    def get(self, key: str) -> dict[str, Any] | None:
        with self._lock:
            row = self._db.execute("SELECT key, message_id FROM messages WHERE key = ?",
                                   (key,)).fetchone()
        return None if row is None else {"key": row[0], "message_id": row[1]}

    def reply(self, sender: str, text: str) -> int:
        """Deliver a phone's reply to the office, signed like the gateway's other calls.
        Returns the office's HTTP status."""
        if not self.inbound_url:
            raise ValueError("no inbound_url configured")
        body = encode_body({"message_id": "MO-" + uuid.uuid4().hex[:16].upper(),
                            "from": sender, "text": text})
        headers = {**sign_headers(self.secrets[0], body), "content-type": "application/json"}
        response = httpx.post(self.inbound_url, content=body, headers=headers, timeout=10.0)
        return response.status_code


def serve(handler: Handler, method: str, path: str, body: bytes) -> None:
    """Answer one `/sms/...` request with the gateway's own fault knobs."""
    serve_with_faults(handler, handler.sim.sms, method, path, body, _dispatch)


def _dispatch(handler: Handler, desk: SmsDesk, method: str, path: str,
              body: bytes) -> tuple[int, dict[str, Any]]:
    from services.simulator.server import Reply

    if path == f"{PREFIX}/v1/health" and method == "GET":
        return 200, {"status": "ok"}
    if path == f"{PREFIX}/v1/messages" and method == "POST":
        key = handler.headers.get("idempotency-key")
        handler._key = key or "-"
        granted, wait = desk._bucket.take(1)
        if not granted:
            raise Reply(429, {"error": "rate_limited"},
                        {"Retry-After": str(max(1, int(wait + 0.999)))})
        try:
            message = json.loads(body)
        except ValueError:
            raise Reply(400, {"error": "bad_request", "detail": "body is not JSON"}) from None
        if not key or not isinstance(message, dict) or message.get("key") != key:
            raise Reply(400, {"error": "bad_request",
                              "detail": "Idempotency-Key must equal body key"})
        return desk.record(message)
    match = _MESSAGE_PATH.match(path)
    if match and method == "GET":
        found = desk.get(unquote(match["key"]))
        if found is None:
            raise Reply(404, {"error": "not_found"})
        return 200, found
    raise Reply(404, {"error": "not_found"})


def control(handler: Handler, method: str, path: str, body: bytes) -> None:
    """`GET/POST /_control/sms` (knobs), `GET .../stats`, `GET .../ledger`, `POST .../reset`,
    `POST .../reply {from, text}`."""
    from services.simulator.server import Reply

    desk = handler.sim.sms
    try:
        if path == CONTROL and method == "GET":
            handler._send(200, desk.knobs())
        elif path == CONTROL and method == "POST":
            handler._send(200, desk.configure(json.loads(body or b"{}")))
        elif path == f"{CONTROL}/stats" and method == "GET":
            handler._send(200, desk.stats())
        elif path == f"{CONTROL}/ledger" and method == "GET":
            handler._send(200, {"messages": desk.ledger()})
        elif path == f"{CONTROL}/reset" and method == "POST":
            desk.reset()
            handler._send(200, {"status": "reset"})
        elif path == f"{CONTROL}/reply" and method == "POST":
            data = json.loads(body or b"{}")
            status = desk.reply(str(data.get("from", "")), str(data.get("text", "")))
            handler._send(200, {"office_status": status})
        else:
            raise Reply(404, {"error": "not_found"})
    except (ValueError, httpx.HTTPError) as exc:
        raise Reply(400, {"error": "invalid", "detail": str(exc)[:200]}) from None


class SmsControl:
    """Typed access to the gateway's control endpoint, for tests and drills."""

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

    def ledger(self) -> list[dict[str, Any]]:
        response = self._http.get(f"{CONTROL}/ledger")
        response.raise_for_status()
        return list(response.json()["messages"])

    def reply(self, *, sender: str, text: str) -> int:
        response = self._http.post(f"{CONTROL}/reply", json={"from": sender, "text": text})
        response.raise_for_status()
        return int(response.json()["office_status"])

    def reset(self) -> None:
        self._http.post(f"{CONTROL}/reset").raise_for_status()
