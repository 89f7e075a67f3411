from __future__ import annotations

from django.apps import AppConfig


class DossierConfig(AppConfig):
    name = "immigration.dossier"
    label = "dossier"
    default_auto_field = "django.db.models.BigAutoField"
    verbose_name = "Dossier"

    def ready(self) -> None:
        from immigration import readiness
        from immigration.dossier.requirements import dossier_blockers

        readiness.register("dossier", dossier_blockers)
