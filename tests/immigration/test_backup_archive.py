"""The backup file format on its own: what goes in comes out, and anything else is refused."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import tracemalloc

import pytest

from immigration.backup import archive
from immigration.backup.archive import ArchiveReader, ArchiveWriter, BackupKeys, BackupRefused

KEYS = BackupKeys.parse("2:" + base64.b64encode(b"k" * 32).decode()
                        + ",1:" + base64.b64encode(b"o" * 32).decode())
MANIFEST = {"database": {"vendor": "sqlite"}, "counts": {"applications": 3}}


@pytest.fixture(autouse=True)
def _small_segments(monkeypatch):
    monkeypatch.setattr(archive, "SEGMENT_BYTES", 1000)


def _seal(payload: bytes, keys: BackupKeys = KEYS) -> bytes:
    out = io.BytesIO()
    writer = ArchiveWriter(out, keys=keys, manifest=MANIFEST)
    for start in range(0, len(payload), 777):
        writer.write(payload[start : start + 777])
    writer.close()
    return out.getvalue()


def _open(sealed: bytes, keys: BackupKeys = KEYS) -> bytes:
    reader = ArchiveReader.open(io.BytesIO(sealed))
    return b"".join(reader.payload(keys))


def _segments(sealed: bytes) -> tuple[bytes, list[bytes]]:
    """(magic + header, [length-prefixed segments])"""
    header_length = int.from_bytes(sealed[len(archive.MAGIC) : len(archive.MAGIC) + 4], "big")
    at = len(archive.MAGIC) + 4 + header_length
    head, parts = sealed[:at], []
    while at < len(sealed):
        length = int.from_bytes(sealed[at : at + 4], "big")
        parts.append(sealed[at : at + 4 + length])
        at += 4 + length
    return head, parts


def test_payload_comes_back_whole_with_its_manifest_and_sha256():
    payload = os.urandom(5_500)
    sealed = _seal(payload)
    reader = ArchiveReader.open(io.BytesIO(sealed))
    assert reader.manifest == MANIFEST
    assert reader.key_version == 2
    assert b"".join(reader.payload(KEYS)) == payload
    assert reader.trailer == {"payload_bytes": 5_500,
                              "sha256": hashlib.sha256(payload).hexdigest()}
    assert payload not in sealed and payload[:100] not in sealed


def test_an_empty_payload_round_trips():
    assert _open(_seal(b"")) == b""


def test_an_older_key_still_opens_backups_it_sealed():
    old_only = BackupKeys.parse("1:" + base64.b64encode(b"o" * 32).decode())
    assert _open(_seal(b"x" * 3000, old_only)) == b"x" * 3000  # KEYS lists version 1 second


def test_a_wrong_key_is_named_as_such():
    other = BackupKeys.parse("2:" + base64.b64encode(b"z" * 32).decode())
    with pytest.raises(BackupRefused, match="wrong backup key"):
        _open(_seal(b"data"), other)


def test_a_key_version_not_held_is_named():
    other = BackupKeys.parse("7:" + base64.b64encode(b"z" * 32).decode())
    with pytest.raises(BackupRefused, match="key version 2, which BACKUP_KEYS does not hold"):
        _open(_seal(b"data"), other)


@pytest.mark.parametrize("offset", [0, 500, 2_100, -20])
def test_any_flipped_byte_in_the_data_is_refused(offset):
    sealed = bytearray(_seal(os.urandom(3_000)))
    head, _ = _segments(bytes(sealed))
    position = (len(head) + 4 + offset) if offset >= 0 else len(sealed) + offset
    sealed[position] ^= 0x01
    with pytest.raises(BackupRefused, match="damaged"):
        _open(bytes(sealed))


def test_an_edited_manifest_is_refused():
    sealed = _seal(b"y" * 2_000)
    edited = sealed.replace(b'"applications": 3', b'"applications": 9')
    assert edited != sealed
    with pytest.raises(BackupRefused):
        _open(edited)


def test_segments_cannot_be_dropped_reordered_or_cut_off():
    head, parts = _segments(_seal(os.urandom(4_500)))
    assert len(parts) == 6  # five of data, the trailer
    with pytest.raises(BackupRefused, match="segment 1"):
        _open(head + parts[0] + parts[2] + parts[1] + b"".join(parts[3:]))
    with pytest.raises(BackupRefused, match="segment 2"):
        _open(head + b"".join(parts[:2] + parts[3:]))
    with pytest.raises(BackupRefused, match="cut short"):
        _open(head + b"".join(parts[:-1]))  # the trailer gone: the end is not flagged
    with pytest.raises(BackupRefused, match="cut short"):
        _open(head + b"".join(parts)[:-7])
    with pytest.raises(BackupRefused):
        _open(head + b"".join(parts) + parts[-1])  # something after the end


def test_not_a_backup_at_all():
    with pytest.raises(BackupRefused, match="not a Tangguh backup"):
        _open(b"PGDMP" + os.urandom(100))


def test_streaming_holds_one_segment_not_the_payload(monkeypatch):
    monkeypatch.setattr(archive, "SEGMENT_BYTES", 256 * 1024)
    total = 24 * 1024 * 1024
    block = os.urandom(256 * 1024)
    sink = _CountingSink()
    tracemalloc.start()
    try:
        writer = ArchiveWriter(sink, keys=KEYS, manifest=MANIFEST)
        for _ in range(total // len(block)):
            writer.write(block)
        writer.close()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert sink.size > total
    # A few segments' worth (buffer, plaintext, ciphertext), never the 24 MB.
    assert peak < 5 * 256 * 1024, peak


class _CountingSink(io.RawIOBase):
    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:
        self.size += len(data)
        return len(data)
