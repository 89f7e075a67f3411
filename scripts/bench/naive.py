"""The naive design the drain benchmark compares against: one Celery task per approved
application, each POSTing one job to central with `CentralPrintingClient.submit` and then
recording `sent_to_central` like the real delivery does.

No outbox, no batching, no breaker, no shared rate limit: what `send_to_central.delay(app.id)` in
an approve view gives you. It runs on its own Celery app and queue, so it never sees (or is seen
by) the project's workers:

    celery -A scripts.bench.naive worker -Q bench.naive ...
"""

from __future__ import annotations

import os

import django
from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "immigration.settings")
django.setup()  # the task module imports models at the top, so Django must be ready first

from django.conf import settings  # noqa: E402
from django.db import transaction  # noqa: E402

from immigration.lifecycle import Status  # noqa: E402
from immigration.models import PassportApplication  # noqa: E402
from immigration.printing import central_client, print_job  # noqa: E402
from services.base import UpstreamError  # noqa: E402

QUEUE = "bench.naive"

app = Celery("bench_naive")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.update(task_default_queue=QUEUE, beat_schedule={},
                broker_url=os.environ.get("BENCH_NAIVE_BROKER_URL", settings.CELERY_BROKER_URL))


@app.task(name="bench.naive.send_print_job", bind=True, acks_late=True, max_retries=None,
          soft_time_limit=60, time_limit=90)
def send_print_job(self, application_id: int) -> str:  # type: ignore[no-untyped-def]
    application = PassportApplication.objects.select_related("office").get(id=application_id)
    if application.status != Status.QUEUED_FOR_PRINTING:
        return "already sent"
    try:
        receipt = central_client().submit(print_job(application))
    except UpstreamError as exc:
        if exc.permanent:
            raise
        raise self.retry(exc=exc, countdown=exc.retry_after or 2) from exc
    with transaction.atomic():
        locked = PassportApplication.objects.select_for_update().get(id=application_id)
        locked.mark_sent_to_central(job_id=receipt.job_id)
    return receipt.job_id
