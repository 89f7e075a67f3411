"""Running the office server: health and readiness, Prometheus metrics, request ids and
structured logs. Nothing here knows about passports; it is wired into the project by
settings (middleware, logging), urls and the Celery app."""
