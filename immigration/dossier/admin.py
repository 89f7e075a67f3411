"""Operators edit the document rules here. Files are listed without content: documents are
viewed by counter staff through the API (attachment, no-store), never in the admin."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from immigration.dossier.models import DossierFile, PendingUpload, Requirement


@admin.register(Requirement)
class RequirementAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["application_type", "kinds", "position"]
    list_editable = ["kinds", "position"]
    list_filter = ["application_type"]


@admin.register(DossierFile)
class DossierFileAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["application", "kind", "state", "media_type", "size", "created_at",
                    "superseded_at"]
    list_filter = ["kind", "state"]
    list_select_related = ["application"]
    readonly_fields = ["application", "kind", "media_type", "size", "sha256", "state",
                       "refusal_reason", "checked_by", "checked_at", "uploaded_by",
                       "created_at", "superseded_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # An applicant's document goes only through the domain (superseded by a new upload,
        # or removed by the retention policy), never silently from here.
        return False


@admin.register(PendingUpload)
class PendingUploadAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "application", "kind", "offset", "length", "expires_at", "file"]
    list_select_related = ["application"]
    readonly_fields = ["application", "kind", "offset", "length", "declared_sha256",
                       "declared_type", "created_by", "expires_at", "file"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
