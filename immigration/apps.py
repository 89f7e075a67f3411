from __future__ import annotations

from django.apps import AppConfig


class ImmigrationConfig(AppConfig):
    name = "immigration"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from immigration.printing import register_print_job_topic

        register_print_job_topic()
