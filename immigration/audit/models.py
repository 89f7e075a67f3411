"""Audit entries and the head of the hash chain they share with the status events.

Both entries and status events are appended without any lock; `seq` and `chain_hash` stay empty
until the sealer links them (see chain.py). Nothing else ever updates these rows.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

GENESIS = "0" * 64


class AuditEntry(models.Model):
    """One staff (or system) action on personal data, reads included."""

    at = models.DateTimeField(default=timezone.now)
    # PROTECT everywhere: a sealed entry that changed because a row it points to was deleted
    # (SET_NULL, CASCADE) would read as tampering, and the history must outlive the people.
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT,
        related_name="+",
    )
    action = models.CharField(max_length=64)
    office = models.ForeignKey(
        "immigration.Office", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    application = models.ForeignKey(
        "immigration.PassportApplication", null=True, blank=True, on_delete=models.PROTECT,
        related_name="audit_entries",
    )
    detail = models.JSONField(default=dict, blank=True)
    # Set once by the sealer: position in the chain and the link hash. The partial indexes
    # serve verify's walk in seq order and the sealer's look-up of what is still unsealed
    # (a plain index over id would make it scan every sealed row first).
    seq = models.BigIntegerField(null=True, blank=True, editable=False)
    chain_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    class Meta:
        ordering = ["id"]
        verbose_name_plural = "audit entries"
        constraints = [
            models.UniqueConstraint(fields=["seq"], condition=Q(seq__isnull=False),
                                    name="auditentry_seq_unique"),
        ]
        indexes = [
            models.Index(fields=["application", "at"], name="audit_application_at"),
            models.Index(fields=["id"], condition=Q(seq__isnull=True), name="auditentry_unsealed"),
        ]

    def __str__(self) -> str:
        return f"{self.action} #{self.pk}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if self.pk is not None:
            raise RuntimeError("audit entries are append-only")
        super().save(*args, **kwargs)


class ChainHead(models.Model):
    """The last sealed link: one row (pk 1), locked by the sealer while it extends the chain."""

    seq = models.BigIntegerField(default=0)
    hash = models.CharField(max_length=64, default=GENESIS)
    sealed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"#{self.seq} {self.hash[:12]}"
