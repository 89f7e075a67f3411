from __future__ import annotations

from celery import shared_task

from immigration.intake import purge_expired_replays


@shared_task(name="immigration.purge_expired_idempotency", ignore_result=True,
             soft_time_limit=60, time_limit=90)
def purge_expired_idempotency() -> int:
    """Replay records hold access codes: drop them once their 24 hours are up."""
    return purge_expired_replays()
