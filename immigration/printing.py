"""Getting approved applications printed: the print-job topic the outbox delivers to central,
and central's signed status callbacks coming back.

The outbox message carries only (application id, data version); the job body, which is
personal data, is built from the encrypted row at send time and never stored elsewhere.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction

from immigration import central_blobs
from immigration.dossier.models import DossierFile
from immigration.dossier.selectors import current_files_of, named_files, print_job_files
from immigration.lifecycle import Actor, Status
from immigration.models import (
    PERSONAL_FIELDS,
    PassportApplication,
    ProcessedCallback,
    print_priority_of,
)
from immigration.print_jobs import (
    CENTRAL_PRINTING,
    PRINT_JOB_TOPIC,
    parse_print_job_key,
    print_job_key,
)
from queueing import topics
from queueing.models import OutboxMessage
from queueing.topics import (
    Deferred,
    Delivered,
    Outcome,
    Refused,
    RetryLater,
    UpstreamUnavailable,
)
from services.base import UpstreamError
from services.central_printing import (
    MAX_BATCH,
    CentralPrintingClient,
    MissingBlobs,
    PrintJobReceipt,
)
from services.signing import verify

log = logging.getLogger(__name__)

CALLBACK_PATH = "/api/v1/webhooks/printing"

# Central's callback statuses -> our lifecycle.
CALLBACK_STATUSES: dict[str, Status] = {
    "printing": Status.PRINTING,
    "printed": Status.PRINTED,
    "dispatched": Status.READY_FOR_PICKUP,
}


def central_secrets() -> list[str]:
    # Several secrets (comma or space separated) during a rotation; the first one signs.
    return settings.CENTRAL_PRINTING_SECRET.replace(",", " ").split()


@cache
def central_client() -> CentralPrintingClient:
    return CentralPrintingClient(
        settings.CENTRAL_PRINTING_URL,
        central_secrets(),
        timeout=settings.CENTRAL_PRINTING_TIMEOUT,
    )


def print_job(application: PassportApplication,
              files: list[DossierFile] | None = None) -> dict[str, Any]:
    """The print-job body. Deterministic for one (application, data version), as central's
    idempotency demands: the same key must always come with the same body. `files`: the
    application's current dossier files, when read for the whole batch."""
    row = {column: getattr(application, column) for column in PRINT_JOB_COLUMNS}
    return _print_job_body(row, print_job_files(application, files))


PRINT_JOB_COLUMNS = ("id", "reference", "office_id", "service", "passport_type", "data_version",
                     "approved_at", *PERSONAL_FIELDS)


def _print_job_body(row: Mapping[str, Any], files: dict[str, Any]) -> dict[str, Any]:
    """`print_job` from the application's PRINT_JOB_COLUMNS. The delivery loop reads a batch as
    such rows (`values()`), not model instances: building 300 instances with deferred fields
    was a tenth of a worker's CPU, for nine attributes read once."""
    assert row["approved_at"] is not None
    return {
        "key": print_job_key(row["reference"], row["data_version"]),
        "office": row["office_id"],
        "reference": row["reference"],
        "service": row["service"],
        "passport_type": row["passport_type"],
        "priority": print_priority_of(row["service"]),
        "applicant": {name: row[name] for name in PERSONAL_FIELDS},
        "approved_at": row["approved_at"].isoformat(),
        "callback_url": settings.OFFICE_PUBLIC_URL.rstrip("/") + CALLBACK_PATH,
        # Photo, signature (blobs central must hold first) and document hashes.
        **files,
    }


def _outcome(result: PrintJobReceipt | UpstreamError) -> Outcome:
    if isinstance(result, PrintJobReceipt):
        return Delivered({"job_id": result.job_id, "created": result.created})
    if isinstance(result, MissingBlobs):
        # Central lost a blob between our HEAD and the job (a restore): the next round's HEAD
        # sees it and sends it again before the job.
        return RetryLater(str(result), retry_after=MISSING_BLOBS_RETRY_SECONDS)
    if result.permanent:
        return Refused(f"central refused the print job: {result.code or result.status} "
                       f"{result.detail or ''}".strip())
    return RetryLater(str(result), result.retry_after, result.ambiguous)


MISSING_BLOBS_RETRY_SECONDS = 0.5


def send_print_jobs(messages: Sequence[OutboxMessage]) -> list[Outcome]:
    """Send a claimed batch: each job's blobs first (see immigration/central_blobs.py for why
    here), then every job whose blobs central holds, in one batch call."""
    client = central_client()
    ids = [m.payload["application_id"] for m in messages]
    # Only the columns a print job is made of (fewer values to convert, fewer to decrypt).
    applications = {row["id"]: row for row in PassportApplication.objects.filter(id__any=ids)
                    .values(*PRINT_JOB_COLUMNS)}  # rows, not instances: see _print_job_body
    files = current_files_of(ids)
    outcomes: dict[int, Outcome] = {}
    to_send: list[tuple[OutboxMessage, dict[str, Any]]] = []
    started = time.monotonic()
    blob_round = central_blobs.BlobRound()
    blob_failure: UpstreamError | None = None
    try:
        for message in messages:
            row = applications.get(message.payload["application_id"])
            if row is None or row["data_version"] != message.payload["data_version"]:
                outcomes[message.id] = Refused("superseded: the application or this data "
                                               "version no longer exists")
                continue
            if message.outcome_unknown:
                # An earlier attempt may have been printed unanswered: ask central by key before
                # sending anything (central would dedupe a resend too; this avoids relying on it).
                found = client.get(message.key)
                if found is not None:
                    outcomes[message.id] = Delivered({"job_id": found.get("job_id", ""),
                                                      "created": False})
                    continue
            job = _print_job_body(row, named_files(files[row["id"]]))
            # The first job of a round always goes, so a lease shorter than one dossier's
            # transfer still makes progress.
            if blob_failure is not None or (to_send and central_blobs.out_of_time(started)):
                outcomes[message.id] = (
                    Deferred("blob upload paused for this round")
                    if blob_failure is None
                    else RetryLater(str(blob_failure), blob_failure.retry_after)
                )
                continue
            try:
                central_blobs.blobs_ensure(client=client, job=job, upstream=CENTRAL_PRINTING,
                                           report=blob_round)
            except central_blobs.BlobUnavailable as exc:
                outcomes[message.id] = Refused(f"cannot send the dossier: {exc}")
                continue
            except UpstreamError as exc:
                if exc.permanent and exc.status != 401:
                    # 460: the stored file does not hash to its name: staff must look at it.
                    outcomes[message.id] = Refused(f"central refused a blob: {exc.code or exc}")
                    continue
                # Down, cut mid-blob, timed out: what central got stays there (resumed from
                # its offset next time); jobs already complete still go out below.
                blob_failure = exc
                outcomes[message.id] = RetryLater(str(exc), exc.retry_after, False)
                continue
            to_send.append((message, job))
        if blob_failure is not None and not to_send:
            raise blob_failure
        if to_send:
            outcomes.update(_submit(client, to_send))
    except UpstreamError as exc:
        # The call as a whole failed. Even a "permanent" whole-call failure (a 401 from a
        # misconfigured secret) must not dead-letter every job: treat it as an outage.
        raise UpstreamUnavailable(str(exc), retry_after=exc.retry_after,
                                  ambiguous=exc.ambiguous or exc.permanent) from exc
    return [outcomes[m.id] for m in messages]


def _submit(
    client: CentralPrintingClient, to_send: list[tuple[OutboxMessage, dict[str, Any]]]
) -> dict[int, Outcome]:
    """Submit the jobs in central's batches of at most MAX_BATCH, all at once: a claim larger
    than one batch keeps several in flight, so central is not left idle while this worker
    builds and settles. A batch call that failed as a whole makes its jobs retry (the others
    count); raises UpstreamError only when every call failed."""
    chunks = [to_send[i:i + MAX_BATCH] for i in range(0, len(to_send), MAX_BATCH)]

    def call(chunk: list[tuple[OutboxMessage, dict[str, Any]]]) -> Any:
        try:
            return client.submit_batch([job for _, job in chunk])
        except UpstreamError as exc:
            return exc

    if len(chunks) == 1:
        answers = [call(chunks[0])]
    else:
        with ThreadPoolExecutor(len(chunks), thread_name_prefix="print-batch") as pool:
            answers = list(pool.map(call, chunks))
    failures = [a for a in answers if isinstance(a, UpstreamError)]
    if len(failures) == len(answers):
        raise failures[0]
    outcomes: dict[int, Outcome] = {}
    for chunk, answer in zip(chunks, answers, strict=True):
        for index, (message, _) in enumerate(chunk):
            if isinstance(answer, UpstreamError):
                outcomes[message.id] = RetryLater(str(answer), answer.retry_after,
                                                  answer.ambiguous or answer.permanent)
            else:
                outcomes[message.id] = _outcome(answer[index])
    return outcomes


def probe_central() -> bool:
    return central_client().health()


def _locked_application(message: OutboxMessage) -> PassportApplication | None:
    application = (
        PassportApplication.objects.select_for_update()
        .filter(id=message.payload["application_id"])
        .first()
    )
    if application is None or application.data_version != message.payload["data_version"]:
        return None
    return application


def on_print_jobs_delivered(delivered: list[tuple[OutboxMessage, dict[str, Any]]]) -> None:
    PassportApplication.objects.mark_sent_to_central({
        (m.payload["application_id"], m.payload["data_version"]): str(result.get("job_id", ""))
        for m, result in delivered
    })


def on_print_job_dead(message: OutboxMessage, reason: str) -> None:
    application = _locked_application(message)
    if application is not None and application.status == Status.QUEUED_FOR_PRINTING:
        application.needs_attention(reason=reason, actor=Actor.DELIVERY)


def on_print_job_retried(message: OutboxMessage) -> None:
    application = _locked_application(message)
    if application is not None and application.status == Status.NEEDS_ATTENTION:
        application.requeue_unchanged(note="dead letter retried")


def register_print_job_topic() -> None:
    topics.register(
        topics.Topic(
            name=PRINT_JOB_TOPIC,
            upstream=CENTRAL_PRINTING,
            send=send_print_jobs,
            probe=probe_central,
            on_delivered=on_print_jobs_delivered,
            on_dead=on_print_job_dead,
            on_retry=on_print_job_retried,
            batch_size=settings.CENTRAL_PRINTING_BATCH_SIZE or None,
        )
    )


# --- Callbacks from central ----------------------------------------------------------------
class CallbackRejected(Exception):
    def __init__(self, code: str, detail: str, status: int) -> None:
        super().__init__(detail)
        self.code, self.detail, self.status = code, detail, status


def callback_verify(body: bytes, headers: Mapping[str, str]) -> None:
    """Raise services.signing.SignatureError unless central signed this callback recently."""
    verify(central_secrets(), body, headers,
           tolerance_seconds=settings.WEBHOOK_TOLERANCE_SECONDS)


def callback_apply(*, event_id: str, payload: dict[str, Any]) -> bool:
    """Apply one verified callback. Returns True if the application moved. Each event id is
    applied at most once: the dedupe row commits with the status change."""
    status = str(payload.get("status", ""))
    job = parse_print_job_key(str(payload.get("key", "")))
    if job is None:
        raise CallbackRejected("unknown_job", "no such print job", 404)
    reference, version = job
    if status not in CALLBACK_STATUSES and status != "rejected":
        raise CallbackRejected("invalid", f"unknown status {status[:30]!r}", 400)
    with transaction.atomic():
        try:
            with transaction.atomic():  # savepoint: only the dedupe insert may conflict
                ProcessedCallback.objects.create(event_id=event_id[:100])
        except IntegrityError as exc:
            raise CallbackRejected("replayed", "this callback was already processed",
                                   409) from exc
        application = (
            PassportApplication.objects.select_for_update().filter(reference=reference).first()
        )
        if application is None:
            raise CallbackRejected("unknown_job", "no such print job", 404)
        if application.data_version != version:
            return False  # about a superseded data version: nothing to do
        if status == "rejected":
            if application.status in {Status.QUEUED_FOR_PRINTING, Status.SENT_TO_CENTRAL,
                                      Status.PRINTING}:
                reason = str(payload.get("reason") or "rejected by central")[:300]
                application.needs_attention(reason=reason, actor=Actor.CENTRAL)
                return True
            return False
        return application.advance_from_central(
            CALLBACK_STATUSES[status], note=f"central: {status}"
        )
