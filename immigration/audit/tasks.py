from __future__ import annotations

from celery import shared_task

from immigration.audit.chain import seal
from immigration.audit.heads import export_head


@shared_task(name="audit.seal", ignore_result=True, soft_time_limit=60, time_limit=90)
def seal_chain() -> int:
    """Link newly committed status events and audit entries into the chain (beat, every few
    seconds)."""
    return seal()


@shared_task(name="audit.export_head", ignore_result=True, soft_time_limit=300, time_limit=360)
def export_chain_head() -> str:
    """Write today's signed chain head to AUDIT_HEAD_DIR (beat, daily)."""
    return str(export_head())
