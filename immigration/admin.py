"""The operators' console. Personal data is never listed and never edited here; status history
is read-only; every change made here is audited (immigration/audit/admin_log.py)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils.html import format_html
from rest_framework.exceptions import ValidationError

from immigration.api.serializers import applicant_rules
from immigration.audit import audit_record
from immigration.corrections import application_resubmit
from immigration.lifecycle import Status
from immigration.models import (
    Announcement,
    IdempotencyRecord,
    IllegalTransition,
    NikInUse,
    Office,
    PassportApplication,
    Sex,
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
    fields = ("at", "from_status", "to_status", "actor", "user", "note", "seq")
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class CorrectionForm(forms.Form):
    """The applicant's record as staff may correct it; validated by the submission's own rules
    (immigration.api.serializers.applicant_rules) when applied."""

    nik = forms.CharField(max_length=16)
    full_name = forms.CharField(max_length=200)
    sex = forms.ChoiceField(choices=Sex.choices)
    date_of_birth = forms.CharField(max_length=10, help_text="YYYY-MM-DD")
    place_of_birth = forms.CharField(max_length=100)
    mother_name = forms.CharField(max_length=200)
    address = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))
    phone = forms.CharField(max_length=20)
    email = forms.CharField(max_length=254, required=False)


@admin.register(PassportApplication)
class PassportApplicationAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """Read-only. Editing the decrypted fields here skipped everything the domain does (status
    event, data version, NIK blind index); the one change offered, correcting the applicant's
    data, goes through `application_resubmit` like the counter's. Opening an application here
    is a read of personal data, so it is audited like the counter's."""

    # Encrypted fields cannot be searched or sorted; the reference is the handle.
    list_display = ["reference", "office", "service", "status", "submitted_at"]
    list_filter = ["status", "service", "office"]
    list_select_related = ["office"]
    search_fields = ["reference"]
    exclude = ["access_code_hash"]
    readonly_fields = ["correction"]
    inlines = [StatusEventInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # applications come in through intake (phone or walk-in), never here

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Every application has history (its events, audit entries); the model PROTECTs it too.
        return False

    @admin.display(description="Correction")
    def correction(self, obj: PassportApplication) -> str:
        if obj.status != Status.NEEDS_ATTENTION:
            return "-"
        url = reverse("admin:immigration_passportapplication_correct", args=[obj.pk])
        return format_html('<a href="{}">Correct the data and send it again</a>', url)

    def get_urls(self) -> list[URLPattern]:
        return [
            path("<int:object_id>/correct/", self.admin_site.admin_view(self.correct_view),
                 name="immigration_passportapplication_correct"),
            *super().get_urls(),
        ]

    def change_view(self, request: HttpRequest, object_id: str, form_url: str = "",
                    extra_context: dict[str, Any] | None = None) -> HttpResponse:
        application = self.get_object(request, object_id) if request.method == "GET" else None
        if application is not None and self.has_view_permission(request, application):
            audit_record(actor=request.user, action="admin.view", application=application)
        return super().change_view(request, object_id, form_url, extra_context)

    def correct_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        if not request.user.has_perm("immigration.change_passportapplication"):
            raise PermissionDenied
        application = get_object_or_404(PassportApplication, pk=object_id)
        form = CorrectionForm(request.POST or None, initial=application.applicant_data())
        if request.method == "POST" and form.is_valid():
            corrections = {name: form.cleaned_data[name] for name in form.changed_data}
            try:
                with transaction.atomic():
                    locked = PassportApplication.objects.select_for_update().get(pk=object_id)
                    application_resubmit(application=locked, by=request.user,
                                         corrections=corrections, rules=applicant_rules)
                    self.log_change(request, locked,
                                    [{"changed": {"fields": sorted(corrections)}}])
            except IllegalTransition:
                form.add_error(None, "Only an application that needs attention can be "
                                     "corrected and sent again.")
            except NikInUse:
                form.add_error("nik", "Another application for this NIK is in progress.")
            except ValidationError as exc:
                for message in _messages(exc.detail):
                    form.add_error(None, message)
            else:
                self.message_user(request, f"{locked.reference}: sent again as data version "
                                           f"{locked.data_version}.")
                return redirect("admin:immigration_passportapplication_change", object_id)
        elif request.method == "GET":
            audit_record(actor=request.user, action="admin.view", application=application)
        context = {**self.admin_site.each_context(request), "opts": self.opts,
                   "original": application, "form": form,
                   "title": f"Correct {application.reference}"}
        return TemplateResponse(request, "admin/immigration/passportapplication/correct.html",
                                context)


def _messages(detail: Any) -> list[str]:
    """DRF's nested error detail flattened to 'field: message' lines."""
    if isinstance(detail, dict):
        return [f"{key}: {m}" if key not in ("applicant", "non_field_errors") else m
                for key, value in detail.items() for m in _messages(value)]
    if isinstance(detail, list):
        return [m for item in detail for m in _messages(item)]
    return [str(detail)]


@admin.register(IdempotencyRecord)
class IdempotencyRecordAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["key", "scope", "response_status", "created_at", "expires_at"]
    exclude = ["response_body"]  # holds an access code

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
