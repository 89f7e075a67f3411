"""File content at rest: AES-256-GCM chunk by chunk, with the versioned personal-data keys.

Each chunk is sealed on its own (fresh nonce) with the current key of PII_KEYS; its row records
the key version, so rotation can find and re-seal old chunks (`manage.py rotate_dossier_keys`),
and its identity (file id and index, or upload id and start) is bound into the associated
data, so chunks cannot be swapped or moved between files without failing to decrypt.

Nothing here holds a whole file: writers flush every CHUNK_SIZE bytes, readers load one chunk
(or a small batch of them) at a time.
"""

from __future__ import annotations

import bisect
import hashlib
import io
import os
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from cryptography.exceptions import InvalidTag

from immigration.dossier.models import DossierFile, FileChunk, PendingChunk, PendingUpload
from immigration.personal_data import keyring

CHUNK_SIZE = 64 * 1024
_READ_BATCH = 8  # chunks fetched per query when streaming a file out: 512 KB at most


class CorruptChunk(Exception):
    """A chunk failed to decrypt: wrong key, tampered or moved ciphertext."""


def seal_chunk(plaintext: bytes, *, context: str) -> tuple[int, bytes]:
    ring = keyring()
    assert ring.current is not None
    nonce = os.urandom(12)
    return ring.current, nonce + ring.keys[ring.current].encrypt(nonce, plaintext,
                                                                   context.encode())


def open_chunk(key_version: int, sealed: bytes | memoryview, *, context: str) -> bytes:
    blob = bytes(sealed)
    try:
        return keyring().keys[key_version].decrypt(blob[:12], blob[12:], context.encode())
    except (KeyError, InvalidTag) as exc:
        raise CorruptChunk(f"chunk {context} cannot be decrypted with the keys") from exc


def file_chunk_context(file_id: int, index: int) -> str:
    return f"dossier-file:{file_id}:{index}"


def pending_chunk_context(upload_id: uuid.UUID, start: int) -> str:
    return f"dossier-upload:{upload_id}:{start}"


# --- files ----------------------------------------------------------------------------------


class FileWriter(io.RawIOBase):
    """Write-only stream into a new file's chunks (inside the caller's transaction). Pillow
    encodes straight into it; at most one chunk is buffered."""

    def __init__(self, file: DossierFile) -> None:
        super().__init__()
        self._file = file
        self._buffer = bytearray()
        self._index = 0
        self._hash = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data: bytes | bytearray | memoryview) -> int:  # type: ignore[override]
        self._buffer += data
        self._hash.update(data)
        self.size += len(data)
        while len(self._buffer) >= CHUNK_SIZE:
            self._flush_chunk(bytes(self._buffer[:CHUNK_SIZE]))
            del self._buffer[:CHUNK_SIZE]
        return len(data)

    def tell(self) -> int:
        return self.size

    def _flush_chunk(self, plaintext: bytes) -> None:
        version, sealed = seal_chunk(plaintext,
                                     context=file_chunk_context(self._file.pk, self._index))
        FileChunk.objects.create(file=self._file, index=self._index, key_version=version,
                                 data=sealed)
        self._index += 1

    def finish(self) -> tuple[int, str]:
        """Store the last partial chunk; returns (size, sha256 hex)."""
        if self._buffer:
            self._flush_chunk(bytes(self._buffer))
            self._buffer.clear()
        return self.size, self._hash.hexdigest()


def open_chunks(file: DossierFile, *, offset: int = 0,
                chunk_size: int = CHUNK_SIZE) -> Iterator[bytes]:
    """The file's plaintext from `offset`, in pieces of at most `chunk_size` bytes."""
    if offset < 0 or chunk_size <= 0:
        raise ValueError("offset must be >= 0 and chunk_size > 0")
    index, skip = divmod(offset, CHUNK_SIZE)
    pending = bytearray()
    while True:
        rows = list(
            FileChunk.objects.filter(file=file, index__gte=index,
                                     index__lt=index + _READ_BATCH)
            .order_by("index").values_list("index", "key_version", "data")
        )
        if not rows:
            break
        for row_index, version, sealed in rows:
            if row_index != index:
                raise CorruptChunk(f"file {file.pk} lacks chunk {index}")
            plaintext = open_chunk(version, sealed, context=file_chunk_context(file.pk, index))
            pending += plaintext[skip:]
            skip = 0
            index += 1
            while len(pending) >= chunk_size:
                yield bytes(pending[:chunk_size])
                del pending[:chunk_size]
    if pending:
        yield bytes(pending)


# --- a seekable reader over sealed chunks (Pillow reads images from it) ---------------------


@dataclass(frozen=True)
class _Span:
    start: int
    length: int
    load: Callable[[], bytes]


class ChunkReader(io.RawIOBase):
    """Read-only, seekable view of plaintext spread over sealed chunks, decrypting one chunk at
    a time on demand. Wrap it in io.BufferedReader for small reads."""

    def __init__(self, spans: list[_Span]) -> None:
        super().__init__()
        self._spans = spans
        self._starts = [s.start for s in spans]
        self.size = spans[-1].start + spans[-1].length if spans else 0
        self._pos = 0
        self._cached: tuple[int, bytes] | None = None

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def tell(self) -> int:
        return self._pos

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.size}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def readinto(self, buffer: memoryview | bytearray) -> int:  # type: ignore[override]
        if self._pos >= self.size:
            return 0
        i = bisect.bisect_right(self._starts, self._pos) - 1
        if self._cached is None or self._cached[0] != i:
            self._cached = (i, self._spans[i].load())
        data = self._cached[1]
        inner = self._pos - self._spans[i].start
        n = min(len(buffer), len(data) - inner)
        buffer[:n] = data[inner : inner + n]
        self._pos += n
        return n


def file_reader(file: DossierFile) -> io.BufferedReader:
    def loader(index: int) -> Callable[[], bytes]:
        def load() -> bytes:
            version, sealed = FileChunk.objects.values_list("key_version", "data").get(
                file=file, index=index)
            return open_chunk(version, sealed, context=file_chunk_context(file.pk, index))
        return load

    count = -(-file.size // CHUNK_SIZE)
    spans = [_Span(i * CHUNK_SIZE, min(CHUNK_SIZE, file.size - i * CHUNK_SIZE), loader(i))
             for i in range(count)]
    return io.BufferedReader(ChunkReader(spans), buffer_size=CHUNK_SIZE)


# --- pending uploads ------------------------------------------------------------------------


def pending_append(upload: PendingUpload, *, start: int, data: bytes,
                   write_id: uuid.UUID) -> None:
    """Store one piece of a PATCH body, not yet counted (see `PendingChunk.committed`)."""
    version, sealed = seal_chunk(data, context=pending_chunk_context(upload.pk, start))
    PendingChunk.objects.create(upload=upload, start=start, length=len(data), write_id=write_id,
                                key_version=version, data=sealed)


def pending_reader(upload: PendingUpload, *, write_id: uuid.UUID | None = None,
                   start: int = 0, end: int | None = None) -> io.BufferedReader:
    """The upload's bytes: its committed chunks below `start` plus, from `start`, those of the
    request `write_id` in progress (without `write_id`: every committed chunk), up to `end`.
    Raises CorruptChunk when they do not form one contiguous run."""
    from django.db.models import Q

    # A request racing this one may have committed rows past `start` meanwhile: not ours.
    wanted = (Q(committed=True, start__lt=start) | Q(write_id=write_id) if write_id
              else Q(committed=True))
    rows = list(upload.chunks.filter(wanted).order_by("start").values_list("pk", "start",
                                                                           "length"))
    spans: list[_Span] = []
    position = 0
    for pk, start, length in rows:
        if end is not None and start >= end:
            break
        if start != position:
            raise CorruptChunk(f"upload {upload.pk} has a gap at byte {position}")

        def load(pk: int = pk, start: int = start) -> bytes:
            version, sealed = PendingChunk.objects.values_list("key_version", "data").get(pk=pk)
            return open_chunk(version, sealed, context=pending_chunk_context(upload.pk, start))

        spans.append(_Span(start, length, load))
        position += length
    return io.BufferedReader(ChunkReader(spans), buffer_size=CHUNK_SIZE)


def stream_sha256(stream: io.BufferedIOBase) -> tuple[int, str]:
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while block := stream.read(CHUNK_SIZE):
        digest.update(block)
        size += len(block)
    stream.seek(0)
    return size, digest.hexdigest()


# --- key rotation ---------------------------------------------------------------------------


def chunks_reseal(*, batch: int = 32) -> int:
    """Re-seal every chunk (files and pending uploads) not sealed with the current key.
    Small transactions of `batch` chunks (at most 2 MB of plaintext in memory), so the office
    keeps working meanwhile. Returns how many chunks were re-sealed."""
    from django.db import transaction

    current = keyring().current
    done = 0
    sources: list[tuple[Any, Callable[[Any], str]]] = [
        (FileChunk, lambda c: file_chunk_context(c.file_id, c.index)),
        (PendingChunk, lambda c: pending_chunk_context(c.upload_id, c.start)),
    ]
    for model, context in sources:
        while True:
            with transaction.atomic():
                chunks = list(model.objects.select_for_update()
                              .exclude(key_version=current).order_by("pk")[:batch])
                for chunk in chunks:
                    plaintext = open_chunk(chunk.key_version, chunk.data, context=context(chunk))
                    chunk.key_version, chunk.data = seal_chunk(plaintext,
                                                               context=context(chunk))
                    chunk.save(update_fields=["key_version", "data"])
            done += len(chunks)
            if len(chunks) < batch:
                break
    return done
