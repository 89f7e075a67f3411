"""Dossier files and the uploads that become them.

A `DossierFile` exists only once its content is complete, verified and committed; its bytes
live in `FileChunk` rows (AES-GCM per chunk, see storage.py), so files are in the same database
and the same backup as the application they belong to. Partial uploads live in `PendingUpload`
and `PendingChunk` and are never shown as files.
"""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from immigration.models import ApplicationType, PassportApplication


class Kind(models.TextChoices):
    KTP = "ktp", "KTP"
    KK = "kk", "Kartu Keluarga"
    BIRTH_CERTIFICATE = "birth_certificate", "Akta kelahiran"
    DIPLOMA = "diploma", "Ijazah"
    MARRIAGE_CERTIFICATE = "marriage_certificate", "Akta/buku nikah"
    OLD_PASSPORT = "old_passport", "Paspor lama"
    PHOTO = "photo", "Foto"
    SIGNATURE = "signature", "Tanda tangan"


# Taken at the counter by staff; applicants upload documents only.
COUNTER_KINDS = frozenset({Kind.PHOTO, Kind.SIGNATURE})
DOCUMENT_KINDS = frozenset(set(Kind) - COUNTER_KINDS)


class MediaType(models.TextChoices):
    JPEG = "image/jpeg", "JPEG"
    PNG = "image/png", "PNG"
    PDF = "application/pdf", "PDF"


class FileState(models.TextChoices):
    RECEIVED = "received", "received"
    CHECKED = "checked", "checked"
    REFUSED = "refused", "refused"


class Requirement(models.Model):
    """One line of the office's rules: an application of this type needs a file of one of
    `kinds` ("birth_certificate|diploma|marriage_certificate" means any one of them). Photo and
    signature are always required and are not listed here. Editable in the admin."""

    application_type = models.CharField(max_length=24, choices=ApplicationType.choices)
    kinds = models.CharField(max_length=200, help_text="kinds separated by |: any one suffices")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["application_type", "position", "id"]
        constraints = [
            models.UniqueConstraint(fields=["application_type", "kinds"],
                                    name="dossier_requirement_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.application_type}: {self.kinds}"

    @property
    def kind_set(self) -> frozenset[str]:
        return frozenset(k for k in self.kinds.split("|") if k)

    def clean(self) -> None:
        unknown = self.kind_set - set(Kind.values)
        if unknown or not self.kind_set:
            raise ValidationError({"kinds": f"unknown kinds: {', '.join(sorted(unknown))}"})


class DossierFileQuerySet(models.QuerySet["DossierFile"]):
    def current(self) -> DossierFileQuerySet:
        """The files that count: a newer file of the same kind supersedes the older one."""
        return self.filter(superseded_at__isnull=True)


class DossierFile(models.Model):
    application = models.ForeignKey(PassportApplication, on_delete=models.CASCADE,
                                    related_name="dossier_files")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    media_type = models.CharField(max_length=24, choices=MediaType.choices)
    size = models.PositiveBigIntegerField(default=0)
    # Lowercase hex SHA-256 of the stored plaintext (after metadata stripping): the blob name
    # at central.
    sha256 = models.CharField(max_length=64, db_index=True)
    state = models.CharField(max_length=10, choices=FileState.choices,
                             default=FileState.RECEIVED)
    refusal_reason = models.CharField(max_length=300, blank=True, default="")
    checked_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    checked_at = models.DateTimeField(null=True, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    superseded_at = models.DateTimeField(null=True, blank=True)

    objects = DossierFileQuerySet.as_manager()

    class Meta:
        ordering = ["application", "kind", "-created_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["application", "kind"],
                                    condition=Q(superseded_at__isnull=True),
                                    name="dossier_one_current_file_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} of application {self.application_id} ({self.state})"


class FileChunk(models.Model):
    """`index`-th CHUNK_SIZE piece of a file's plaintext, sealed with PII key `key_version`;
    the file id and index are bound into the AES-GCM associated data."""

    file = models.ForeignKey(DossierFile, on_delete=models.CASCADE, related_name="chunks")
    index = models.PositiveIntegerField()
    key_version = models.PositiveSmallIntegerField()
    data = models.BinaryField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["file", "index"], name="dossier_chunk_unique"),
        ]

    def __str__(self) -> str:
        return f"chunk {self.index} of file {self.file_id}"


class PendingUpload(models.Model):
    """A tus upload in progress. `offset` is the only truth about how many bytes are held;
    chunk rows past it (a PATCH cut or refused mid-way) are ignored and purged."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    application = models.ForeignKey(PassportApplication, on_delete=models.CASCADE,
                                    related_name="+")
    kind = models.CharField(max_length=24, choices=Kind.choices)
    length = models.PositiveBigIntegerField()
    offset = models.PositiveBigIntegerField(default=0)
    declared_sha256 = models.CharField(max_length=64)
    declared_type = models.CharField(max_length=24, blank=True, default="")
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField(db_index=True)
    # Set when the upload became a file: the upload is kept (without chunks) until it expires,
    # so a client whose last response was lost learns from HEAD that it is complete.
    file = models.ForeignKey(DossierFile, null=True, blank=True, on_delete=models.SET_NULL,
                             related_name="+")

    def __str__(self) -> str:
        return f"upload {self.id} ({self.offset}/{self.length})"


class PendingChunk(models.Model):
    upload = models.ForeignKey(PendingUpload, on_delete=models.CASCADE, related_name="chunks")
    start = models.PositiveBigIntegerField()
    length = models.PositiveIntegerField()
    # Rows of one PATCH request; they count only once that request committed them.
    write_id = models.UUIDField()
    committed = models.BooleanField(default=False)
    key_version = models.PositiveSmallIntegerField()
    data = models.BinaryField()

    class Meta:
        indexes = [models.Index(fields=["upload", "committed", "start"],
                                name="dossier_pending_chunk_order")]

    def __str__(self) -> str:
        return f"{self.length} bytes at {self.start} of upload {self.upload_id}"
