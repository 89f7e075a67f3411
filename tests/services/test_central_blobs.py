"""Central's content-addressed blobs (HEAD/PATCH /v1/blobs/{sha256}), jobs that name them,
and the simulator's emulated thin link, all against the real simulator process."""

from __future__ import annotations

import gc
import hashlib
import os
import time
import tracemalloc
from collections.abc import Iterator

import httpx
import pytest

from services.base import UpstreamError
from services.central_printing import BLOB_CONTENT_TYPE, MissingBlobs
from services.signing import sign_headers
from tests.fixtures.central import make_print_job

CHUNK = 16 * 1024


@pytest.fixture
def client(central):
    with central.client(timeout=5.0, connect_timeout=2.0) as client:
        yield client


def photo_bytes(size: int = 60 * 1024) -> bytes:
    # Siti's passport photo, as far as central can tell: opaque bytes with a JPEG header.
    return b"\xff\xd8\xff\xe0" + os.urandom(size - 4)


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def chunks_of(data: bytes, size: int = CHUNK):
    def chunks(offset: int) -> Iterator[bytes]:
        for start in range(offset, len(data), size):
            yield data[start : start + size]

    return chunks


def file_ref(data: bytes, media_type: str = "image/jpeg") -> dict[str, object]:
    return {"sha256": sha(data), "size": len(data), "media_type": media_type}


def test_blob_sent_in_chunks_is_held_byte_for_byte(central, client):
    photo = photo_bytes()
    assert client.blob_state(sha(photo)) is None

    sent = client.send_blob(sha(photo), size=len(photo), chunks=chunks_of(photo))

    assert sent.sent_bytes == len(photo) and not sent.already_held
    state = client.blob_state(sha(photo))
    assert (state.offset, state.length, state.complete) == (len(photo), len(photo), True)
    assert central.control.blob_bytes(sha(photo)) == photo
    record = central.control.blobs()[sha(photo)]
    assert record["completions"] == 1
    assert record["bytes_received"] == len(photo)
    assert record["bytes_discarded"] == 0


def test_upload_resumes_from_centrals_offset(central, client):
    photo = photo_bytes()
    client.patch_blob(sha(photo), offset=0, length=len(photo), chunk=photo[:CHUNK])

    sent = client.send_blob(sha(photo), size=len(photo), chunks=chunks_of(photo))

    assert sent.sent_bytes == len(photo) - CHUNK
    assert central.control.blobs()[sha(photo)]["bytes_received"] == len(photo)
    assert central.control.blob_bytes(sha(photo)) == photo


def test_wrong_offset_is_a_transient_conflict_naming_centrals_offset(central, client):
    photo = photo_bytes()
    client.patch_blob(sha(photo), offset=0, length=len(photo), chunk=photo[:CHUNK])

    with pytest.raises(UpstreamError) as caught:
        client.patch_blob(sha(photo), offset=2 * CHUNK, length=len(photo),
                          chunk=photo[2 * CHUNK : 3 * CHUNK])

    assert caught.value.status == 409
    assert caught.value.code == "offset_mismatch"
    assert not caught.value.permanent
    assert client.blob_state(sha(photo)).offset == CHUNK


def test_hash_mismatch_at_last_byte_discards_the_blob(central, client):
    photo = photo_bytes()
    tampered = photo[:-1] + bytes([photo[-1] ^ 0xFF])

    with pytest.raises(UpstreamError) as caught:
        client.send_blob(sha(photo), size=len(photo), chunks=chunks_of(tampered))

    assert caught.value.status == 460
    assert caught.value.code == "checksum_mismatch"
    assert caught.value.permanent
    assert client.blob_state(sha(photo)) is None
    assert central.control.blob_bytes(sha(photo)) is None


def test_complete_blob_patched_again_is_idempotent(central, client):
    signature = photo_bytes(10 * 1024)
    client.send_blob(sha(signature), size=len(signature), chunks=chunks_of(signature))

    assert client.patch_blob(sha(signature), offset=0, length=len(signature),
                             chunk=signature) == len(signature)
    again = client.send_blob(sha(signature), size=len(signature), chunks=chunks_of(signature))

    assert again.already_held and again.sent_bytes == 0
    record = central.control.blobs()[sha(signature)]
    assert record["completions"] == 1  # never completed twice
    assert central.control.blob_bytes(sha(signature)) == signature


def test_unsigned_or_mistyped_blob_calls_are_refused(central):
    photo = photo_bytes(1024)
    url = f"{central.base_url}/v1/blobs/{sha(photo)}"
    blob_headers = {"content-type": BLOB_CONTENT_TYPE, "upload-offset": "0",
                    "upload-length": str(len(photo))}

    assert httpx.head(url).status_code == 401
    assert httpx.patch(url, content=photo, headers=blob_headers).status_code == 401
    forged = {**sign_headers(central.secret, b"other bytes"), **blob_headers}
    assert httpx.patch(url, content=photo, headers=forged).status_code == 401
    as_json = {**sign_headers(central.secret, photo), **blob_headers,
               "content-type": "application/json"}
    assert httpx.patch(url, content=photo, headers=as_json).status_code == 415
    bad_name = f"{central.base_url}/v1/blobs/NOT-A-HASH"
    assert httpx.head(bad_name, headers=sign_headers(central.secret, b"")).status_code == 400
    assert central.control.blobs() == {}


def test_job_naming_blobs_central_lacks_is_transiently_refused(central, client):
    photo, signature = photo_bytes(), photo_bytes(10 * 1024)
    job = make_print_job(photo=file_ref(photo), signature=file_ref(signature, "image/png"),
                         documents=[{"kind": "ktp", **file_ref(b"ktp scan")}])
    client.send_blob(sha(photo), size=len(photo), chunks=chunks_of(photo))

    with pytest.raises(MissingBlobs) as caught:
        client.submit(job)

    assert not caught.value.permanent
    assert caught.value.missing == (sha(signature),)  # documents stay at the office
    assert central.control.stats()["jobs"] == 0

    client.send_blob(sha(signature), size=len(signature), chunks=chunks_of(signature))
    assert client.submit(job).created
    assert client.submit(job).created is False  # replay: same key, same body


def test_batch_refuses_only_the_job_missing_its_blobs(client):
    held, lacking = photo_bytes(2048), photo_bytes(2048)
    client.send_blob(sha(held), size=len(held), chunks=chunks_of(held))
    ready = make_print_job(photo=file_ref(held))
    waiting = make_print_job(photo=file_ref(lacking))

    first, second = client.submit_batch([ready, waiting])

    assert first.created
    assert isinstance(second, MissingBlobs) and not second.permanent
    assert second.missing == (sha(lacking),)


def test_badly_described_photo_is_permanently_invalid(client):
    job = make_print_job(photo={"sha256": "abc", "size": 1, "media_type": "image/jpeg"})

    with pytest.raises(UpstreamError) as caught:
        client.submit(job)

    assert caught.value.permanent and caught.value.status == 422
    assert "photo.sha256" in caught.value.detail


def test_inventory_lists_blobs_and_restore_loses_later_ones(central, client):
    kept, lost = photo_bytes(4096), photo_bytes(4096)
    client.send_blob(sha(kept), size=len(kept), chunks=chunks_of(kept))
    before = make_print_job(photo=file_ref(kept))
    client.submit(before)
    central.control.restore_point()
    client.send_blob(sha(lost), size=len(lost), chunks=chunks_of(lost))
    partial = photo_bytes(4096)
    client.patch_blob(sha(partial), offset=0, length=len(partial), chunk=partial[:100])

    central.control.restore()  # ransomware: back to the old backup

    assert client.blob_state(sha(kept)).complete
    assert client.blob_state(sha(lost)) is None
    assert client.blob_state(sha(partial)) is None
    ledger = central.control.blobs()
    assert ledger[sha(lost)]["losses"] == 1 and ledger[sha(lost)]["completions"] == 1
    assert ledger[sha(kept)]["losses"] == 0
    [job] = client.inventory("NNK").jobs
    assert job["blobs"] == [sha(kept)] and job["missing_blobs"] == []


def test_inventory_says_which_blobs_of_a_job_central_lost(central, client):
    photo = photo_bytes(4096)
    central.control.restore_point()  # the backup predates Siti's photo
    client.send_blob(sha(photo), size=len(photo), chunks=chunks_of(photo))
    job = make_print_job(photo=file_ref(photo))
    client.submit(job)
    central.control.restore()
    # Central lost the job and the photo; the office sends both again.
    client.send_blob(sha(photo), size=len(photo), chunks=chunks_of(photo))
    client.submit(job)

    [listed] = client.inventory("NNK").jobs
    assert listed["blobs"] == [sha(photo)] and listed["missing_blobs"] == []
    record = central.control.blobs()[sha(photo)]
    assert (record["completions"], record["losses"]) == (2, 1)


def test_cut_link_loses_at_most_the_chunk_in_flight(central, client):
    photo = photo_bytes()
    central.control.configure(cut_after_bytes=CHUNK + 5000)

    with pytest.raises(UpstreamError) as caught:
        client.send_blob(sha(photo), size=len(photo), chunks=chunks_of(photo))
    assert not caught.value.permanent
    assert central.control.config()["cut_after_bytes"] is None  # one-shot
    assert client.blob_state(sha(photo)).offset == CHUNK  # the cut chunk was not kept

    resumed = client.send_blob(sha(photo), size=len(photo), chunks=chunks_of(photo))

    assert resumed.sent_bytes == len(photo) - CHUNK
    assert central.control.blob_bytes(sha(photo)) == photo
    stats = central.control.stats()
    assert stats["link"]["cuts"] == 1
    assert stats["link"]["cut_bytes"] == 5000  # the part of the second chunk that got through
    assert stats["calls"]["by_outcome"]["cut"] == 1
    # What crossed the link beyond the blob itself is the part of the one cut chunk.
    assert stats["link"]["bytes"] - len(photo) <= CHUNK


def test_link_rate_is_shared_and_paces_uploads(central, client):
    data = photo_bytes(40 * 1024)
    central.control.configure(link_kbps=320)  # 40 KB/s

    started = time.monotonic()
    client.send_blob(sha(data), size=len(data), chunks=chunks_of(data))
    elapsed = time.monotonic() - started

    # Only a lower bound: the link must not be faster than configured (busy CI is slower).
    assert elapsed >= 0.85
    assert central.control.stats()["link"]["bytes"] == len(data)


def test_link_latency_is_added_per_request(central, client):
    central.control.configure(link_latency_ms=300)

    started = time.monotonic()
    client.blob_state(sha(b"nothing"))

    assert time.monotonic() - started >= 0.3


def test_fault_knobs_apply_to_blob_calls(central, client):
    photo = photo_bytes(4096)
    central.control.configure(mode="down", retry_after=2)
    with pytest.raises(UpstreamError) as down:
        client.blob_state(sha(photo))
    assert down.value.status == 503 and down.value.retry_after == 2
    with pytest.raises(UpstreamError) as down_patch:
        client.patch_blob(sha(photo), offset=0, length=len(photo), chunk=photo)
    assert down_patch.value.status == 503 and not down_patch.value.permanent

    central.control.configure(mode="drop")
    with pytest.raises(UpstreamError) as dropped:
        client.patch_blob(sha(photo), offset=0, length=len(photo), chunk=photo)
    assert dropped.value.ambiguous

    central.control.configure(mode="up")
    # The dropped PATCH was committed: resuming finds the blob complete and sends nothing.
    assert client.send_blob(sha(photo), size=len(photo), chunks=chunks_of(photo)).already_held
    assert central.control.blob_bytes(sha(photo)) == photo


def test_a_large_blob_is_streamed_never_held_whole(central, client):
    # Scanned old passports of 1 MB and 8 MB, produced and hashed chunk by chunk, never joined:
    # what the client holds while sending must not grow with the blob.
    chunk = 64 * 1024

    def piece(i: int, salt: int) -> bytes:
        return hashlib.sha256(bytes([salt]) + i.to_bytes(4, "big")).digest() * (chunk // 32)

    def peak_while_sending(count: int, salt: int) -> int:
        digest = hashlib.sha256()
        for i in range(count):
            digest.update(piece(i, salt))

        def chunks(offset: int) -> Iterator[bytes]:
            for i in range(offset // chunk, count):
                yield piece(i, salt)

        gc.collect()
        tracemalloc.start()
        try:
            sent = client.send_blob(digest.hexdigest(), size=chunk * count, chunks=chunks)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        assert sent.sent_bytes == chunk * count
        assert client.blob_state(digest.hexdigest()).complete
        return peak

    warm_up = photo_bytes(1024)  # first-call imports and the pooled connection, not measured
    client.send_blob(sha(warm_up), size=len(warm_up), chunks=chunks_of(warm_up))
    small, large = peak_while_sending(16, salt=1), peak_while_sending(128, salt=2)
    # Finished requests wait for the garbage collector, so the peak is a few dozen chunks
    # whatever the size (its exact figure depends on the Python version's collector): eight
    # times the bytes must not come near eight times the memory, nor near the blob itself.
    assert large < 2 * small + 2 * 1024 * 1024, (small, large)
    assert large < chunk * 128 // 2, (small, large)
