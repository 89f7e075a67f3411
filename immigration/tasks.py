from __future__ import annotations

from celery import shared_task

from immigration.intake import purge_expired_replays
from immigration.retention import retention_run


@shared_task(name="immigration.purge_expired_idempotency", ignore_result=True,
             soft_time_limit=60, time_limit=90)
def purge_expired_idempotency() -> int:
    """Replay records hold access codes: drop them once their 24 hours are up."""
    return purge_expired_replays()


@shared_task(name="privacy.retention", ignore_result=True, soft_time_limit=1800,
             time_limit=1900)
def retention() -> dict[str, int]:
    """The retention policy (immigration/retention.py), hourly: what fell due since is deleted
    or anonymised in small transactions."""
    report = retention_run()
    return {**report.done, "files_deleted": report.files_deleted}
