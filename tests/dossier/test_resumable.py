"""Real resumable uploads against the live server with tuspy (a well-kept tus client): pieces
with SHA-256 checksums, a connection cut at an arbitrary byte and resumed from the server's
offset (never from zero), and memory that stays bounded while a ~9 MB file is stored."""

from __future__ import annotations

import hashlib
import io
import socket
import tracemalloc
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests
from django.contrib.auth.models import User
from tusclient.client import TusClient

from immigration.dossier.models import DossierFile, FileChunk, PendingChunk, PendingUpload
from immigration.dossier.storage import CHUNK_SIZE, open_chunks
from tests.conftest import api_token
from tests.dossier.conftest import Submitted
from tests.dossier.tus import Sha256Uploader, metadata
from tests.fixtures.dossier import small_jpeg, small_pdf

pytestmark = pytest.mark.django_db(transaction=True)


def _endpoint(live_server: Any) -> str:
    return f"{live_server.url}/api/v1/uploads/"


def _uploader(live_server: Any, headers: dict[str, str], data: bytes, *, reference: str,
              kind: str, url: str | None = None, chunk_size: int = 100_000) -> Sha256Uploader:
    client = TusClient(_endpoint(live_server), headers=headers)
    return Sha256Uploader(file_stream=io.BytesIO(data), client=client, url=url,
                          chunk_size=chunk_size, upload_checksum=True,
                          metadata={"reference": reference, "kind": kind,
                                    "sha256": hashlib.sha256(data).hexdigest(),
                                    "filename": f"{kind}.pdf"})


def _stored(kind: str) -> bytes:
    return b"".join(open_chunks(DossierFile.objects.current().get(kind=kind)))


def test_siti_uploads_a_document_with_tuspy_in_checksummed_pieces(
    live_server: Any, siti_application: Submitted,
) -> None:
    data = small_pdf(padding=450_000)
    uploader = _uploader(live_server, {"X-Access-Code": siti_application.access_code}, data,
                         reference=siti_application.reference, kind="kk", chunk_size=150_000)
    uploader.upload()
    assert uploader.offset == len(data)
    assert _stored("kk") == data


def test_bambang_uploads_the_photo_with_his_token(
    live_server: Any, siti_application: Submitted, bambang: User,
) -> None:
    token = api_token(bambang)
    data = small_jpeg(width=600, height=800, seed=11)
    uploader = _uploader(live_server, {"Authorization": f"Token {token}"}, data,
                         reference=siti_application.reference, kind="photo", chunk_size=4096)
    uploader.metadata["filename"] = "photo.jpg"
    uploader.upload()
    photo = DossierFile.objects.get(kind="photo")
    assert photo.media_type == "image/jpeg" and photo.state == "checked"


def _cut_patch(live_server: Any, url: str, body: bytes, *, offset: int, send: int,
               headers: dict[str, str]) -> None:
    """A PATCH announcing the whole body whose connection dies after `send` bytes."""
    parts = urlsplit(url)
    head = [f"PATCH {parts.path} HTTP/1.1", f"Host: {parts.netloc}", "Tus-Resumable: 1.0.0",
            f"Upload-Offset: {offset}", "Content-Type: application/offset+octet-stream",
            f"Content-Length: {len(body)}", *[f"{k}: {v}" for k, v in headers.items()]]
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(("\r\n".join(head) + "\r\n\r\n").encode() + body[:send])
        sock.shutdown(socket.SHUT_WR)  # the link drops: no more bytes will come
        while sock.recv(65536):  # wait until the server has dealt with what arrived
            pass


@pytest.mark.parametrize("cut_at", [1, 65_535, 65_537, 333_333])
def test_an_upload_cut_at_any_byte_resumes_from_the_servers_offset(
    live_server: Any, siti_application: Submitted, cut_at: int,
) -> None:
    data = small_pdf(padding=500_000)
    headers = {"X-Access-Code": siti_application.access_code}
    created = requests.post(_endpoint(live_server), timeout=30, headers={
        **headers, "Tus-Resumable": "1.0.0", "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata(reference=siti_application.reference, kind="ktp",
                                    sha256=hashlib.sha256(data).hexdigest())})
    assert created.status_code == 201
    url = live_server.url + created.headers["Location"]

    _cut_patch(live_server, url, data, offset=0, send=cut_at, headers=headers)
    assert not DossierFile.objects.exists()  # nothing half-stored is visible

    # The phone comes back: tuspy asks the server (HEAD) where to go on from.
    uploader = _uploader(live_server, headers, data, reference=siti_application.reference,
                         kind="ktp", url=url)
    assert uploader.offset == cut_at
    uploader.upload()
    assert _stored("ktp") == data
    assert not PendingUpload.objects.filter(file__isnull=True).exists()


def test_a_cut_piece_with_a_checksum_is_dropped_whole_and_resent(
    live_server: Any, siti_application: Submitted,
) -> None:
    data = small_pdf(padding=200_000)
    headers = {"X-Access-Code": siti_application.access_code}
    uploader = _uploader(live_server, headers, data, reference=siti_application.reference,
                         kind="ktp", chunk_size=100_000)
    uploader.upload(stop_at=100_000)
    body = data[100_000:]
    digest = hashlib.sha256(body).digest()
    import base64

    _cut_patch(live_server, uploader.url, body, offset=100_000, send=5000,
               headers={**headers, "Upload-Checksum": "sha256 " + base64.b64encode(digest)
                        .decode()})
    assert uploader.get_offset() == 100_000  # an unverifiable piece is not kept
    uploader.upload()
    assert _stored("ktp") == data


def test_storing_a_9_mb_upload_never_holds_it_whole(
    live_server: Any, siti_application: Submitted, tmp_path: Any,
) -> None:
    """Structural: every stored piece is one chunk, and the process's peak of Python
    allocations while a ~9 MB document streams in and is stored stays a small fraction of it
    (an implementation that buffered the body, or the file, would show at least its size)."""
    data = small_pdf(padding=9 * 1024 * 1024)
    path = tmp_path / "scan.pdf"
    path.write_bytes(data)
    headers = {"X-Access-Code": siti_application.access_code, "Tus-Resumable": "1.0.0"}
    created = requests.post(_endpoint(live_server), timeout=30, headers={
        **headers, "Upload-Length": str(len(data)),
        "Upload-Metadata": metadata(reference=siti_application.reference, kind="kk",
                                    sha256=hashlib.sha256(data).hexdigest())})
    url = live_server.url + created.headers["Location"]
    half = len(data) // 2

    tracemalloc.start()
    try:
        with path.open("rb") as body:  # requests streams a file object in small blocks
            first = requests.patch(url, data=io.BufferedReader(_Slice(body, 0, half)),
                                   timeout=120, headers={
                **headers, "Upload-Offset": "0", "Content-Length": str(half),
                "Content-Type": "application/offset+octet-stream"})
            assert first.status_code == 204
            pieces = list(PendingChunk.objects.values_list("length", flat=True))
            assert len(pieces) >= half // CHUNK_SIZE and max(pieces) <= CHUNK_SIZE
            body.seek(half)
            second = requests.patch(url, data=body, timeout=120, headers={
                **headers, "Upload-Offset": str(half),
                "Content-Length": str(len(data) - half),
                "Content-Type": "application/offset+octet-stream"})
            assert second.status_code == 204, second.text
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    stored = DossierFile.objects.get()
    assert stored.size == len(data) > 9 * 1024 * 1024
    chunks = FileChunk.objects.filter(file=stored)
    assert chunks.count() == -(-len(data) // CHUNK_SIZE)
    print(f"peak Python allocations {peak} bytes while storing {len(data)} bytes")
    assert peak < len(data) // 3, f"peak {peak} bytes for a {len(data)}-byte file"
    digest = hashlib.sha256()
    for piece in open_chunks(stored):
        digest.update(piece)
    assert digest.hexdigest() == hashlib.sha256(data).hexdigest()


class _Slice(io.RawIOBase):
    """The first `length` bytes of an open file from `start`, read in small blocks."""

    def __init__(self, file: Any, start: int, length: int) -> None:
        super().__init__()
        self._file = file
        self._left = length
        file.seek(start)

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        n = min(len(buffer), self._left)
        data = self._file.read(n)
        buffer[: len(data)] = data
        self._left -= len(data)
        return len(data)
