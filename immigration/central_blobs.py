"""Getting a dossier's photo and signature to central before the print job that names them.

Design: the blobs travel inside the print-job sender, not on a topic of their own. For each
claimed job, in claim order (express first, see queueing/claim.py), the sender asks central
what it holds of each blob (`HEAD`), sends the rest from that offset, and only then submits
the job in the same round. Why this rather than a blob topic enqueued beside the job:
- "blobs before the job" holds by construction: a job is only submitted right after central
  confirmed its blobs, instead of jobs and blobs racing on two topics and jobs bouncing off
  `missing_blobs` (or being parked and woken) until their blobs win;
- express-first, leases, a worker killed mid-blob, Redis flushed: all inherited from the one
  outbox message per job. The lease that covers a job covers its blobs; whoever claims it
  next resumes from central's offset, never from zero, and never re-sends a complete blob
  (HEAD says it is complete);
- a blob shared by several jobs, or a blob central lost in a restore, needs no bookkeeping at
  the office: central's `HEAD` is the only truth about what it holds.
The cost is one `HEAD` per blob per job send: a round trip, next to tens of kilobytes.

Bytes go out through the shared byte budget of the upstream (queueing/byte_budget.py), so all
workers together stay within the office's uplink. A round sends blobs for at most part of a
lease (`time_budget`); jobs it did not get to are deferred (not counted as attempts), which
keeps one lease from ever covering more bytes than the link can carry in it.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

from django.conf import settings

from immigration.dossier.selectors import file_by_sha256
from immigration.dossier.storage import open_chunks
from queueing import byte_budget
from services.central_printing import BlobSent, CentralPrintingClient

#: Part of the lease a round may spend sending blobs before it defers the remaining jobs.
LEASE_SHARE = 0.5


class BlobUnavailable(Exception):
    """The office has no stored file with this hash (it cannot send what the job names)."""


def job_blobs(job: dict[str, Any]) -> list[dict[str, Any]]:
    """The blobs central must hold before it takes `job`: its photo and signature."""
    return [job[name] for name in ("photo", "signature") if job.get(name)]


def blob_chunks(sha256: str) -> Callable[[int], Iterator[bytes]]:
    """The stored file with this hash, readable from any offset in bounded chunks."""
    file = file_by_sha256(sha256)
    if file is None:
        raise BlobUnavailable(f"no stored file with hash {sha256[:12]}")
    chunk_size = settings.CENTRAL_BLOB_CHUNK_BYTES

    def chunks(offset: int) -> Iterator[bytes]:
        return open_chunks(file, offset=offset, chunk_size=chunk_size)

    return chunks


@dataclass
class BlobRound:
    """What one round of the sender did with blobs (for tests, benchmarks and logs)."""

    sent: list[BlobSent] = field(default_factory=list)

    @property
    def bytes_sent(self) -> int:
        return sum(s.sent_bytes for s in self.sent)


def time_budget() -> float:
    return float(settings.QUEUEING["LEASE_SECONDS"]) * LEASE_SHARE


def blobs_ensure(
    *, client: CentralPrintingClient, job: dict[str, Any], upstream: str, report: BlobRound
) -> None:
    """Make central hold every blob `job` names. Raises UpstreamError (transient or not) or
    BlobUnavailable; whatever was sent before a failure stays at central for the next try."""
    # Always through the budget, limited or not: it is where bytes sent are counted (metrics).
    before_chunk = byte_budget.spender(upstream)
    for blob in job_blobs(job):
        sha256 = str(blob["sha256"])
        report.sent.append(
            client.send_blob(
                sha256,
                size=int(blob["size"]),
                chunks=blob_chunks(sha256),
                before_chunk=before_chunk,
            )
        )


def out_of_time(started: float) -> bool:
    return time.monotonic() - started > time_budget()

