"""The backup file: a clear, authenticated header, then the payload sealed in segments.

    MAGIC | u32 header length | header JSON | (u32 length | AES-256-GCM segment)*

The header says which backup key sealed the file (its version in BACKUP_KEYS), holds a random
salt from which the file's own key is derived (HKDF-SHA256), and carries the manifest (when,
which database, which migrations), readable without the key so operators can list backups.
The payload is cut into segments of at most SEGMENT_BYTES, each sealed on its own, so neither
writing nor reading ever holds more than one segment in memory. This is the STREAM
construction (Hoang, Reyhanitabar, Rogaway, Vizar 2015), as in Tink's streaming AEAD and age:
- the nonce is the segment's counter plus a "last segment" flag, so segments cannot be
  reordered, dropped or repeated, and a file cut short is detected (its end is not flagged);
- every segment's associated data is the SHA-256 of magic and header, so an edited header
  (say, a manifest claiming another database) fails at the first segment;
- the last segment is a trailer holding the payload's size and SHA-256, checked on reading.
Hand-written over `cryptography`'s AESGCM (some 100 lines) rather than pulling in Tink, whose
Python package brings protobuf and a large native library for this one primitive.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from immigration.versioned_keys import parse_versioned_keys

MAGIC = b"TANGGUH-BACKUP\n\x01"
FORMAT = 1
SEGMENT_BYTES = 1024 * 1024
_TAG = 16
_MAX_HEADER = 1024 * 1024
_LENGTH = struct.Struct(">I")


class BackupRefused(Exception):
    """The file is not a backup we can trust: wrong key, altered, cut short, or not ours."""


@dataclass(frozen=True)
class BackupKeys:
    """BACKUP_KEYS: "version:base64key,..."; the first seals, all are tried by version."""

    keys: dict[int, bytes]
    current: int

    @classmethod
    def parse(cls, spec: str) -> BackupKeys:
        keys, current = parse_versioned_keys(spec, name="BACKUP_KEYS")
        return cls(keys, current)


def _file_key(master: bytes, salt: bytes) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=salt,
                info=b"tangguh-backup-file-key-v1").derive(master)


def _key_check(file_key: bytes) -> str:
    # Tells "wrong key" from "altered file" before any segment is opened.
    return hmac.new(file_key, b"key-check", hashlib.sha256).hexdigest()[:32]


def _nonce(counter: int, last: bool) -> bytes:
    return counter.to_bytes(11, "big") + (b"\x01" if last else b"\x00")


class ArchiveWriter:
    """Seal a payload into `out` (an open binary file). Call `write` any number of times, then
    `close` (which writes the trailer). A file left without `close` does not authenticate as
    a whole: readers refuse it as cut short."""

    def __init__(self, out: IO[bytes], *, keys: BackupKeys, manifest: dict[str, Any]) -> None:
        salt = os.urandom(32)
        file_key = _file_key(keys.keys[keys.current], salt)
        header = json.dumps({
            "format": FORMAT,
            "cipher": "AES-256-GCM STREAM, HKDF-SHA256 file key",
            "key_version": keys.current,
            "salt": base64.b64encode(salt).decode(),
            "key_check": _key_check(file_key),
            "segment_bytes": SEGMENT_BYTES,
            "manifest": manifest,
        }, sort_keys=True).encode()
        self._out = out
        self._aead = AESGCM(file_key)
        self._aad = hashlib.sha256(MAGIC + header).digest()
        self._buffer = bytearray()
        self._counter = 0
        self._hash = hashlib.sha256()
        self.payload_bytes = 0
        self.written = 0
        self._emit(MAGIC + _LENGTH.pack(len(header)) + header)

    def _emit(self, data: bytes) -> None:
        self._out.write(data)
        self.written += len(data)

    def _seal(self, plaintext: bytes, *, last: bool) -> None:
        sealed = self._aead.encrypt(_nonce(self._counter, last), plaintext, self._aad)
        self._counter += 1
        self._emit(_LENGTH.pack(len(sealed)))
        self._emit(sealed)

    def write(self, data: bytes) -> None:
        self._hash.update(data)
        self.payload_bytes += len(data)
        self._buffer += data
        while len(self._buffer) >= SEGMENT_BYTES:
            self._seal(bytes(self._buffer[:SEGMENT_BYTES]), last=False)
            del self._buffer[:SEGMENT_BYTES]

    def close(self) -> str:
        """Seal what is left and the trailer; returns the payload's SHA-256 (hex)."""
        if self._buffer:
            self._seal(bytes(self._buffer), last=False)
            self._buffer.clear()
        digest = self._hash.hexdigest()
        trailer = json.dumps({"payload_bytes": self.payload_bytes, "sha256": digest}).encode()
        self._seal(trailer, last=True)
        return digest


@dataclass
class ArchiveReader:
    """Open a backup from `source` (a binary file positioned at its start). `manifest` is
    readable at once; `payload()` yields the verified plaintext segment by segment and raises
    BackupRefused at the first segment that fails, or at the end if the trailer disagrees."""

    source: IO[bytes]
    header: dict[str, Any]
    header_bytes: bytes
    # Set once the whole payload was read and matched it: {"payload_bytes", "sha256"}.
    trailer: dict[str, Any] | None = None

    @classmethod
    def open(cls, source: IO[bytes]) -> ArchiveReader:
        magic = source.read(len(MAGIC))
        if magic != MAGIC:
            raise BackupRefused("not a Tangguh backup file (or a format this version does not "
                                "know)")
        length = _read_length(source, what="header")
        if length is None or length > _MAX_HEADER:
            raise BackupRefused("the backup's header is damaged")
        header_bytes = source.read(length)
        try:
            header = json.loads(header_bytes)
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ValueError("unknown format")
        except ValueError as exc:
            raise BackupRefused("the backup's header is damaged") from exc
        return cls(source, header, header_bytes)

    @property
    def manifest(self) -> dict[str, Any]:
        manifest = self.header.get("manifest")
        return manifest if isinstance(manifest, dict) else {}

    @property
    def key_version(self) -> int:
        return int(self.header.get("key_version", -1))

    def unlock(self, keys: BackupKeys) -> AESGCM:
        master = keys.keys.get(self.key_version)
        if master is None:
            raise BackupRefused(
                f"this backup was sealed with backup key version {self.key_version}, which "
                f"BACKUP_KEYS does not hold (it has: {', '.join(map(str, sorted(keys.keys)))})")
        try:
            salt = base64.b64decode(str(self.header["salt"]), validate=True)
        except (KeyError, ValueError, binascii.Error) as exc:
            raise BackupRefused("the backup's header is damaged") from exc
        file_key = _file_key(master, salt)
        if not hmac.compare_digest(_key_check(file_key), str(self.header.get("key_check"))):
            raise BackupRefused(
                f"wrong backup key: BACKUP_KEYS version {self.key_version} is not the key this "
                "backup was sealed with (or its header was altered)")
        return AESGCM(file_key)

    def payload(self, keys: BackupKeys) -> Iterator[bytes]:
        aead = self.unlock(keys)
        aad = hashlib.sha256(MAGIC + self.header_bytes).digest()
        digest = hashlib.sha256()
        size = 0
        counter = 0
        first = self._segment(counter)
        if first is None:
            raise BackupRefused("the backup is cut short: it holds no data")
        pending: bytes = first
        while True:
            following = self._segment(counter + 1)
            last = following is None
            try:
                plaintext = aead.decrypt(_nonce(counter, last), pending, aad)
            except InvalidTag as exc:
                where = "its end is missing (cut short)" if last else f"segment {counter}"
                raise BackupRefused(f"the backup was altered or damaged: {where} does not "
                                    "authenticate") from exc
            if last:
                self._check_trailer(plaintext, size, digest.hexdigest())
                return
            digest.update(plaintext)
            size += len(plaintext)
            yield plaintext
            assert following is not None
            pending, counter = following, counter + 1

    def _segment(self, counter: int) -> bytes | None:
        length = _read_length(self.source, what=f"segment {counter}")
        if length is None:
            return None
        if length > SEGMENT_BYTES + _TAG or length < _TAG:
            raise BackupRefused(f"the backup was altered or damaged at segment {counter}")
        sealed = self.source.read(length)
        if len(sealed) != length:
            raise BackupRefused("the backup is cut short")
        return sealed

    def _check_trailer(self, plaintext: bytes, size: int, sha256: str) -> None:
        try:
            trailer = json.loads(plaintext)
            ok = trailer["payload_bytes"] == size and trailer["sha256"] == sha256
        except (ValueError, KeyError, TypeError) as exc:
            raise BackupRefused("the backup's trailer is damaged") from exc
        if not ok:
            raise BackupRefused("the backup's content does not match its recorded SHA-256")
        self.trailer = trailer


def _read_length(source: IO[bytes], *, what: str) -> int | None:
    raw = source.read(_LENGTH.size)
    if not raw:
        return None
    if len(raw) != _LENGTH.size:
        raise BackupRefused(f"the backup is cut short (in {what})")
    return int(_LENGTH.unpack(raw)[0])
