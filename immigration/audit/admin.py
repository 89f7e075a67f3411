"""The audit trail in the operators' console: read-only, and every admin change audited."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.admin.actions import delete_selected
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy

from immigration.audit.admin_log import record_bulk_deletion
from immigration.audit.models import AuditEntry


@admin.register(AuditEntry)
class AuditEntryAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["at", "action", "actor", "office", "application", "seq"]
    list_filter = ["action", "office"]
    list_select_related = ["actor", "office", "application"]
    search_fields = ["application__reference"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.action(permissions=["delete"],
              description=gettext_lazy("Delete selected %(verbose_name_plural)s"))
def audited_delete_selected(
    modeladmin: admin.ModelAdmin,  # type: ignore[type-arg]
    request: HttpRequest,
    queryset: QuerySet[Any],
) -> TemplateResponse | None:
    """Django's bulk delete, plus an audit entry per object once they are gone. One object is
    logged by the admin with a signal-sending save (see admin_log.py), several by bulk_create,
    which sends none."""
    objects = list(queryset)
    response = delete_selected(modeladmin, request, queryset)
    if response is None and len(objects) > 1:  # None: confirmed and deleted
        record_bulk_deletion(user=request.user, objects=objects)
    return response


# Replaces the site-wide action of the same name for every model.
admin.site.add_action(audited_delete_selected, "delete_selected")
