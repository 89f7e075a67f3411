from __future__ import annotations

from django.apps import AppConfig


class NotifyConfig(AppConfig):
    name = "immigration.notify"
    label = "notify"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from immigration import status_changes
        from immigration.notify import channels, events
        from queueing.signals import upstream_recovered

        channels.register_topics()
        status_changes.register("notify", events.on_status_changes)
        upstream_recovered.connect(events.on_upstream_recovered,
                                   dispatch_uid="notify.printing_resumed")
