"""The Celery app. Configuration lives in settings (CELERY_*), read once here."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "immigration.settings")

app = Celery("tangguh")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
