"""The operators' console. Personal data is never listed; status history is read-only."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from immigration.models import (
    Announcement,
    IdempotencyRecord,
    Office,
    PassportApplication,
    StaffMembership,
    StatusEvent,
)


@admin.register(Office)
class OfficeAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["code", "name", "registration_open", "express_open", "pickup_open"]


@admin.register(StaffMembership)
class StaffMembershipAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "office"]
    list_select_related = ["user", "office"]


@admin.register(Announcement)
class AnnouncementAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["office", "message", "created_at", "active"]
    list_select_related = ["office"]


class StatusEventInline(admin.TabularInline):  # type: ignore[type-arg]
    model = StatusEvent
    fields = ("at", "from_status", "to_status", "actor", "user", "note")
    readonly_fields = ("at", "from_status", "to_status", "actor", "user", "note")
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PassportApplication)
class PassportApplicationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    # Encrypted fields cannot be searched or sorted; the reference is the handle.
    list_display = ["reference", "office", "service", "status", "submitted_at"]
    list_filter = ["status", "service", "office"]
    list_select_related = ["office"]
    search_fields = ["reference"]
    readonly_fields = ["reference", "status", "data_version", "submitted_at", "approved_at",
                       "attention_reason"]
    exclude = ["access_code_hash"]
    inlines = [StatusEventInline]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["key", "scope", "response_status", "created_at", "expires_at"]
    exclude = ["response_body"]  # holds an access code

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
