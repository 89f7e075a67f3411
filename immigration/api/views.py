"""The office REST API (v1). Each view parses, checks ownership, calls one domain function and
renders. See DESIGN.md for the contract."""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from typing import Any

from django.contrib.auth.models import User
from django.db import transaction
from django.http import HttpResponse
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from immigration import intake, printing
from immigration.api import serializers as s
from immigration.api.capabilities import application_for_caller
from immigration.api.errors import ApiError
from immigration.api.permissions import IsCounterStaff
from immigration.api.schema import ERRORS
from immigration.audit import audit_record
from immigration.board import application_view, central_health, office_board
from immigration.corrections import application_resubmit
from immigration.erasure import application_erase
from immigration.models import Announcement, Office, PassportApplication
from immigration.print_jobs import CENTRAL_PRINTING
from immigration.references import normalize_reference
from immigration.selectors import application_list, application_of_office, office_print_jobs
from immigration.signin import reference_lock
from immigration.signin.throttles import (
    SharedRateThrottle,
    SubmissionThrottle,
)
from queueing.dead_letters import dead_letter_retry
from queueing.models import MessageStatus, OutboxMessage
from queueing.stats import queue_stats


def _language(request: Request) -> str:
    return getattr(request, "LANGUAGE_CODE", "id") or "id"


def _staff_office(request: Request) -> str:
    return request.user.membership.office_id  # type: ignore[union-attr]


def _locked_for_staff(request: Request, reference: str) -> PassportApplication:
    """The application, row-locked, if it belongs to the caller's office. Must be called inside
    transaction.atomic()."""
    application = application_of_office(office=_staff_office(request), reference=reference,
                                        for_update=True)
    if application is None:
        raise ApiError("not_found", _("No such application at your office."), 404)
    return application


def _idempotency_key(request: Request) -> uuid.UUID:
    raw_key = request.headers.get("Idempotency-Key", "")
    if not raw_key:
        raise ApiError("idempotency_key_required",
                       _("Send an Idempotency-Key header (a UUID made by the client)."), 400)
    try:
        return uuid.UUID(raw_key)
    except ValueError as exc:
        raise ApiError("idempotency_key_invalid", _("Idempotency-Key must be a UUID."),
                       400) from exc


IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key", OpenApiTypes.UUID, OpenApiParameter.HEADER, required=True,
    description="A UUID made by the client for this submission; retries reuse it.",
)
ACCESS_CODE_HEADER = OpenApiParameter(
    "X-Access-Code", OpenApiTypes.STR, OpenApiParameter.HEADER, required=False,
    description="The applicant's access code (not needed with staff authentication).",
)


def submit_response(
    request: Request,
    *,
    office_code: str | None = None,
    form_class: type[s.ApplicationInput] = s.ApplicationInput,
    walk_in: bool = False,
) -> HttpResponse:
    """Accept an application from a phone, or (`walk_in`, with the clerk's `office_code`) from a
    clerk entering it for someone without one: the same rules and Idempotency-Key protocol."""
    from immigration.counter import slots, tickets

    key = _idempotency_key(request)
    payload = request.data
    form = form_class(data=payload)
    form.is_valid(raise_exception=True)
    data = form.validated_data
    appointment = data.get("appointment")
    user = request.user if walk_in else None

    def on_accepted(application: PassportApplication) -> dict[str, Any]:
        # Same transaction as the application: the booking and the ticket commit with it.
        extra: dict[str, Any] = {}
        if appointment:
            booking = slots.appointment_book(
                application=application, day=appointment["date"],
                hour=slots.parse_slot(appointment["slot"]) or 0,
                priority_reason=appointment.get("priority", ""), by=user)
            extra["appointment"] = booking.as_dict(language=_language(request))
        if walk_in and data.get("check_in"):
            ticket, _created = tickets.ticket_issue(application=application, by=user,
                                                    lane=data.get("lane"))
            extra["ticket"] = tickets.ticket_view(ticket)
        return extra

    code = office_code or data["office"]
    result = intake.application_submit(
        key=key,
        fingerprint=intake.request_fingerprint(payload),
        office_code=code,
        service=data["service"],
        passport_type=data["passport_type"],
        application_type=data["application_type"],
        appointment_date=data.get("appointment_date"),
        applicant=dict(data["applicant"]),
        consent_version=data["consent_version"],
        language=_language(request),
        scope=f"walk_in.{code}" if walk_in else intake.SUBMIT_SCOPE,
        by=user,
        # Only when there is something to book: without it the rows go in one round trip.
        on_accepted=on_accepted if appointment or (walk_in and data.get("check_in")) else None,
    )
    # The stored bytes are returned as they are, so a replay is byte-identical.
    response = HttpResponse(result.body, status=result.status_code,
                            content_type="application/json")
    response["Cache-Control"] = "no-store"  # it carries the access code
    if result.replayed:
        response["Idempotent-Replayed"] = "true"
    return response


def _show_lookup_locks(rows: list[dict[str, Any]]) -> None:
    """Tell staff which applications are being guessed at: lookups locked after wrong codes."""
    locks = reference_lock.locked_until(row["reference"] for row in rows)
    for row in rows:
        row["lookups_locked_until"] = locks.get(row["reference"])


class ApplicationsView(APIView):
    """POST: submit (anyone). GET: list the office's applications (staff)."""

    # Anonymous submissions per client and per NIK (retries of one submission count once).
    throttle_classes = [SubmissionThrottle]

    def get_permissions(self) -> list[Any]:
        return [IsCounterStaff()] if self.request.method == "GET" else []

    @extend_schema(
        operation_id="applications_submit",
        request=s.ApplicationInput,
        parameters=[IDEMPOTENCY_HEADER],
        responses={201: s.SubmissionOutput},
    )
    def post(self, request: Request) -> HttpResponse:
        return submit_response(request)

    @extend_schema(
        operation_id="applications_list",
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR),
            OpenApiParameter("service", OpenApiTypes.STR),
            OpenApiParameter("q", OpenApiTypes.STR, description="reference (exact)"),
            OpenApiParameter("X-Search", OpenApiTypes.STR, OpenApiParameter.HEADER,
                             description="reference or NIK (exact); a NIK never goes in a URL"),
        ],
        responses={200: s.ApplicationPageOutput},
    )
    def get(self, request: Request) -> Response:
        q = request.query_params.get("q", "").strip()
        if q and normalize_reference(q) is None:
            # A NIK is personal data and URLs end up in logs: only references go in `q`.
            raise ApiError("search_in_url", _("Search by NIK with the X-Search header, not in "
                                              "the URL."), 400)
        search = request.headers.get("X-Search", "").strip() or q
        qs = application_list(
            office=_staff_office(request),
            status=request.query_params.get("status"),
            service=request.query_params.get("service"),
            search=search,
        )
        paginator = PageNumberPagination()
        page = paginator.paginate_queryset(qs.prefetch_related("events", "dossier_files"),
                                           request, view=self)
        _audit_list(request, search=search, rows=page or [])
        central = central_health()
        rows = [application_view(a, language=_language(request), staff=True, central=central)
                for a in page or []]
        _show_lookup_locks(rows)
        return paginator.get_paginated_response(s.ApplicationOutput(rows, many=True).data)


def _audit_list(request: Request, *, search: str, rows: list[PassportApplication]) -> None:
    """Every page of the list shows applicants' data: it is a read, and a NIK search is the
    read an insider would abuse. Recorded before the rows are sent; the NIK itself never is."""
    if not search:
        action = "application.list"
    elif normalize_reference(search):
        action = "application.search_reference"
    else:
        action = "application.search_nik"
    audit_record(actor=request.user, action=action,
                 office=request.user.membership.office,  # type: ignore[union-attr]
                 application=rows[0] if search and len(rows) == 1 else None,
                 detail={"rows": len(rows)})


class ApplicationDetailView(APIView):
    throttle_classes = [SharedRateThrottle]
    throttle_scope = "lookup"

    @extend_schema(operation_id="applications_status", parameters=[ACCESS_CODE_HEADER],
                   responses={200: s.ApplicationOutput})
    def get(self, request: Request, reference: str) -> Response:
        application, staff = application_for_caller(request, reference, prefetch=["events"])
        if staff:  # the applicant reading their own application is not audited
            audit_record(actor=request.user, action="application.open", application=application)
        data = application_view(application, language=_language(request), staff=staff)
        if staff:
            _show_lookup_locks([data])
        response = Response(s.ApplicationOutput(data).data)
        response["Cache-Control"] = "no-store"
        return response


class _StaffAction(APIView):
    """A counter action on one application of the clerk's office: lock the row, apply the model
    method, answer with the application as it now stands. Domain refusals (an illegal
    transition, not ready, a NIK in use) become HTTP answers in api/errors.py."""

    permission_classes = [IsCounterStaff]

    def _act(
        self, request: Request, reference: str, action: Callable[[PassportApplication], Any]
    ) -> Response:
        with transaction.atomic():
            application = _locked_for_staff(request, reference)
            action(application)
        application.refresh_from_db()
        data = application_view(application, language=_language(request), staff=True)
        return Response(s.ApplicationOutput(data).data)


class ApproveView(_StaffAction):
    @extend_schema(operation_id="applications_approve", request=None,
                   responses={200: s.ApplicationOutput})
    def post(self, request: Request, reference: str) -> Response:
        # A repeat is a no-op 200: approve() returns False when already approved.
        return self._act(request, reference, lambda a: a.approve(by=request.user))


class RejectView(_StaffAction):
    @extend_schema(operation_id="applications_reject", request=s.ReasonInput,
                   responses={200: s.ApplicationOutput})
    def post(self, request: Request, reference: str) -> Response:
        form = s.ReasonInput(data=request.data)
        form.is_valid(raise_exception=True)
        reason = form.validated_data["reason"]
        return self._act(request, reference, lambda a: a.reject(by=request.user, reason=reason))


class EraseView(_StaffAction):
    """Erase the applicant's personal data on their request, where the law allows it (see
    immigration/erasure.py: refused with 409 while the office must keep it)."""

    @extend_schema(operation_id="applications_erase", request=None,
                   responses={200: s.ApplicationOutput})
    def post(self, request: Request, reference: str) -> Response:
        response = self._act(request, reference, lambda a: application_erase(
            application=a, by=request.user))
        response["Cache-Control"] = "no-store"
        return response


class ResubmitView(_StaffAction):
    @extend_schema(operation_id="applications_resubmit", request=s.ResubmitInput,
                   responses={200: s.ApplicationOutput})
    def post(self, request: Request, reference: str) -> Response:
        form = s.ResubmitInput(data=request.data or {})
        form.is_valid(raise_exception=True)
        corrections = dict(form.validated_data.get("applicant") or {})
        return self._act(request, reference, lambda a: application_resubmit(
            application=a, by=request.user, corrections=corrections, rules=s.applicant_rules,
        ))


class OfficesView(APIView):
    @extend_schema(operation_id="offices_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        offices = Office.objects.order_by("code").values("code", "name", "registration_open",
                                                         "express_open")
        return Response({"offices": list(offices)})


class OfficeStatusView(APIView):
    @extend_schema(operation_id="offices_status", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, code: str) -> Response:
        office = Office.objects.filter(code=code.upper()[:6]).first()
        if office is None:
            raise ApiError("not_found", _("Unknown office."), 404)
        return Response(office_board(office, language=_language(request)))


class AnnouncementsView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="offices_announce", request=s.AnnouncementInput,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, code: str) -> Response:
        if code.upper() != _staff_office(request):
            raise ApiError("forbidden", _("You can only announce for your own office."), 403)
        form = s.AnnouncementInput(data=request.data)
        form.is_valid(raise_exception=True)
        announcement = Announcement.objects.create(
            office_id=code.upper(),
            message=form.validated_data["message"],
            created_by=request.user if isinstance(request.user, User) else None,
        )
        return Response({"id": announcement.pk, "message": announcement.message,
                         "at": announcement.created_at}, status=status.HTTP_201_CREATED)


class QueueView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="queue_status", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        # The clerk's own office's print queue, like the rest of the staff API; central's breaker
        # is shared by all offices. Billing's state is shown where payments are (the desk).
        stats = queue_stats(messages=office_print_jobs(_staff_office(request)),
                            upstreams=[CENTRAL_PRINTING])
        return Response(stats.as_dict())


def _dead_letter(message: OutboxMessage) -> dict[str, Any]:
    return {"id": message.pk, "topic": message.topic, "key": message.key,
            "attempts": message.attempts, "reason": message.last_error, "dead_at": message.dead_at}


class DeadLettersView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="queue_dead", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        paginator = PageNumberPagination()
        qs = office_print_jobs(_staff_office(request)).filter(status=MessageStatus.DEAD).order_by(
            "-dead_at", "-id"
        )
        page = paginator.paginate_queryset(qs, request, view=self) or []
        return paginator.get_paginated_response([_dead_letter(m) for m in page])


class DeadLetterRetryView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="queue_dead_retry", request=None,
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, message_id: int) -> Response:
        if not office_print_jobs(_staff_office(request)).filter(pk=message_id).exists():
            raise ApiError("not_found", _("No such dead letter."), 404)
        try:
            message = dead_letter_retry(message_id=message_id)
        except OutboxMessage.DoesNotExist as exc:  # deleted since the check above
            raise ApiError("not_found", _("No such dead letter."), 404) from exc
        return Response({"id": message.pk, "status": message.status})


class PrintingWebhookView(APIView):
    """Central's signed status callbacks (Standard Webhooks)."""

    authentication_classes: list[Any] = []

    @extend_schema(
        operation_id="webhooks_printing",
        request=inline_serializer("PrintingCallback", {
            "event_id": serializers.CharField(), "key": serializers.CharField(),
            "job_id": serializers.CharField(), "status": serializers.CharField(),
            "at": serializers.DateTimeField(), "reason": serializers.CharField(required=False),
        }),
        responses={200: OpenApiTypes.OBJECT},
        extensions={ERRORS: ["401"]},  # unsigned, wrongly signed or stale
    )
    def post(self, request: Request) -> Response:
        body = request.body
        printing.callback_verify(body, request.headers)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise ApiError("invalid", "Callback body is not JSON.", 400) from exc
        if not isinstance(payload, dict):
            raise ApiError("invalid", "Callback body must be a JSON object.", 400)
        event_id = request.headers.get("webhook-id", "")
        changed = printing.callback_apply(event_id=event_id, payload=payload)
        return Response({"ok": True, "changed": changed})
