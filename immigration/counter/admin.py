"""The operators' console for the counter: schedule, slots, closed days and the tariff table
are editable; payments, handovers and the audit are read-only records."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from immigration.counter.models import (
    ClosedDay,
    CounterEvent,
    CounterSettings,
    Handover,
    Payment,
    QuotaSlot,
    Tariff,
    Ticket,
)


@admin.register(CounterSettings)
class CounterSettingsAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("office", "timezone", "booking_window_days", "first_hour", "last_hour",
                    "capacity_regular", "capacity_express", "capacity_priority",
                    "requires_signoff")


@admin.register(QuotaSlot)
class QuotaSlotAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("office", "date", "hour", "lane", "capacity", "booked")
    list_filter = ("office", "lane")
    date_hierarchy = "date"
    readonly_fields = ("booked",)  # only bookings move it (conditional UPDATEs)


@admin.register(ClosedDay)
class ClosedDayAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("office", "date", "note")
    list_filter = ("office",)


@admin.register(Tariff)
class TariffAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ("code", "label", "amount", "passport_type", "service", "active",
                    "legal_basis")
    list_editable = ("amount", "active")


class ReadOnly(admin.ModelAdmin):  # type: ignore[type-arg]
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnly):
    list_display = ("key", "office", "amount", "method", "billing_code", "receipt_no", "clerk",
                    "paid_at", "billing_state")
    list_filter = ("office", "billing_state", "method")
    list_select_related = ("clerk",)


@admin.register(Ticket)
class TicketAdmin(ReadOnly):
    list_display = ("number", "office", "day", "lane", "purpose", "state", "counter")
    list_filter = ("office", "day", "state")


@admin.register(Handover)
class HandoverAdmin(ReadOnly):
    list_display = ("application", "recipient", "letter_no", "by", "at")
    exclude = ("proxy_name", "proxy_id_number")


@admin.register(CounterEvent)
class CounterEventAdmin(ReadOnly):
    list_display = ("at", "office", "action", "application", "user", "note")
    list_filter = ("office", "action")
    list_select_related = ("application", "user")
