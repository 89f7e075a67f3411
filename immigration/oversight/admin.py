from __future__ import annotations

from django.contrib import admin

from immigration.oversight.models import RegionalOperator


@admin.register(RegionalOperator)
class RegionalOperatorAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = ["user", "region"]
    filter_horizontal = ["offices"]
    list_select_related = ["user"]
