from __future__ import annotations

from django.apps import AppConfig


class AuditConfig(AppConfig):
    name = "immigration.audit"
    label = "audit"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Audit trail"

    def ready(self) -> None:
        from django.contrib.admin.models import LogEntry
        from django.db.models.signals import post_save

        from immigration.audit.admin_log import on_log_entry_saved

        post_save.connect(on_log_entry_saved, sender=LogEntry,
                          dispatch_uid="audit.admin_change")
