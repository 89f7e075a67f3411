"""The central printing simulator's HTTP server.

Plain `http.server`: the simulator has a dozen JSON routes and no templates, sessions or
ORM, and it must not depend on Django (services/ imports nothing project-specific). The
stdlib server also gives us what a framework would hide: the raw socket, so "timeout" and
"drop" can close a connection without an answer, exactly like a broken network.
"""

from __future__ import annotations

import hashlib
import ipaddress
import json
import logging
import math
import random
import re
import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

from services.signing import SignatureError, verify
from services.simulator import billing, sms
from services.simulator.config import Cut, Link, SimulatorConfig, TokenBucket
from services.simulator.progression import CallbackSender, Stepper
from services.simulator.store import Intake, Store
from services.simulator.validation import InvalidJob, check_job, required_blobs

log = logging.getLogger("services.simulator")

MAX_BODY_BYTES = 10 * 1024 * 1024
#: Largest blob central takes (the dossier's per-file limit).
MAX_BLOB_BYTES = 10 * 1024 * 1024
MAX_BATCH = 100
DEFAULT_PAGE = 100
MAX_PAGE = 1000
OUTCOMES = ("2xx", "401", "429", "503", "dropped", "timeout", "cut")
_JOB_PATH = re.compile(r"\A/v1/print-jobs/(?P<key>[^/]+)\Z")
_BLOB_PATH = re.compile(r"\A/v1/blobs/(?P<sha256>[^/]+)\Z")
_SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")
BLOB_CONTENT_TYPE = "application/offset+octet-stream"
#: Bodies cross the emulated link in slices this big, so a shared link interleaves
#: concurrent uploads finely and a cut can land mid-chunk.
LINK_SLICE_BYTES = 4096


class Reply(Exception):
    """Stop handling and answer with this status and JSON body."""

    def __init__(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None):
        super().__init__(status)
        self.status = status
        self.body = body
        self.headers = headers or {}


def _retry_after(seconds: float) -> str:
    # Whole seconds per RFC 9110 when possible; fractions only for the fast test setups
    # that configure them (the office client accepts both).
    return str(int(seconds)) if float(seconds).is_integer() else f"{seconds:g}"


def body_hash(job: Any) -> str:
    canonical = json.dumps(job, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()


class Simulator:
    """Everything behind the HTTP surface: config, store, counters and background threads."""

    def __init__(
        self, *, db_path: str | Path, secrets: Sequence[str], step_seconds: float = 1.0,
        billing_secrets: Sequence[str] = (), sms_secrets: Sequence[str] = (),
    ) -> None:
        if not secrets:
            raise ValueError("the simulator needs at least one webhook secret")
        self.secrets = list(secrets)
        self.defaults = SimulatorConfig(step_seconds=step_seconds)
        self.store = Store(db_path)
        self._lock = threading.Lock()
        self._config = self.defaults
        self._bucket = TokenBucket(None)
        self.link = Link()
        self._reset_counters()
        self.billing = billing.BillingDesk(db_path, billing_secrets or self.secrets)
        self.sms = sms.SmsDesk(db_path, sms_secrets or self.secrets)
        self.sender = CallbackSender(self.store, self.secrets[0])
        self.stepper = Stepper(self.store, self.config, self.sender.wake)

    def _reset_counters(self) -> None:
        self.calls_total = 0
        self.calls_by_path: Counter[str] = Counter()
        self.calls_by_outcome: Counter[str] = Counter(dict.fromkeys(OUTCOMES, 0))
        self.calls_while_down = 0
        self._intake_second = 0
        self._intake_count = 0
        self.intake_per_second_max = 0

    def start(self) -> None:
        self.stepper.start()
        self.sender.start()

    def close(self) -> None:
        self.stepper.stopping.set()
        self.sender.close()
        self.stepper.join(timeout=2)
        self.sender.join(timeout=2)
        self.store.close()
        self.billing.close()
        self.sms.close()

    # -- config and counters ------------------------------------------------------------

    def config(self) -> SimulatorConfig:
        with self._lock:
            return self._config

    def configure(self, changes: Any) -> SimulatorConfig:
        with self._lock:
            new = self._config.merged(changes)
            if new.rate_limit_per_second != self._config.rate_limit_per_second:
                self._bucket = TokenBucket(new.rate_limit_per_second)
            if isinstance(changes, dict) and "cut_after_bytes" in changes:
                self.link.arm_cut(new.cut_after_bytes)
            self._config = new
        self.sender.wake()
        return new

    def reset(self) -> None:
        with self._lock:
            self._config = self.defaults
            self._bucket = TokenBucket(None)
            self._reset_counters()
        self.link.reset()
        self.store.reset()
        self.billing.reset()
        self.sms.reset()

    def take_tokens(self, wanted: int) -> tuple[int, float]:
        with self._lock:
            bucket = self._bucket
        return bucket.take(wanted)

    def count_call(self, route: str, *, down: bool) -> None:
        with self._lock:
            self.calls_total += 1
            self.calls_by_path[route] += 1
            if down:
                self.calls_while_down += 1

    def count_outcome(self, outcome: str) -> None:
        with self._lock:
            self.calls_by_outcome[outcome] += 1

    def count_created(self) -> None:
        second = int(time.time())
        with self._lock:
            if second != self._intake_second:
                self._intake_second, self._intake_count = second, 0
            self._intake_count += 1
            self.intake_per_second_max = max(self.intake_per_second_max, self._intake_count)

    def stats(self) -> dict[str, Any]:
        data = self.store.stats()
        with self._lock:
            data["calls"] = {
                "total": self.calls_total,
                "by_path": dict(self.calls_by_path),
                "by_outcome": dict(self.calls_by_outcome),
            }
            data["calls_while_down"] = self.calls_while_down
            data["intake_per_second_max"] = self.intake_per_second_max
        data["link"] = self.link.stats()
        return data

    def carry(self, size: int) -> tuple[int, bool]:
        """Pass `size` body bytes over the emulated link: (bytes through, cut or not)."""
        passed, cut = self.link.carry(size, self.config().link_kbps)
        if cut:
            with self._lock:
                # The one-shot cut fired: the knob reads null again.
                self._config = self._config.merged({"cut_after_bytes": None})
        return passed, cut

    # -- the print-job contract ---------------------------------------------------------

    def intake(self, job: Any) -> Intake:
        """Validate and store one job: the per-job semantics shared by single and batch."""
        try:
            check_job(job)
        except InvalidJob as exc:
            return Intake(422, {"error": "invalid", "detail": str(exc)})
        if job["reference"] in self.config().refuse_references:
            return Intake(422, {"error": "refused", "detail": "refused by central"})
        result = self.store.accept(
            job, body_hash(job), now=time.time(), blobs=required_blobs(job)
        )
        if result.created:
            self.count_created()
        return result


def _aware(text: str) -> datetime:
    when = datetime.fromisoformat(text)
    if when.tzinfo is None:
        # A naive `since` is read as UTC (central's clock), not the simulator host's zone.
        when = when.replace(tzinfo=UTC)
    return when


def _route(method: str, path: str) -> str:
    if path in ("/v1/health", "/v1/print-jobs", "/v1/print-jobs/batch"):
        return f"{method} {path}"
    if _JOB_PATH.match(path):
        return f"{method} /v1/print-jobs/{{key}}"
    if _BLOB_PATH.match(path):
        return f"{method} /v1/blobs/{{sha256}}"
    return f"{method} other"


class Handler(BaseHTTPRequestHandler):
    server: SimulatorServer
    # HTTP/1.1 so the office's pooled keep-alive connections behave as against a real host.
    protocol_version = "HTTP/1.1"
    # Headers and body go out as separate writes; with Nagle on, the client's delayed ACK
    # turns every response into a ~40 ms stall, which would make the simulator, not the
    # office, the bottleneck in drain benchmarks.
    disable_nagle_algorithm = True

    @property
    def sim(self) -> Simulator:
        return self.server.simulator

    def log_message(self, format: str, *args: Any) -> None:
        # Replaced by one structured line per request in _finish (no bodies, no personal data).
        pass

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_HEAD(self) -> None:
        self._handle("HEAD")

    def do_PATCH(self) -> None:
        self._handle("PATCH")

    def _handle(self, method: str) -> None:
        started = time.monotonic()
        self._outcome = "?"
        self._key = "-"
        url = urlsplit(self.path)
        try:
            over_link = url.path.startswith("/v1/")
            if over_link:
                latency = self.sim.config().link_latency_ms
                if latency:
                    time.sleep(latency / 1000)
            try:
                body = self._read_body(over_link=over_link)
            except Cut:
                self.sim.count_call(_route(method, url.path), down=False)
                self._vanish("cut")
                return
            if url.path.startswith("/_control"):
                self._control(method, url.path, body)
            elif url.path.startswith("/v1/"):
                self._v1(method, url.path, url.query, body)
            elif url.path.startswith(billing.PREFIX + "/"):
                billing.serve(self, method, url.path, body)
            elif url.path.startswith(sms.PREFIX + "/"):
                sms.serve(self, method, url.path, body)
            else:
                self._send(404, {"error": "not_found"})
        except Reply as reply:
            self._send(reply.status, reply.body, reply.headers)
        finally:
            ms = (time.monotonic() - started) * 1000
            log.info("%s %s %s key=%s %.1fms", method, url.path, self._outcome, self._key, ms)

    def _read_body(self, *, over_link: bool = False) -> bytes:
        length = self.headers.get("content-length")
        if not length:
            return b""
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise Reply(400, {"error": "bad_request", "detail": "bad Content-Length"}) from None
        if size < 0 or size > MAX_BODY_BYTES:
            self.close_connection = True
            raise Reply(413, {"error": "too_large"})
        if not over_link:
            return self.rfile.read(size)
        parts: list[bytes] = []
        left = size
        while left:
            wanted = min(left, LINK_SLICE_BYTES)
            passed, cut = self.sim.carry(wanted)
            if passed:
                parts.append(self.rfile.read(passed))
            if cut:
                self.sim.link.note_cut(sum(len(p) for p in parts))
                raise Cut
            left -= wanted
        return b"".join(parts)

    def _send(
        self, status: int, body: dict[str, Any] | None, headers: dict[str, str] | None = None
    ) -> None:
        # HEAD answers and 204s carry no body (HTTP forbids one); errors to a HEAD say
        # everything in their status and headers.
        if self.command == "HEAD" or status == 204:
            body = None
        data = b"" if body is None else json.dumps(body, separators=(",", ":")).encode("utf-8")
        self.send_response(status)
        if body is not None:
            self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if data:
            self.wfile.write(data)
        self._outcome = str(status)
        if self.path.startswith("/v1/"):
            self.sim.count_outcome("2xx" if 200 <= status < 300 else str(status))

    def _vanish(self, outcome: str) -> None:
        """Close the connection without a response, like a network that ate it."""
        self.close_connection = True
        self._outcome = outcome
        self.sim.count_outcome(outcome)

    # -- /v1 ----------------------------------------------------------------------------

    def _v1(self, method: str, path: str, query: str, body: bytes) -> None:
        config = self.sim.config()
        self.sim.count_call(_route(method, path), down=config.mode == "down")
        if config.delay_seconds:
            time.sleep(config.delay_seconds)
        unavailable = {"Retry-After": _retry_after(config.retry_after)}
        if config.mode == "down":
            raise Reply(503, {"error": "unavailable"}, unavailable)
        if config.fail_rate and random.random() < config.fail_rate:  # noqa: S311 - fault dice
            raise Reply(503, {"error": "unavailable"}, unavailable)
        if config.mode == "timeout":
            # Checked before anything is committed: a request that times out this way
            # never reached central's application at all.
            time.sleep(config.hang_seconds)
            self._vanish("timeout")
            return
        try:
            verify(self.sim.secrets, body, self.headers)
        except SignatureError as exc:
            raise Reply(401, {"error": "unauthorized", "detail": str(exc)}) from None

        status, reply, headers = self._dispatch(method, path, query, body)
        if config.mode == "drop":
            # The work above is committed; only the answer is lost.
            self._vanish("dropped")
            return
        self._send(status, reply, headers)

    def _dispatch(
        self, method: str, path: str, query: str, body: bytes
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        blob = _BLOB_PATH.match(path)
        if blob:
            return self._blob(method, unquote(blob["sha256"]), body)
        if path == "/v1/health":
            self._need(method, "GET")
            return 200, {"status": "ok"}, {}
        if path == "/v1/print-jobs" and method == "POST":
            return self._submit(body)
        if path == "/v1/print-jobs":
            self._need(method, "GET")
            return 200, self._inventory(query), {}
        if path == "/v1/print-jobs/batch":
            self._need(method, "POST")
            return self._batch(body)
        match = _JOB_PATH.match(path)
        if match:
            self._need(method, "GET")
            self._key = unquote(match["key"])
            job = self.sim.store.get(self._key)
            if job is None:
                raise Reply(404, {"error": "not_found"})
            return 200, job, {}
        raise Reply(404, {"error": "not_found"})

    @staticmethod
    def _need(method: str, allowed: str) -> None:
        if method != allowed:
            raise Reply(405, {"error": "method_not_allowed"}, {"Allow": allowed})

    @staticmethod
    def _json(body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError:
            raise Reply(400, {"error": "bad_request", "detail": "body is not JSON"}) from None

    def _rate_limited(self, wait: float) -> Reply:
        seconds = max(1, math.ceil(wait))
        return Reply(
            429,
            {"error": "rate_limited", "retry_after": seconds},
            {"Retry-After": str(seconds)},
        )

    def _submit(self, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        key = self.headers.get("idempotency-key")
        self._key = key or "-"
        granted, wait = self.sim.take_tokens(1)
        if not granted:
            raise self._rate_limited(wait)
        job = self._json(body)
        if not key:
            raise Reply(400, {"error": "bad_request", "detail": "Idempotency-Key required"})
        if not isinstance(job, dict) or job.get("key") != key:
            raise Reply(
                400, {"error": "bad_request", "detail": "Idempotency-Key must equal body key"}
            )
        result = self.sim.intake(job)
        return result.status_code, result.body, {}

    def _batch(self, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        data = self._json(body)
        jobs = data.get("jobs") if isinstance(data, dict) else None
        if not isinstance(jobs, list):
            raise Reply(422, {"error": "invalid", "detail": "jobs: must be a list"})
        if len(jobs) > MAX_BATCH:
            raise Reply(422, {"error": "invalid", "detail": f"jobs: at most {MAX_BATCH}"})
        self._key = f"batch:{len(jobs)}"
        granted, wait = self.sim.take_tokens(len(jobs))
        if jobs and not granted:
            # Nothing at all fits: say so for the whole call, so the office backs off
            # instead of parsing a hundred identical refusals.
            raise self._rate_limited(wait)
        results = []
        for index, job in enumerate(jobs):
            key = job.get("key") if isinstance(job, dict) else None
            if index >= granted:
                limited = self._rate_limited(wait)
                result = Intake(limited.status, limited.body)
            else:
                result = self.sim.intake(job)
            results.append(
                {
                    "key": key if isinstance(key, str) else None,
                    "status_code": result.status_code,
                    "body": result.body,
                }
            )
        return 200, {"results": results}, {}

    def _blob(
        self, method: str, sha256: str, body: bytes
    ) -> tuple[int, dict[str, Any] | None, dict[str, str]]:
        """`HEAD`/`PATCH /v1/blobs/{sha256}`: a content-addressed, resumable upload."""
        if method not in ("HEAD", "PATCH"):
            raise Reply(405, {"error": "method_not_allowed"}, {"Allow": "HEAD, PATCH"})
        self._key = sha256[:16]
        if not _SHA256.match(sha256):
            raise Reply(400, {"error": "bad_request", "detail": "not a lowercase hex SHA-256"})
        if method == "HEAD":
            state = self.sim.store.blob_state(sha256)
            if state is None:
                return 404, None, {"Cache-Control": "no-store"}
            held, length = state
            return 200, None, {
                "Upload-Offset": str(held),
                "Upload-Length": str(length),
                "Cache-Control": "no-store",
            }
        content_type = (self.headers.get("content-type") or "").split(";")[0].strip().lower()
        if content_type != BLOB_CONTENT_TYPE:
            raise Reply(415, {"error": "unsupported_media_type",
                              "detail": f"Content-Type must be {BLOB_CONTENT_TYPE}"})
        offset = _header_int(self.headers.get("upload-offset"))
        total = _header_int(self.headers.get("upload-length"))
        if offset is None or total is None:
            raise Reply(400, {"error": "bad_request",
                              "detail": "Upload-Offset and Upload-Length must be whole numbers"})
        if total > MAX_BLOB_BYTES:
            raise Reply(413, {"error": "too_large", "detail": f"at most {MAX_BLOB_BYTES} bytes"})
        result = self.sim.store.patch_blob(sha256, offset=offset, length=total, data=body)
        headers = {"Upload-Offset": str(result.offset)}
        if result.status == 204:
            return 204, None, headers
        return result.status, {"error": result.error, "detail": result.detail}, headers

    def _inventory(self, query: str) -> dict[str, Any]:
        params = {k: v[-1] for k, v in parse_qs(query).items()}
        try:
            after = int(params["cursor"]) if params.get("cursor") else 0
            limit = int(params.get("limit") or DEFAULT_PAGE)
            since = _aware(params["since"]) if params.get("since") else None
        except ValueError:
            raise Reply(
                400, {"error": "bad_request", "detail": "bad cursor, limit or since"}
            ) from None
        jobs, next_after = self.sim.store.inventory(
            office=params.get("office") or None,
            since=since,
            after=after,
            limit=max(1, min(limit, MAX_PAGE)),
        )
        return {"jobs": jobs, "next_cursor": None if next_after is None else str(next_after)}

    # -- /_control ----------------------------------------------------------------------

    def _control(self, method: str, path: str, body: bytes) -> None:
        # Unsigned by design (tests and demos drive it), so only reachable from this host.
        if not ipaddress.ip_address(self.client_address[0]).is_loopback:
            raise Reply(403, {"error": "forbidden", "detail": "control is loopback only"})
        if path.startswith(billing.CONTROL):
            return billing.control(self, method, path, body)
        if path.startswith(sms.CONTROL):
            return sms.control(self, method, path, body)
        sim = self.sim
        if path == "/_control" and method == "GET":
            self._send(200, sim.config().as_json())
        elif path == "/_control" and method == "POST":
            try:
                config = sim.configure(self._json(body or b"{}"))
            except ValueError as exc:
                raise Reply(400, {"error": "invalid", "detail": str(exc)}) from None
            self._send(200, config.as_json())
        elif path == "/_control/stats" and method == "GET":
            self._send(200, sim.stats())
        elif path == "/_control/advance" and method == "POST":
            config = sim.config()
            moved = sim.store.advance(
                now=time.time(),
                due_before=None,
                reject_references=frozenset(config.reject_references),
            )
            sim.sender.wake()
            self._send(200, {"advanced": moved})
        elif path == "/_control/restore-point" and method == "POST":
            self._send(200, {"jobs": sim.store.mark_restore_point()})
        elif path == "/_control/restore" and method == "POST":
            options = self._json(body or b"{}")
            all_blobs = isinstance(options, dict) and options.get("blobs") == "all"
            self._send(200, {"lost": sim.store.restore(all_blobs=all_blobs)})
        elif path == "/_control/reset" and method == "POST":
            sim.reset()
            self._send(200, {"status": "reset"})
        elif path == "/_control/blobs" and method == "GET":
            self._send(200, {"blobs": sim.store.blob_ledger()})
        elif path.startswith("/_control/blobs/") and method == "GET":
            self._send_blob(path.removeprefix("/_control/blobs/"))
        else:
            raise Reply(404, {"error": "not_found"})


    def _send_blob(self, sha256: str) -> None:
        """The bytes central holds for one blob, streamed (so tests can compare them)."""
        state = self.sim.store.blob_state(sha256)
        if state is None:
            raise Reply(404, {"error": "not_found"})
        self.send_response(200)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(state[0]))
        self.end_headers()
        for chunk in self.sim.store.blob_chunks(sha256):
            self.wfile.write(chunk)
        self._outcome = "200"


def _header_int(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


class SimulatorServer(ThreadingHTTPServer):
    # Daemon threads: a request parked by mode "timeout" must not keep shutdown waiting.
    daemon_threads = True

    def __init__(self, address: tuple[str, int], simulator: Simulator) -> None:
        self.simulator = simulator
        super().__init__(address, Handler)
