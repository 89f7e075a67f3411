"""One error shape for the whole API: {"error": code, "detail": text, "fields": {path: [text]}}.

Field paths are flattened ("applicant.nik") so a client can put each message next to its input.
Nothing a client sends may produce a 5xx; the only 5xx we answer on purpose is 503 when the
database is unreachable (then nothing was accepted, and the client should retry).

Domain functions raise their own exceptions and know nothing of HTTP; `DOMAIN_ERRORS` below is
the one table that says what each becomes, so views never catch them.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.utils.translation import gettext as _
from django.views.defaults import page_not_found
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler

from immigration.erasure import ErasureRefused
from immigration.intake import KeyInFlight, KeyReused
from immigration.models import IllegalTransition, NikInUse, ServiceClosed, UnknownOffice
from immigration.printing import CallbackRejected
from immigration.readiness import NotReady
from immigration.selectors import UnknownStatus
from queueing.dead_letters import NotDead
from services.signing import SignatureError

log = logging.getLogger(__name__)


class ApiError(exceptions.APIException):
    """A domain refusal with a stable machine-readable code."""

    def __init__(self, code: str, detail: str, status_code: int, **extra: Any) -> None:
        super().__init__(detail=detail, code=code)
        self.status_code = status_code
        self.error_code = code
        self.extra = extra  # further top-level members of the error body, e.g. "blockers"


def _field_error(field: str, message: str) -> exceptions.ValidationError:
    return exceptions.ValidationError({field: [message]})


# Domain exception -> what the client gets. Messages are built per request (gettext, not lazy at
# import) so they come in the requester's language.
DOMAIN_ERRORS: dict[type[Exception], Callable[[Any], exceptions.APIException]] = {
    UnknownOffice: lambda e: _field_error("office", _("Unknown office code.")),
    UnknownStatus: lambda e: _field_error("status", _("Unknown status.")),
    ServiceClosed: lambda e: ApiError(
        "service_unavailable",
        _("Registration is closed at this office.") if e.service == "registration"
        else _("Express service is not open at this office."), 409, note=e.note),
    KeyReused: lambda e: ApiError(
        "idempotency_key_reused", _("This Idempotency-Key was used with a different body."), 422),
    KeyInFlight: lambda e: ApiError(
        "idempotency_key_in_flight",
        _("A request with this Idempotency-Key is still being processed."), 409),
    NikInUse: lambda e: ApiError(
        "active_application_exists",
        _("There is already an application in progress for this NIK."), 409),
    IllegalTransition: lambda e: ApiError("illegal_transition", str(e), 409),
    NotReady: lambda e: ApiError(
        "not_ready", str(e), 409,
        blockers=[{"code": b.code, "detail": b.detail} for b in e.blockers]),
    NotDead: lambda e: ApiError("not_dead", str(e), 409),
    ErasureRefused: lambda e: ApiError(e.code, e.message, 409),
    SignatureError: lambda e: ApiError("bad_signature", str(e), 401),
    CallbackRejected: lambda e: ApiError(e.code, e.detail, e.status),
}


def _as_api_error(exc: Exception) -> Exception:
    for cls in type(exc).__mro__:
        if cls in DOMAIN_ERRORS:
            return DOMAIN_ERRORS[cls](exc)
    return exc


def _flatten(detail: Any, prefix: str = "") -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    messages: dict[str, list[str]] = {}
    codes: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            path = f"{prefix}.{key}" if prefix and key != "non_field_errors" else (prefix or key)
            if key == "non_field_errors" and not prefix:
                path = "non_field_errors"
            m, c = _flatten(value, path)
            for k, v in m.items():
                messages.setdefault(k, []).extend(v)
            for k, v in c.items():
                codes.setdefault(k, []).extend(v)
    elif isinstance(detail, list):
        for item in detail:
            m, c = _flatten(item, prefix)
            for k, v in m.items():
                messages.setdefault(k, []).extend(v)
            for k, v in c.items():
                codes.setdefault(k, []).extend(v)
    else:
        key = prefix or "non_field_errors"
        messages[key] = [str(detail)]
        codes[key] = [getattr(detail, "code", "invalid") or "invalid"]
    return messages, codes


def error_body(code: str, detail: str, fields: dict[str, list[str]] | None = None,
               field_codes: dict[str, list[str]] | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"error": code, "detail": detail}
    if fields:
        body["fields"] = fields
        body["field_codes"] = field_codes or {}
    return body


def database_unavailable_body() -> dict[str, Any]:
    return error_body(
        "database_unavailable",
        _("The office database is unavailable; nothing was saved. Please try again shortly."),
    )


def exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    exc = _as_api_error(exc)
    if isinstance(exc, OperationalError | InterfaceError) or (
        isinstance(exc, DatabaseError) and "connection" in str(exc).lower()
    ):
        log.warning("database unavailable: %s", type(exc).__name__)
        return Response(database_unavailable_body(), status=status.HTTP_503_SERVICE_UNAVAILABLE,
                        headers={"Retry-After": "5"})
    if isinstance(exc, RecursionError):
        # JSON nested thousands deep: the parser gives up with a RecursionError, not a ValueError.
        return Response(error_body("parse_error", _("JSON is nested too deeply.")),
                        status=status.HTTP_400_BAD_REQUEST)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    if isinstance(exc, exceptions.ValidationError):
        fields, codes = _flatten(exc.detail)
        return Response(
            error_body("invalid", _("Some fields are not valid."), fields, codes),
            status=status.HTTP_400_BAD_REQUEST,
        )
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, ApiError):
        code = exc.error_code
    elif isinstance(exc, exceptions.APIException):
        code = exc.default_code
    else:
        code = "error"
    detail = exc.detail if isinstance(exc, exceptions.APIException) else str(exc)
    response.data = error_body(str(code), str(detail))
    if isinstance(exc, ApiError):
        response.data.update(exc.extra)
    return response


def not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    """handler404: JSON under /api/ (a client there parses JSON), Django's page elsewhere."""
    if request.path.startswith("/api/"):
        return JsonResponse(error_body("not_found", _("Not found.")), status=404)
    return page_not_found(request, exception)
