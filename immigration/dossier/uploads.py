"""Resumable uploads (tus 1.0) on top of the chunk storage: the domain half of the tus server.

`PendingUpload.offset` is the only truth about how many bytes the office holds. A PATCH streams
its body into chunk rows marked with its own `write_id`, then commits them in one short
transaction that re-checks the offset under the row lock (two PATCHes racing for the same
offset: one wins, the other gets 409). Long writes never hold a lock or a transaction open, so
a slow phone on a thin link does not block the office's database (SQLite has one writer).

A body cut short (the link dropped) keeps what arrived, unless the request carried an
Upload-Checksum (then nothing of it can be trusted). The request that brings the last byte
checks the whole file (SHA-256 against the declared one, then the content) and, in one
transaction, counts its bytes, stores the file and marks the upload done: nothing half-stored
ever becomes visible, and a crash anywhere leaves the upload resumable from its last offset.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from immigration.dossier import content
from immigration.dossier.content import MAX_BYTES, ContentRejected
from immigration.dossier.files import ensure_open, file_store
from immigration.dossier.models import PendingChunk, PendingUpload
from immigration.dossier.storage import CHUNK_SIZE, pending_append, pending_reader, stream_sha256
from immigration.models import PassportApplication

# At most this many unfinished uploads per application: a phone retrying in a loop (or
# someone holding a valid access code) cannot fill the database with abandoned uploads.
MAX_OPEN_UPLOADS = 20


def upload_ttl() -> dt.timedelta:
    return dt.timedelta(hours=float(getattr(settings, "DOSSIER_UPLOAD_TTL_HOURS", 48)))


def upload_create(*, application: PassportApplication, kind: str, length: int,
                  declared_sha256: str, declared_type: str = "", by: Any = None) -> PendingUpload:
    if length > MAX_BYTES:
        raise ContentRejected("too_large", _("Files are limited to 10 MB."), 413)
    if length <= 0:
        raise ContentRejected("empty_file", _("The file is empty."), 400)
    ensure_open(application)
    now = timezone.now()
    open_uploads = PendingUpload.objects.filter(application=application, file__isnull=True,
                                                expires_at__gt=now).count()
    if open_uploads >= MAX_OPEN_UPLOADS:
        raise ContentRejected("too_many_uploads",
                              _("Too many unfinished uploads for this application; finish or "
                                "cancel some first."), 429)
    staff = by if by is not None and getattr(by, "is_authenticated", False) else None
    return PendingUpload.objects.create(
        application=application, kind=kind, length=length, declared_sha256=declared_sha256,
        declared_type=declared_type, created_by=staff, expires_at=now + upload_ttl())


def ensure_live(upload: PendingUpload) -> None:
    if upload.expires_at <= timezone.now():
        raise ContentRejected("upload_expired",
                              _("This upload expired; start it again."), 410)


def upload_discard(upload: PendingUpload) -> None:
    """Forget the upload and every byte of it (termination, or content refused at the end)."""
    PendingUpload.objects.filter(pk=upload.pk).delete()


def _offset_mismatch(held: int) -> ContentRejected:
    return ContentRejected("offset_mismatch",
                           _("Upload-Offset does not match the %(held)d bytes the office holds; "
                             "ask with HEAD and resume from there.") % {"held": held}, 409)


def upload_append(*, upload: PendingUpload, offset: int, length: int,
                  read: Callable[[int], bytes], checksum: bytes | None = None) -> PendingUpload:
    """Append a PATCH body of `length` bytes at `offset`; `read(n)` yields it piece by piece
    (b"" or OSError when the client went away). `checksum` is the SHA-256 the client sent for
    this body (Upload-Checksum). Returns the upload as it now stands; raises ContentRejected."""
    ensure_live(upload)
    if upload.file_id is not None:
        if offset == upload.length and length == 0:
            return upload  # a repeat of the final empty PATCH: already complete
        raise _offset_mismatch(upload.length)
    if offset != upload.offset:
        raise _offset_mismatch(upload.offset)
    if offset + length > upload.length:
        raise ContentRejected("upload_length_exceeded",
                              _("The body goes beyond the declared Upload-Length."), 413)

    write_id = uuid.uuid4()
    digest = hashlib.sha256()
    received = 0
    cut = False
    while received < length:
        try:
            block = read(min(CHUNK_SIZE, length - received))
        except OSError:  # the connection broke mid-body (gunicorn raises, wsgiref returns b"")
            block = b""
        if not block:
            cut = True
            break
        if offset + received == 0 and len(block) >= 8:
            try:  # refuse a wrong type at once, not after 10 MB on a thin link
                content.check_type(block, kind=upload.kind, declared=upload.declared_type)
            except ContentRejected:
                upload_discard(upload)
                raise
        pending_append(upload, start=offset + received, data=block, write_id=write_id)
        digest.update(block)
        received += len(block)

    if checksum is not None and (cut or digest.digest() != checksum):
        PendingChunk.objects.filter(upload=upload, write_id=write_id).delete()
        raise ContentRejected("checksum_mismatch",
                              _("The body does not match its Upload-Checksum; nothing of it "
                                "was kept."), 460)
    end = offset + received
    if end == upload.length:
        return _finish(upload, start=offset, end=end, write_id=write_id)
    return _commit(upload, start=offset, end=end, write_id=write_id)


def _commit(upload: PendingUpload, *, start: int, end: int,
            write_id: uuid.UUID) -> PendingUpload:
    with transaction.atomic():
        locked = PendingUpload.objects.select_for_update().get(pk=upload.pk)
        overtaken = locked.offset != start or locked.file_id is not None
        if not overtaken:
            PendingChunk.objects.filter(upload=upload, write_id=write_id).update(committed=True)
            locked.offset = end
            locked.expires_at = timezone.now() + upload_ttl()  # activity keeps it alive
            locked.save(update_fields=["offset", "expires_at"])
    if overtaken:  # another request got there first: drop ours (outside the rolled-back block)
        PendingChunk.objects.filter(upload=upload, write_id=write_id).delete()
        raise _offset_mismatch(locked.length if locked.file_id else locked.offset)
    return locked


def _finish(upload: PendingUpload, *, start: int, end: int,
            write_id: uuid.UUID) -> PendingUpload:
    reader = pending_reader(upload, write_id=write_id, start=start)
    try:
        size, sha256 = stream_sha256(reader)
        if size != end:
            raise _offset_mismatch(upload.offset)  # another writer's rows: let it win
        if sha256 != upload.declared_sha256:
            raise ContentRejected("checksum_mismatch",
                                  _("The file's SHA-256 does not match the declared one; the "
                                    "upload was discarded."), 460)
        # Decoding happens here, outside the transaction: only encoding runs under the lock.
        inspected = content.inspect(reader, size=size, kind=upload.kind,
                                    declared=upload.declared_type)
        with transaction.atomic():
            locked = (PendingUpload.objects.select_for_update().select_related("application")
                      .get(pk=upload.pk))
            if locked.offset != start or locked.file_id is not None:
                raise _offset_mismatch(locked.offset)
            locked.file = file_store(application=locked.application, kind=locked.kind,
                                     inspected=inspected, by=locked.created_by)
            locked.offset = end
            locked.save(update_fields=["offset", "file"])
            # The content now lives in the file; the upload stays (without bytes) until it
            # expires so that a client whose last response was lost learns it is complete.
            PendingChunk.objects.filter(upload=locked).delete()
        return locked
    except ContentRejected as refused:
        if refused.code == "offset_mismatch":
            PendingChunk.objects.filter(upload=upload, write_id=write_id).delete()
        else:
            upload_discard(upload)  # the whole file is wrong: resuming cannot mend it
        raise


def uploads_purge_expired(*, now: dt.datetime | None = None, batch: int = 200) -> int:
    """Delete expired uploads with their chunks (and done uploads' tombstones)."""
    now = now or timezone.now()
    purged = 0
    while True:
        ids = list(PendingUpload.objects.filter(expires_at__lte=now)
                   .values_list("pk", flat=True)[:batch])
        if not ids:
            return purged
        PendingChunk.objects.filter(upload_id__in=ids).delete()
        purged += PendingUpload.objects.filter(pk__in=ids).delete()[1].get(
            "dossier.PendingUpload", 0)
