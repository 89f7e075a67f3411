"""A request id per HTTP request, carried into the Celery tasks the request causes and into
every log line written on its behalf (web process and worker alike).

The id lives in a context variable. The web side sets it in the middleware; Celery signals copy
it into the headers of every task published while it is set (`before_task_publish`) and back into
the context of the worker that runs the task (`task_prerun`). The outbox's after-commit kick
publishes from a background thread, so queueing/kick.py runs the publish in a copy of the
caller's context, which is how the id crosses that thread without queueing knowing about ids.
"""

from __future__ import annotations

import logging
import re
import uuid
from contextvars import ContextVar, Token
from typing import Any

from celery import Task
from celery.signals import before_task_publish, task_postrun, task_prerun
from django.core.signals import request_finished

HEADER = "X-Request-ID"
META_KEY = "HTTP_X_REQUEST_ID"
#: The Celery message header that carries the id.
TASK_HEADER = "tangguh_request_id"

current: ContextVar[str | None] = ContextVar("tangguh_request_id", default=None)

# What we accept from a client or proxy: short, printable, no spaces or separators that could
# forge log fields. A long run of digits is refused as well: a NIK (16 digits) or a phone
# number pasted into the header must not land in the logs.
_SANE = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{7,63}")
_DIGITS = re.compile(r"\d{8,}")


def sanitized(value: str | None) -> str | None:
    """The incoming id if it is sane, else None (the caller then makes one)."""
    if not value or not _SANE.fullmatch(value) or _DIGITS.search(value):
        return None
    return value


def new_id() -> str:
    return uuid.uuid4().hex


def bind(request_id: str | None) -> Token[str | None]:
    return current.set(request_id)


def clear(**_: Any) -> None:
    """`request_finished` receiver: the request's id ends with its response."""
    current.set(None)


request_finished.connect(clear, weak=False, dispatch_uid="tangguh-request-id-clear")


class RequestIdFilter(logging.Filter):
    """Puts `request_id` on every record ("-" outside a request or task), for the formatters."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = current.get() or "-"
        return True


# --- Celery --------------------------------------------------------------------------------

_task_tokens: dict[str, Token[str | None]] = {}


def _on_publish(headers: dict[str, Any] | None = None, **_: Any) -> None:
    request_id = current.get()
    if request_id and headers is not None:
        headers[TASK_HEADER] = request_id


def _on_prerun(task_id: str | None = None, task: Task | None = None, **_: Any) -> None:  # type: ignore[type-arg]
    if task is None or task_id is None:
        return
    # Custom message headers end up as attributes of the task's request context.
    request_id = sanitized(getattr(task.request, TASK_HEADER, None))
    _task_tokens[task_id] = current.set(request_id)


def _on_postrun(task_id: str | None = None, **_: Any) -> None:
    token = _task_tokens.pop(task_id or "", None)
    if token is not None:
        current.reset(token)


def connect_celery_signals() -> None:
    """Idempotent (Celery signals dedupe on dispatch_uid)."""
    before_task_publish.connect(_on_publish, weak=False, dispatch_uid="tangguh-request-id-pub")
    task_prerun.connect(_on_prerun, weak=False, dispatch_uid="tangguh-request-id-pre")
    task_postrun.connect(_on_postrun, weak=False, dispatch_uid="tangguh-request-id-post")
