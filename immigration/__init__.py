"""The passport-application domain and the Django project (settings, urls, Celery app)."""

from immigration.celery import app as celery_app

__all__ = ["celery_app"]
