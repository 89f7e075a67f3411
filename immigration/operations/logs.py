"""Log formats: JSON lines in production (one object per line, for a log shipper), readable
lines in development. Both carry the request id (see request_ids.py).

Chosen by LOG_FORMAT (`json` or `plain`; default `json` when TANGGUH_ENV=production). The JSON
comes from python-json-logger rather than a hand-written formatter: escaping, exceptions and
extra fields are its job.
"""

from __future__ import annotations

from typing import Any

PLAIN = "%(asctime)s %(levelname)s [%(request_id)s] %(name)s %(message)s"


def logging_config(*, fmt: str, level: str) -> dict[str, Any]:
    formatters: dict[str, Any] = {
        "plain": {"format": PLAIN},
        "json": {
            "()": "pythonjsonlogger.json.JsonFormatter",
            "fmt": "%(asctime)s %(levelname)s %(name)s %(request_id)s %(message)s",
            "rename_fields": {"asctime": "time", "levelname": "level", "name": "logger"},
        },
    }
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "filters": {"request_id": {"()": "immigration.operations.request_ids.RequestIdFilter"}},
        "formatters": formatters,
        "handlers": {
            "console": {
                "class": "logging.StreamHandler",
                "formatter": fmt,
                "filters": ["request_id"],
            }
        },
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "httpx": {"level": "WARNING"},  # one line per call to central is noise, not signal
        },
    }
