"""Photo and signature reach central before the print job that names them, through the outbox,
resumed from central's offset after any failure, against the real simulator."""

from __future__ import annotations

import datetime as dt
from dataclasses import replace
from io import StringIO

import pytest
import redis
from django.conf import settings as django_settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.utils import timezone

from immigration import printing
from immigration.dossier.models import DossierFile, Kind
from immigration.dossier.storage import open_chunks
from immigration.models import PRINT_JOB_TOPIC, PassportApplication
from immigration.printing import print_job
from queueing import deliver, topics
from queueing.models import MessageStatus, OutboxMessage
from queueing.topics import RetryLater
from services.central_printing import MissingBlobs
from services.signing import new_secret
from tests.conftest import _reset_client, application_payload
from tests.fixtures.approvable import make_approvable
from tests.fixtures.dossier import dossier_store, small_jpeg
from tests.fixtures.photos import passport_photo

pytestmark = pytest.mark.django_db(transaction=True)

_seed = iter(range(1000, 100000))


def _approve(submit, bambang_api, *, service: str = "regular",
             extra: tuple[str, ...] = ()) -> PassportApplication:
    reference = submit(application_payload(service=service)).json()["reference"]
    bambang = User.objects.get(username="bambang")
    make_approvable(reference, bambang)
    application = PassportApplication.objects.get(reference=reference)
    # Bambang retakes Siti's photo at the counter: a photo of her own, tens of kilobytes.
    dossier_store(application, "photo", passport_photo(next(_seed)), by=bambang)
    for kind in extra:
        dossier_store(application, kind, small_jpeg(seed=next(_seed)), by=bambang)
    assert bambang_api.post(f"/api/v1/applications/{reference}/approve").status_code == 200
    return application


def _file(application: PassportApplication, kind: str) -> DossierFile:
    return DossierFile.objects.get(application=application, kind=kind, superseded_at=None)


def _office_bytes(file: DossierFile) -> bytes:
    return b"".join(open_chunks(file))


def _status(application: PassportApplication) -> str:
    application.refresh_from_db()
    return application.status


def _assert_central_holds_exactly(wired, application: PassportApplication) -> None:
    ledger = wired.control.blobs()
    for kind in (Kind.PHOTO, Kind.SIGNATURE):
        file = _file(application, kind)
        assert wired.control.blob_bytes(file.sha256) == _office_bytes(file)
        assert ledger[file.sha256]["completions"] - ledger[file.sha256]["losses"] == 1


def test_photo_and_signature_reach_central_byte_for_byte_before_the_job(
    wired, submit, bambang_api
):
    siti = _approve(submit, bambang_api)

    deliver.drain(budget_seconds=10)

    assert _status(siti) == "sent_to_central"
    _assert_central_holds_exactly(wired, siti)
    photo, signature = _file(siti, Kind.PHOTO), _file(siti, Kind.SIGNATURE)
    with wired.client() as client:
        [job] = client.inventory("NNK").jobs
    assert job["blobs"] == [photo.sha256, signature.sha256]
    assert job["missing_blobs"] == []
    calls = wired.control.stats()["calls"]["by_path"]
    assert calls["HEAD /v1/blobs/{sha256}"] == 2


def test_print_job_names_photo_signature_and_document_hashes(wired, submit, bambang_api):
    siti = _approve(submit, bambang_api, extra=("ktp",))
    ktp = _file(siti, "ktp")
    siti.refresh_from_db()

    job = print_job(siti)

    photo = _file(siti, Kind.PHOTO)
    assert job["photo"] == {"sha256": photo.sha256, "size": photo.size,
                            "media_type": photo.media_type}
    assert job["signature"]["sha256"] == _file(siti, Kind.SIGNATURE).sha256
    kinds = [d["kind"] for d in job["documents"]]
    assert kinds == sorted(kinds)
    assert {"kind": "ktp", "sha256": ktp.sha256, "size": ktp.size,
            "media_type": ktp.media_type} in job["documents"]


def test_cut_link_resumes_from_centrals_offset_losing_at_most_a_chunk(
    wired, submit, bambang_api, settings
):
    settings.CENTRAL_BLOB_CHUNK_BYTES = 4096
    siti = _approve(submit, bambang_api)
    photo = _file(siti, Kind.PHOTO)
    assert photo.size > 3 * 4096
    wired.control.configure(cut_after_bytes=2 * 4096 + 1000)  # mid third chunk of the photo

    deliver.drain(budget_seconds=2)  # the cut fails one round; its retry may follow at once
    OutboxMessage.objects.update(next_attempt_at=timezone.now())
    deliver.drain(budget_seconds=10)

    assert _status(siti) == "sent_to_central"
    _assert_central_holds_exactly(wired, siti)
    assert wired.control.stats()["calls"]["by_outcome"]["cut"] == 1
    record = wired.control.blobs()[photo.sha256]
    assert record["bytes_received"] - photo.size <= 4096
    assert wired.control.stats()["link"]["cuts"] == 1


def test_worker_dying_mid_blob_is_resumed_by_the_next_worker(wired, submit, bambang_api):
    siti = _approve(submit, bambang_api)
    photo = _file(siti, Kind.PHOTO)
    # A worker claimed the job, sent the first 8 KB of the photo, and was SIGKILLed.
    message = OutboxMessage.objects.get(topic=PRINT_JOB_TOPIC)
    OutboxMessage.objects.filter(pk=message.pk).update(
        status=MessageStatus.IN_FLIGHT, lease_token="dead-worker",
        lease_until=timezone.now() - dt.timedelta(seconds=1), attempts=1,
    )
    first = next(open_chunks(photo, chunk_size=8192))
    with wired.client() as client:
        client.patch_blob(photo.sha256, offset=0, length=photo.size, chunk=first)

    deliver.drain(budget_seconds=10)  # the lease ran out: the next worker takes over

    assert _status(siti) == "sent_to_central"
    _assert_central_holds_exactly(wired, siti)
    assert wired.control.blobs()[photo.sha256]["bytes_received"] == photo.size  # no byte twice


def test_central_losing_its_blobs_is_repaired_by_reconcile(wired, submit, bambang_api):
    siti = _approve(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    wired.control.restore_point()
    wired.control.restore(all_blobs=True)  # the job survived; the photo store had no backup

    out = StringIO()
    call_command("reconcile", "--office", "NNK", stdout=out)
    assert f"photo/signature re-sent for 1: {siti.reference}" in out.getvalue()
    deliver.drain(budget_seconds=10)

    assert _status(siti) == "sent_to_central"  # central never lost the job itself
    _assert_central_holds_exactly(wired, siti)
    assert wired.control.stats()["print_counts"] == {siti.print_job_key: 1}
    again = StringIO()
    call_command("reconcile", stdout=again)
    assert "photo/signature re-sent for 0" in again.getvalue()


def test_central_losing_job_and_blobs_gets_both_again(wired, submit, bambang_api):
    wired.control.restore_point()  # the backup predates Siti's approval
    siti = _approve(submit, bambang_api)
    deliver.drain(budget_seconds=10)
    assert wired.control.restore() == 1

    call_command("reconcile", stdout=StringIO())
    deliver.drain(budget_seconds=10)

    assert _status(siti) == "sent_to_central"
    _assert_central_holds_exactly(wired, siti)


def test_express_dossiers_go_first(wired, submit, bambang_api):
    topic = topics.get(PRINT_JOB_TOPIC)
    topics.register(replace(topic, batch_size=1))
    try:
        regular = _approve(submit, bambang_api)
        express = _approve(submit, bambang_api, service="express")
        deliver.drain(budget_seconds=10)
    finally:
        topics.register(topic)

    with wired.client() as client:
        jobs = client.inventory("NNK").jobs
    assert [j["reference"] for j in jobs] == [express.reference, regular.reference]


def test_blob_bytes_are_charged_to_the_shared_byte_budget(wired, submit, bambang_api, settings):
    settings.QUEUEING = {**settings.QUEUEING, "BYTE_BUDGETS": {"central_printing": 10_000_000}}
    _approve(submit, bambang_api)

    deliver.drain(budget_seconds=10)

    shared = redis.Redis.from_url(django_settings.QUEUEING["REDIS_URL"], decode_responses=True)
    assert shared.hget("queueing:bytes:central_printing", "tokens") is not None


def test_round_out_of_time_defers_the_rest_without_counting_an_attempt(
    wired, submit, bambang_api, settings
):
    # A lease so short that a round has time for one dossier only (a very thin link).
    settings.QUEUEING = {**settings.QUEUEING, "LEASE_SECONDS": 0.001}
    applications = [_approve(submit, bambang_api) for _ in range(3)]

    report = deliver.deliver_batch(topics.get(PRINT_JOB_TOPIC))

    assert report.delivered == 1
    waiting = OutboxMessage.objects.filter(topic=PRINT_JOB_TOPIC, status=MessageStatus.PENDING)
    assert waiting.count() == 2
    assert set(waiting.values_list("attempts", flat=True)) == {0}  # deferred, not failed
    assert waiting.filter(next_attempt_at__gt=timezone.now()).count() == 0  # due again now
    deliver.drain(budget_seconds=10)
    assert {_status(a) for a in applications} == {"sent_to_central"}
    for application in applications:
        _assert_central_holds_exactly(wired, application)


def test_missing_blobs_from_central_is_retried_not_refused():
    outcome = printing._outcome(MissingBlobs("POST /v1/print-jobs: HTTP 409",
                                             missing=["a" * 64]))

    assert isinstance(outcome, RetryLater)
    assert outcome.retry_after == printing.MISSING_BLOBS_RETRY_SECONDS


def test_blob_refused_for_a_wrong_secret_is_an_outage_not_a_dead_letter(
    wired, submit, bambang_api, settings
):
    siti = _approve(submit, bambang_api)
    _reset_client()
    settings.CENTRAL_PRINTING_SECRET = new_secret()  # misconfigured: central answers 401
    try:
        deliver.deliver_batch(topics.get(PRINT_JOB_TOPIC))
    finally:
        _reset_client()

    message = OutboxMessage.objects.get(topic=PRINT_JOB_TOPIC)
    assert message.status == MessageStatus.PENDING
    assert _status(siti) == "queued_for_printing"
    assert wired.control.blobs() == {}
