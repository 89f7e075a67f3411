from __future__ import annotations

from django.apps import AppConfig


class OversightConfig(AppConfig):
    name = "immigration.oversight"
    label = "oversight"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Oversight (operator dashboard, regional operators)"
