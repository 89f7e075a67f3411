from __future__ import annotations

from celery import shared_task

from immigration.oversight.board import sample_office_queues


@shared_task(name="oversight.sample_queues", ignore_result=True, soft_time_limit=45,
             time_limit=55)
def sample_queues() -> int:
    """Beat, every minute: the 24-hour chart's data points (one row per office and minute)."""
    return sample_office_queues()
