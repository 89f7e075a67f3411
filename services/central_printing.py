"""Client for the central printing service (see DESIGN.md, "the upstream contract")."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import quote

from services.base import UpstreamClient, UpstreamError, error_for_status, parse_retry_after
from services.signing import check_secret, sign_headers

__all__ = [
    "BLOB_CONTENT_TYPE",
    "MAX_BATCH",
    "BlobSent",
    "BlobState",
    "CentralPrintingClient",
    "InventoryPage",
    "MissingBlobs",
    "PrintJobReceipt",
]

BLOB_CONTENT_TYPE = "application/offset+octet-stream"
_SHA256 = re.compile(r"\A[0-9a-f]{64}\Z")
#: Offset mismatches tolerated in one upload (another worker raced us, or a cut chunk
#: landed after all) before giving the message back to the outbox.
MAX_RESYNCS = 3
#: 409 conflicts that say "not yet", not "never": the office fixes them by sending (more of)
#: the blobs, so they must not dead-letter a job.
TRANSIENT_CONFLICTS = frozenset({"offset_mismatch", "missing_blobs"})

#: Central refuses larger batches outright; splitting is the caller's job.
MAX_BATCH = 100


@dataclass(frozen=True, slots=True)
class PrintJobReceipt:
    key: str
    job_id: str
    status: str
    #: True when this call created the job (201); False when central already had it (200).
    created: bool


@dataclass(frozen=True, slots=True)
class BlobState:
    """What central holds of one blob: `offset` bytes of `length`."""

    offset: int
    length: int | None

    @property
    def complete(self) -> bool:
        return self.length is not None and self.offset >= self.length


@dataclass(frozen=True, slots=True)
class BlobSent:
    """The result of `send_blob`: bytes that crossed the wire, and central's answer."""

    sha256: str
    sent_bytes: int
    #: Central already held the whole blob: nothing was sent.
    already_held: bool


class MissingBlobs(UpstreamError):
    """Central refused a job because it does not fully hold these blobs yet (transient)."""

    def __init__(self, message: str, *, missing: Sequence[str], status: int = 409) -> None:
        super().__init__(
            message, permanent=False, status=status, code="missing_blobs",
            detail=f"{len(missing)} blob(s) missing",
        )
        self.missing = tuple(missing)


def _conflicts_are_transient(exc: UpstreamError, body: Any = None) -> UpstreamError:
    """Central's 409 `missing_blobs` / `offset_mismatch` mean "send more", not "invalid"."""
    if exc.status != 409 or exc.code not in TRANSIENT_CONFLICTS:
        return exc
    if exc.code == "missing_blobs":
        missing = body.get("missing") if isinstance(body, Mapping) else None
        hashes = [m for m in missing if isinstance(m, str)] if isinstance(missing, list) else []
        return MissingBlobs(str(exc), missing=hashes)
    exc.permanent = False
    return exc


@dataclass(frozen=True, slots=True)
class InventoryPage:
    jobs: list[dict[str, Any]]
    next_cursor: str | None


def encode_body(payload: Any) -> bytes:
    # The signature covers these exact bytes, so the body is serialised once, here, and
    # handed to httpx as raw content rather than letting httpx re-encode a dict.
    return json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class CentralPrintingClient(UpstreamClient):
    """Signed calls to central printing. Raises `UpstreamError` on every failure."""

    def __init__(
        self,
        base_url: str,
        secret: str | Sequence[str],
        *,
        timeout: float = 10.0,
        connect_timeout: float = 3.0,
        max_connections: int | None = None,
    ) -> None:
        # Fail at construction, not on the first print job, when the secret is unusable.
        for s in [secret] if isinstance(secret, str) else secret:
            check_secret(s)
        self._secret = secret
        super().__init__(
            base_url,
            connect_timeout=connect_timeout,
            read_timeout=timeout,
            max_connections=max_connections,
        )

    def _signed(
        self,
        method: str,
        path: str,
        *,
        payload: Any = None,
        extra_headers: Mapping[str, str] | None = None,
        params: Mapping[str, str] | None = None,
        accept: frozenset[int] = frozenset(),
    ) -> Any:
        body = b"" if payload is None else encode_body(payload)
        headers = {**sign_headers(self._secret, body), **(extra_headers or {})}
        if payload is not None:
            headers["content-type"] = "application/json"
        response = self.request(
            method, path, content=body, headers=headers, params=params, accept=accept
        )
        if response.status_code in accept and not response.is_success:
            return None
        try:
            return response.json()
        except ValueError:
            # A 2xx we cannot read may still mean the job was committed.
            raise UpstreamError(
                f"{method} {path}: unreadable response",
                permanent=False,
                ambiguous=True,
                status=response.status_code,
            ) from None

    def health(self) -> bool:
        """True if central answers its health check.

        Transient failures (down, timeouts) give False, the probe answer a circuit breaker
        wants. A permanent failure (401: our secret is wrong) is raised, because reporting
        "central is down" would hide a misconfiguration behind an outage.
        """
        try:
            self._signed("GET", "/v1/health")
        except UpstreamError as exc:
            if exc.permanent:
                raise
            return False
        return True

    def submit(self, job: Mapping[str, Any]) -> PrintJobReceipt:
        """Send one print job; safe to repeat (central dedupes on `job["key"]`)."""
        key = str(job["key"])
        path = "/v1/print-jobs"
        body = encode_body(job)
        headers = {
            **sign_headers(self._secret, body),
            "content-type": "application/json",
            "idempotency-key": key,
        }
        response = self.request(
            "POST", path, content=body, headers=headers, accept=frozenset({409})
        )
        try:
            data = response.json()
        except ValueError:
            data = None
        if response.status_code == 409:
            raise _conflicts_are_transient(
                error_for_status(409, what=f"POST {path}", body=data), data
            )
        receipt = _receipt(key, response.status_code, data)
        if receipt is None:
            raise UpstreamError(
                f"POST {path}: unexpected response",
                permanent=False,
                ambiguous=True,
                status=response.status_code,
            )
        return receipt

    def submit_batch(
        self, jobs: Sequence[Mapping[str, Any]]
    ) -> list[PrintJobReceipt | UpstreamError]:
        """Send up to MAX_BATCH jobs in one call; one result per job, in the same order.

        A failure of the whole call (central down, rate limited before any job, timeout,
        dropped connection) raises UpstreamError; per-job refusals come back as
        UpstreamError values in the list and do not affect the other jobs.
        """
        if len(jobs) > MAX_BATCH:
            raise ValueError(f"at most {MAX_BATCH} jobs per batch")
        if not jobs:
            return []
        path = "/v1/print-jobs/batch"
        data = self._signed("POST", path, payload={"jobs": list(jobs)})
        results = data.get("results") if isinstance(data, Mapping) else None
        if not isinstance(results, list) or len(results) != len(jobs):
            # Central committed some unknown subset: every job is ambiguous.
            raise UpstreamError(
                f"POST {path}: results do not match the jobs sent",
                permanent=False,
                ambiguous=True,
            )
        out: list[PrintJobReceipt | UpstreamError] = []
        for job, result in zip(jobs, results, strict=True):
            key = str(job["key"])
            out.append(_batch_result(key, result, what=f"POST {path} [{key}]"))
        return out

    def get(self, key: str) -> dict[str, Any] | None:
        """Central's view of one job, or None if central does not have it."""
        # 404 is the meaningful answer here ("central never got it, or lost it").
        path = f"/v1/print-jobs/{quote(key, safe='')}"
        data = self._signed("GET", path, accept=frozenset({404}))
        if data is None:
            return None
        if not isinstance(data, dict):
            raise UpstreamError(f"GET {path}: unexpected response", permanent=False)
        return data

    def inventory(
        self,
        office: str | None,
        since: datetime | str | None = None,
        cursor: str | None = None,
        *,
        limit: int | None = None,
    ) -> InventoryPage:
        """One page of central's jobs (oldest first); follow `next_cursor` until None."""
        params: dict[str, str] = {}
        if office:
            params["office"] = office
        if since is not None:
            params["since"] = since.isoformat() if isinstance(since, datetime) else since
        if cursor:
            params["cursor"] = cursor
        if limit is not None:
            params["limit"] = str(limit)
        path = "/v1/print-jobs"
        data = self._signed("GET", path, params=params)
        jobs = data.get("jobs") if isinstance(data, Mapping) else None
        if not isinstance(jobs, list):
            raise UpstreamError(f"GET {path}: unexpected response", permanent=False)
        next_cursor = data.get("next_cursor")
        return InventoryPage(
            jobs=jobs, next_cursor=next_cursor if isinstance(next_cursor, str) else None
        )

    # -- blobs (content-addressed, resumable; see DESIGN.md) ----------------------------

    def blob_state(self, sha256: str) -> BlobState | None:
        """How much of a blob central holds (`HEAD`), or None if it holds nothing."""
        path = _blob_path(sha256)
        response = self.request(
            "HEAD", path, headers=sign_headers(self._secret, b""), accept=frozenset({404})
        )
        if response.status_code == 404:
            return None
        offset = _int_header(response.headers.get("upload-offset"))
        if offset is None:
            raise UpstreamError(f"HEAD {path}: no Upload-Offset", permanent=False)
        return BlobState(offset, _int_header(response.headers.get("upload-length")))

    def patch_blob(self, sha256: str, *, offset: int, length: int, chunk: bytes) -> int:
        """Append `chunk` at `offset` of a blob of `length` bytes; returns central's new offset.

        Raises UpstreamError: transient `offset_mismatch` (ask `blob_state`), permanent
        `checksum_mismatch` (460: the whole blob did not hash to its name; central dropped it).
        """
        path = _blob_path(sha256)
        headers = {
            **sign_headers(self._secret, chunk),
            "content-type": BLOB_CONTENT_TYPE,
            "upload-offset": str(offset),
            "upload-length": str(length),
        }
        try:
            response = self.request("PATCH", path, content=chunk, headers=headers)
        except UpstreamError as exc:
            raise _conflicts_are_transient(exc) from exc
        new_offset = _int_header(response.headers.get("upload-offset"))
        if new_offset is None:
            raise UpstreamError(f"PATCH {path}: no Upload-Offset", permanent=False,
                                ambiguous=True)
        return new_offset

    def send_blob(
        self,
        sha256: str,
        *,
        size: int,
        chunks: Callable[[int], Iterable[bytes]],
        before_chunk: Callable[[int], None] | None = None,
    ) -> BlobSent:
        """Make central hold the whole blob, resuming from whatever it already holds.

        `chunks(offset)` yields the blob's bytes from `offset` (bounded chunks, streamed
        from storage: a large file is never in memory). `before_chunk(n)` runs before each
        chunk goes out, e.g. to wait for a shared byte budget. Safe to repeat and to run
        after any failure: it starts from central's `HEAD`, never from zero blindly.
        """
        state = self.blob_state(sha256)
        if state is not None and state.complete:
            return BlobSent(sha256, 0, already_held=True)
        offset = state.offset if state is not None else 0
        sent = 0
        resyncs = 0
        while True:
            try:
                if size == 0:
                    offset = self.patch_blob(sha256, offset=0, length=0, chunk=b"")
                else:
                    sent += self._send_from(sha256, offset, size, chunks, before_chunk)
                return BlobSent(sha256, sent, already_held=False)
            except UpstreamError as exc:
                if exc.code != "offset_mismatch" or resyncs >= MAX_RESYNCS:
                    raise
                resyncs += 1
                state = self.blob_state(sha256)
                if state is not None and state.complete:
                    return BlobSent(sha256, sent, already_held=False)
                offset = state.offset if state is not None else 0

    def _send_from(
        self,
        sha256: str,
        offset: int,
        size: int,
        chunks: Callable[[int], Iterable[bytes]],
        before_chunk: Callable[[int], None] | None,
    ) -> int:
        sent = 0
        iterator = iter(chunks(offset))
        try:
            for chunk in iterator:
                if not chunk:
                    continue
                if before_chunk is not None:
                    before_chunk(len(chunk))
                offset = self.patch_blob(sha256, offset=offset, length=size, chunk=chunk)
                sent += len(chunk)
        finally:
            close = getattr(iterator, "close", None)
            if callable(close):
                close()  # release the storage cursor even when the upload failed
        if offset < size:
            raise UpstreamError(f"PATCH {_blob_path(sha256)}: the local file ended early",
                                permanent=True)
        return sent


def _blob_path(sha256: str) -> str:
    if not _SHA256.match(sha256):
        raise ValueError("a blob is named by its lowercase hex SHA-256")
    return f"/v1/blobs/{sha256}"


def _int_header(value: str | None) -> int | None:
    if value is None or not value.strip().isdigit():
        return None
    return int(value.strip())


def _receipt(key: str, status_code: int, body: Any) -> PrintJobReceipt | None:
    if status_code not in (200, 201) or not isinstance(body, Mapping):
        return None
    job_id = body.get("job_id")
    if not isinstance(job_id, str) or not job_id:
        return None
    return PrintJobReceipt(
        key=key,
        job_id=job_id,
        status=str(body.get("status", "")),
        created=status_code == 201,
    )


def _batch_result(key: str, result: Any, *, what: str) -> PrintJobReceipt | UpstreamError:
    if not isinstance(result, Mapping) or result.get("key") not in (key, None):
        return UpstreamError(f"{what}: result out of order", permanent=False, ambiguous=True)
    status = result.get("status_code")
    body = result.get("body")
    if not isinstance(status, int):
        return UpstreamError(f"{what}: result without status", permanent=False, ambiguous=True)
    if status in (200, 201):
        receipt = _receipt(key, status, body)
        if receipt is None:
            return UpstreamError(f"{what}: unexpected result", permanent=False, ambiguous=True)
        return receipt
    retry_after = None
    if isinstance(body, Mapping) and body.get("retry_after") is not None:
        retry_after = parse_retry_after(str(body["retry_after"]))
    error = error_for_status(status, what=what, body=body, retry_after=retry_after)
    return _conflicts_are_transient(error, body)
