"""Outbox console: read-only rows, with an action that retries dead letters properly."""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from queueing.dead_letters import NotDead, dead_letter_retry
from queueing.models import OutboxMessage, UpstreamHealth, UpstreamOutage


@admin.register(OutboxMessage)
class OutboxMessageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["id", "topic", "key", "priority", "status", "attempts", "next_attempt_at",
                    "last_error"]
    list_filter = ["status", "topic", "priority"]
    search_fields = ["key"]
    actions = ["retry_dead"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in OutboxMessage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    @admin.action(description="Retry selected dead letters")
    def retry_dead(self, request: HttpRequest, queryset: QuerySet[OutboxMessage]) -> None:
        retried = 0
        for message in queryset:
            try:
                dead_letter_retry(message_id=message.pk)
                retried += 1
            except NotDead:
                continue
        self.message_user(request, f"{retried} dead letter(s) requeued", messages.SUCCESS)


@admin.register(UpstreamHealth)
class UpstreamHealthAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["upstream", "state", "since", "note"]


@admin.register(UpstreamOutage)
class UpstreamOutageAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    # History written by the breaker (queueing/outages.py): read-only here.
    list_display = ["upstream", "opened_at", "closed_at", "reason"]
    list_filter = ["upstream"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        return [f.name for f in UpstreamOutage._meta.fields]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
