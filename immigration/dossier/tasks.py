from __future__ import annotations

from celery import shared_task

from immigration.dossier.uploads import uploads_purge_expired


@shared_task(name="dossier.purge_expired_uploads", soft_time_limit=300, time_limit=360)
def purge_expired_uploads() -> int:
    """Abandoned uploads expire (Upload-Expires); their chunks go with them."""
    return uploads_purge_expired()
