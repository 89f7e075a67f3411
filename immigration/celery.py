"""The Celery app. Configuration lives in settings (CELERY_*), read once here."""

from __future__ import annotations

import os

from celery import Celery
from celery.signals import setup_logging, worker_process_shutdown

from immigration.operations import request_ids

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "immigration.settings")

app = Celery("tangguh")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@setup_logging.connect
def _use_django_logging(**_: object) -> None:
    """Workers log exactly as the web does (settings.LOGGING: JSON in production, the request
    id on every line, LOG_LEVEL) instead of Celery's own set-up, which would reset the root
    level to --loglevel and add a second, plain format."""
    import logging.config

    from django.conf import settings

    logging.config.dictConfig(settings.LOGGING)


@worker_process_shutdown.connect
def _forget_dead_process_gauges(pid: int | None = None, **_: object) -> None:
    """Multiprocess metrics: drop this pool process's live gauges when it ends (counters stay
    and keep being summed; see queueing/metrics.py)."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(pid or os.getpid())  # type: ignore[no-untyped-call]


# The request id of the HTTP request that caused a task travels with it (operations).
request_ids.connect_celery_signals()
