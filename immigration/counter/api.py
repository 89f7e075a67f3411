"""HTTP for the counter's day (contract: docs/counter-api.md). Each view parses, checks who may
act on which office or application, calls one domain function and renders."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from django.db import transaction
from django.http import HttpResponse
from django.utils.dateparse import parse_date
from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import BasePermission
from rest_framework.renderers import BaseRenderer, JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from immigration.api import serializers as s
from immigration.api.capabilities import application_for_caller
from immigration.api.errors import ApiError
from immigration.api.permissions import IsCounterStaff, is_counter_staff
from immigration.audit import audit_record
from immigration.board import application_view
from immigration.counter import fees, pickup, slots, tickets, verification
from immigration.counter.models import (
    ClosedDay,
    CounterEvent,
    CounterSettings,
    Interview,
    Lane,
    Payment,
    PaymentMethod,
    PriorityReason,
    QuotaSlot,
    SignOff,
    Tariff,
    Ticket,
    TicketState,
)
from immigration.lifecycle import Status
from immigration.models import Office, PassportApplication
from immigration.readiness import blockers as readiness_blockers
from immigration.references import normalize_reference


def _language(request: Request) -> str:
    return getattr(request, "LANGUAGE_CODE", "id") or "id"


class IsSupervisor(BasePermission):
    message = "Supervisors only."

    def has_permission(self, request: Request, view: Any) -> bool:
        return is_counter_staff(request.user) and verification.is_supervisor(request.user)


def _own_office(request: Request, code: str) -> Office:
    office = Office.objects.filter(code=code.upper()[:6]).first()
    if office is None:
        raise ApiError("not_found", _("Unknown office."), 404)
    if office.code != request.user.membership.office_id:  # type: ignore[union-attr]
        raise ApiError("forbidden", _("You can only act for your own office."), 403)
    return office


def _public_office(code: str) -> Office:
    office = Office.objects.filter(code=code.upper()[:6]).first()
    if office is None:
        raise ApiError("not_found", _("Unknown office."), 404)
    return office


def _require_staff_reason(staff: bool, data: dict[str, Any]) -> None:
    # Applicants move or cancel their own booking freely; staff doing it for them must say why.
    if staff and not data.get("reason"):
        raise serializers.ValidationError({"reason": [_("Staff must give a reason.")]})


def _parse(serializer: type[serializers.Serializer], data: Any) -> dict[str, Any]:  # type: ignore[type-arg]
    form = serializer(data=data if data is not None else {})
    form.is_valid(raise_exception=True)
    return dict(form.validated_data)


# --- input shapes ----------------------------------------------------------------------------
class SlotField(s.StrictCharField):
    def to_internal_value(self, data: Any) -> str:
        value = super().to_internal_value(data)
        if slots.parse_slot(value) is None:
            raise serializers.ValidationError(_("A slot is an hour like 09:00."), code="slot")
        return value


class AppointmentInput(s.StrictSerializer):
    date = s.StrictDateField()
    slot = SlotField(max_length=5)
    priority = serializers.ChoiceField(choices=PriorityReason.choices, required=False,
                                       allow_blank=True)


class RescheduleInput(AppointmentInput):
    reason = s.StrictCharField(min_length=3, max_length=300, required=False)


class OptionalReasonInput(s.StrictSerializer):
    reason = s.StrictCharField(min_length=3, max_length=300, required=False)


class ScheduleInput(s.StrictSerializer):
    booking_window_days = serializers.IntegerField(min_value=1, max_value=180, required=False)
    open_weekdays = serializers.ListField(child=serializers.IntegerField(min_value=0,
                                                                         max_value=6),
                                          required=False, max_length=7)
    hours = serializers.ListField(child=SlotField(max_length=5), required=False, min_length=1,
                                  max_length=24)
    capacity = serializers.DictField(child=serializers.IntegerField(min_value=0, max_value=500),
                                     required=False)
    requires_signoff = serializers.BooleanField(required=False)
    regular_every = serializers.IntegerField(min_value=1, max_value=50, required=False)


class CapacityInput(s.StrictSerializer):
    capacity = serializers.IntegerField(min_value=0, max_value=500)


class ClosedDayInput(s.StrictSerializer):
    date = s.StrictDateField()
    note = s.StrictCharField(max_length=200, required=False, allow_blank=True)


class ArrivalInput(s.StrictSerializer):
    reference = s.StrictCharField(max_length=40)
    lane = serializers.ChoiceField(choices=Lane.choices, required=False)


class InterviewInput(s.StrictSerializer):
    note = s.StrictCharField(min_length=3, max_length=2000)
    originals_seen = serializers.BooleanField()


class SignOffInput(s.StrictSerializer):
    note = s.StrictCharField(max_length=300, required=False, allow_blank=True)


class PaymentInput(s.StrictSerializer):
    method = serializers.ChoiceField(choices=PaymentMethod.choices)
    billing_code = s.StrictCharField(max_length=40, required=False, allow_blank=True)
    receipt_no = s.StrictCharField(max_length=40, required=False, allow_blank=True)
    amount = serializers.IntegerField(min_value=0, required=False)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if bool(attrs.get("billing_code")) == bool(attrs.get("receipt_no")):
            raise serializers.ValidationError(
                {"billing_code": [serializers.ErrorDetail(
                    _("Give either a billing code (billing up) or a receipt number (billing "
                      "down)."), code="billing_code_or_receipt")]})
        return attrs


class PickupInput(s.StrictSerializer):
    nik = s.StrictCharField(min_length=16, max_length=32)
    recipient = serializers.ChoiceField(choices=[("applicant", "applicant"), ("proxy", "proxy")])
    proxy_name = s.StrictCharField(max_length=200, required=False, allow_blank=True)
    proxy_id_number = s.StrictCharField(max_length=40, required=False, allow_blank=True)
    letter_no = s.StrictCharField(max_length=60, required=False, allow_blank=True)

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs["recipient"] == "proxy":
            missing = [f for f in ("proxy_name", "proxy_id_number", "letter_no")
                       if not attrs.get(f)]
            if missing:
                raise serializers.ValidationError(
                    {f: [serializers.ErrorDetail(_("Required for a proxy."), code="required")]
                     for f in missing})
        return attrs


# --- 1. slots ----------------------------------------------------------------------------------
class SlotCalendarView(APIView):
    @extend_schema(operation_id="counter_slots_calendar", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, code: str) -> Response:
        office = _public_office(code)
        lane = request.query_params.get("lane", Lane.REGULAR)
        if lane not in Lane.values:
            raise serializers.ValidationError({"lane": [_("Unknown lane.")]})
        start_text = request.query_params.get("from")
        start = parse_date(start_text) if start_text else None
        if start_text and start is None:
            raise serializers.ValidationError({"from": [_("Must be a date (YYYY-MM-DD).")]})
        days = min(62, max(1, int(request.query_params.get("days", 14))))
        return Response(slots.calendar(office=office, lane=lane, start=start, days=days))


class AppointmentView(APIView):
    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "lookup"

    @extend_schema(operation_id="counter_appointment", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, reference: str) -> Response:
        application, _staff = application_for_caller(request, reference)
        return _no_store(Response(slots.appointment_view(application)))

    @extend_schema(operation_id="counter_appointment_reschedule", request=RescheduleInput,
                   responses={200: OpenApiTypes.OBJECT})
    def put(self, request: Request, reference: str) -> Response:
        data = _parse(RescheduleInput, request.data)
        with transaction.atomic():
            application, staff = application_for_caller(request, reference, lock=True)
            _require_staff_reason(staff, data)
            slots.appointment_reschedule(
                application=application, day=data["date"],
                hour=slots.parse_slot(data["slot"]) or 0,
                priority_reason=data.get("priority"),
                by=request.user if staff else None, reason=data.get("reason", ""))
        return _no_store(Response(slots.appointment_view(application)))

    @extend_schema(operation_id="counter_appointment_release", request=OptionalReasonInput,
                   responses={200: OpenApiTypes.OBJECT})
    def delete(self, request: Request, reference: str) -> Response:
        data = _parse(OptionalReasonInput, request.data)
        application, staff = application_for_caller(request, reference)
        _require_staff_reason(staff, data)
        slots.appointment_release(application=application, by=request.user if staff else None,
                                  reason=data.get("reason", ""))
        return _no_store(Response(slots.appointment_view(application)))


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


def schedule_view(cs: CounterSettings) -> dict[str, Any]:
    return {
        "timezone": cs.timezone, "booking_window_days": cs.booking_window_days,
        "open_weekdays": sorted(cs.weekdays()),
        "hours": [slots.slot_label(h) for h in cs.hours()],
        "capacity": {lane: cs.capacity(lane) for lane in Lane.values},
        "requires_signoff": cs.requires_signoff, "regular_every": cs.regular_every,
    }


class ScheduleView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_schedule", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, code: str) -> Response:
        return Response(schedule_view(CounterSettings.for_office(_own_office(request, code))))

    @extend_schema(operation_id="counter_schedule_update", request=ScheduleInput,
                   responses={200: OpenApiTypes.OBJECT})
    def patch(self, request: Request, code: str) -> Response:
        office = _own_office(request, code)
        if not verification.is_supervisor(request.user):
            raise ApiError("forbidden", _("Only a supervisor can change the schedule."), 403)
        data = _parse(ScheduleInput, request.data)
        cs = CounterSettings.for_office(office)
        for name in ("booking_window_days", "requires_signoff", "regular_every"):
            if name in data:
                setattr(cs, name, data[name])
        if "open_weekdays" in data:
            cs.open_weekdays = ",".join(str(d) for d in sorted(set(data["open_weekdays"])))
        if "hours" in data:
            hours = sorted({slots.parse_slot(h) or 0 for h in data["hours"]})
            cs.first_hour, cs.last_hour = hours[0], hours[-1]
        for lane, capacity in (data.get("capacity") or {}).items():
            if lane not in Lane.values:
                raise serializers.ValidationError({f"capacity.{lane}": [_("Unknown lane.")]})
            setattr(cs, f"capacity_{lane}", capacity)
        cs.save()
        return Response(schedule_view(cs))


class SlotDayView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_slots_day", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, code: str, date: str) -> Response:
        office = _own_office(request, code)
        day = _date(date)
        cs = CounterSettings.for_office(office)
        closed = ClosedDay.objects.filter(office=office, date=day).first()
        rows = {(r.hour, r.lane): r for r in QuotaSlot.objects.filter(office=office, date=day)
                .prefetch_related("appointments__application__tickets")}
        out = []
        for hour in cs.hours():
            for lane in Lane.values:
                row = rows.get((hour, lane))
                capacity = row.capacity if row else cs.capacity(lane)
                booked = row.booked if row else 0
                out.append({
                    "slot": slots.slot_label(hour), "lane": lane, "capacity": capacity,
                    "booked": booked, "free": max(0, capacity - booked),
                    "bookings": [{"reference": a.application.reference,
                                  "checked_in": a.application.tickets.filter(day=day).exists()}
                                 for a in (row.appointments.all() if row else [])],
                })
        return Response({"date": day, "closed": closed is not None or
                         day.weekday() not in cs.weekdays(),
                         "note": closed.note if closed else "", "slots": out})


def _date(text: str) -> dt.date:
    day = parse_date(text)
    if day is None:
        raise ApiError("invalid", _("Must be a date (YYYY-MM-DD)."), 400)
    return day


class SlotCapacityView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_slot_capacity", request=CapacityInput,
                   responses={200: OpenApiTypes.OBJECT})
    def put(self, request: Request, code: str, date: str, slot: str, lane: str) -> Response:
        office = _own_office(request, code)
        hour = slots.parse_slot(slot)
        if hour is None or lane not in Lane.values:
            raise ApiError("not_found", _("No such slot."), 404)
        data = _parse(CapacityInput, request.data)
        row = slots.slot_set_capacity(office=office, day=_date(date), hour=hour, lane=lane,
                                      capacity=data["capacity"], by=request.user)
        return Response({"date": row.date, "slot": row.label, "lane": row.lane,
                         "capacity": row.capacity, "booked": row.booked, "free": row.free})


class ClosedDaysView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_closed_days", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, code: str) -> Response:
        office = _own_office(request, code)
        return Response({"closed_days": list(ClosedDay.objects.filter(
            office=office, date__gte=CounterSettings.for_office(office).today())
            .values("date", "note"))})

    @extend_schema(operation_id="counter_close_day", request=ClosedDayInput,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, code: str) -> Response:
        office = _own_office(request, code)
        data = _parse(ClosedDayInput, request.data)
        closed = slots.day_close(office=office, day=data["date"], note=data.get("note", ""),
                                 by=request.user)
        return Response({"date": closed.date, "note": closed.note},
                        status=status.HTTP_201_CREATED)


class ClosedDayView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_reopen_day", responses={204: None})
    def delete(self, request: Request, code: str, date: str) -> Response:
        office = _own_office(request, code)
        ClosedDay.objects.filter(office=office, date=_date(date)).delete()
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- 2. arrivals and numbers ------------------------------------------------------------------
class ArrivalsView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_check_in", request=ArrivalInput,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, code: str) -> Response:
        office = _own_office(request, code)
        data = _parse(ArrivalInput, request.data)
        normalized = normalize_reference(data["reference"])
        application = (PassportApplication.objects.select_related("office")
                       .filter(reference=normalized, office=office).first()
                       if normalized else None)
        if application is None:
            raise ApiError("not_found", _("No such application at your office."), 404)
        ticket, created = tickets.ticket_issue(application=application, by=request.user,
                                               lane=data.get("lane"))
        body = tickets.ticket_view(ticket)
        body["appointment"] = slots.appointment_view(application)
        body["waiting_ahead"] = Ticket.objects.filter(
            office=office, day=ticket.day, state=TicketState.WAITING, lane=ticket.lane,
            seq__lt=ticket.seq).count()
        return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class TicketsView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_tickets", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, code: str) -> Response:
        office = _own_office(request, code)
        day = CounterSettings.for_office(office).today()
        qs = Ticket.objects.filter(office=office, day=day).select_related("application")
        state = request.query_params.get("state", "waiting")
        if state != "all":
            if state not in TicketState.values:
                raise serializers.ValidationError({"state": [_("Unknown state.")]})
            qs = qs.filter(state=state)
        return Response({"date": day, "tickets": [tickets.ticket_view(t) for t in qs],
                         "waiting": tickets.waiting_counts(office, day)})


class CallNextView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_call_next", request=None,
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, code: str, counter: str) -> Response:
        office = _own_office(request, code)
        if not (1 <= len(counter) <= 20):
            raise ApiError("invalid", _("A counter name has 1 to 20 characters."), 400)
        ticket = tickets.ticket_call_next(office=office, counter=counter, by=request.user)
        return Response({"ticket": tickets.ticket_view(ticket) if ticket else None})


class TicketActionView(APIView):
    permission_classes = [IsCounterStaff]
    action = ""

    @extend_schema(operation_id="counter_ticket_action", request=None,
                   responses={200: OpenApiTypes.OBJECT})
    def post(self, request: Request, code: str, ticket_id: int) -> Response:
        office = _own_office(request, code)
        if self.action == "recall":
            ticket = tickets.ticket_recall(office=office, ticket_id=ticket_id,
                                           by=request.user)
        else:
            ticket = tickets.ticket_close(office=office, ticket_id=ticket_id,
                                          state=self.action, by=request.user)
        return Response(tickets.ticket_view(ticket))


class DisplayView(APIView):
    @extend_schema(operation_id="counter_display", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, code: str) -> Response:
        return _no_store(Response(tickets.display_feed(_public_office(code))))


# --- 3. walk-ins ---------------------------------------------------------------------------------
class WalkInInput(s.ApplicationInput):
    check_in = serializers.BooleanField(required=False, default=False)
    lane = serializers.ChoiceField(choices=Lane.choices, required=False)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields.pop("office")


class WalkInsView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_walk_in", request=WalkInInput,
                   responses={201: s.SubmissionOutput})
    def post(self, request: Request) -> HttpResponse:
        from immigration.api.views import submit_response

        code = request.user.membership.office_id  # type: ignore[union-attr]
        return submit_response(request, office_code=code, form_class=WalkInInput, walk_in=True)


# --- 4. verification ------------------------------------------------------------------------
def _staff_act(request: Request, reference: str,
               act: Callable[[PassportApplication], Any]) -> Any:
    with transaction.atomic():
        application, _staff = application_for_caller(request, reference, lock=True, staff_only=True)
        # Refusals (CounterRefused, IllegalTransition) become 4xx in the API's error table.
        return act(application)


def _interview(i: Interview) -> dict[str, Any]:
    return {"note": i.note, "originals_seen": i.originals_seen, "by": i.by.get_username(),
            "at": i.at}


def _signoff(x: SignOff) -> dict[str, Any]:
    return {"by": x.by.get_username(), "at": x.at, "note": x.note}


class InterviewView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_interview", request=InterviewInput,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, reference: str) -> Response:
        data = _parse(InterviewInput, request.data)
        interview = _staff_act(request, reference, lambda a: verification.interview_record(
            application=a, by=request.user, note=data["note"],
            originals_seen=data["originals_seen"]))
        return Response(_interview(interview), status=status.HTTP_201_CREATED)


class SignOffView(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(operation_id="counter_signoff", request=SignOffInput,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, reference: str) -> Response:
        data = _parse(SignOffInput, request.data)
        signoff, created = _staff_act(request, reference, lambda a: verification.signoff_record(
            application=a, by=request.user, note=data.get("note", "")))
        return Response(_signoff(signoff),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class SignOffListView(APIView):
    permission_classes = [IsSupervisor]

    @extend_schema(operation_id="counter_signoff_list", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, code: str) -> Response:
        office = _own_office(request, code)
        pending = (PassportApplication.objects.for_office(office.code)
                   .filter(status=Status.RECEIVED, interviews__isnull=False)
                   .exclude(signoffs__by__groups__name=verification.SUPERVISOR_GROUP)
                   .distinct().order_by("submitted_at"))
        results = []
        for application in pending[:200]:
            interview = verification.latest_interview(application)
            results.append({
                "reference": application.reference, "service": application.service,
                "interview": _interview(interview) if interview else None,
                "paid": Payment.objects.filter(application=application).exists(),
                "blockers": [{"code": b.code, "detail": b.detail}
                             for b in readiness_blockers(application)],
            })
        return Response({"results": results})


class CounterRecordView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_record", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request, reference: str) -> Response:
        application, _staff = application_for_caller(request, reference, staff_only=True)
        # Interview notes and the handover's proxy are personal data: opening them is a read.
        audit_record(actor=request.user, action="counter_record.open", application=application)
        interview = verification.latest_interview(application)
        fee = fees.fee_due(application)
        payment = Payment.objects.filter(application=application).select_related(
            "clerk", "application").first()
        found = readiness_blockers(application)
        body = {
            "reference": application.reference, "status": application.status,
            "service": application.service, "passport_type": application.passport_type,
            "appointment": slots.appointment_view(application),
            "tickets": [tickets.ticket_view(t) for t in application.tickets.all()],
            "interview": _interview(interview) if interview else None,
            "fee": {**fee.as_dict(), "paid": payment is not None},
            "payments": [fees.payment_view(payment)] if payment else [],
            "requires_signoff": CounterSettings.for_office(application.office_id)
            .requires_signoff,
            "signoffs": [_signoff(x) for x in application.signoffs.select_related("by")],
            "readiness": {"ready": not found,
                          "blockers": [{"code": b.code, "detail": b.detail} for b in found]},
            "handover": pickup.handover_view(application),
            "audit": [{"action": e.action, "by": e.user.get_username() if e.user else None,
                       "at": e.at, "note": e.note}
                      for e in CounterEvent.objects.filter(application=application)
                      .select_related("user")],
        }
        return _no_store(Response(body))


# --- 5. fees ---------------------------------------------------------------------------
class TariffsView(APIView):
    @extend_schema(operation_id="counter_tariffs", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        return Response({"currency": "IDR", "legal_basis": fees.LEGAL_BASIS, "tariffs": [
            {"code": t.code, "label": t.label, "amount": t.amount,
             "passport_type": t.passport_type or None, "service": t.service or None}
            for t in Tariff.objects.filter(active=True)]})


class PaymentsView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_payment", request=PaymentInput,
                   responses={201: OpenApiTypes.OBJECT})
    def post(self, request: Request, reference: str) -> Response:
        data = _parse(PaymentInput, request.data)
        payment, created = _staff_act(request, reference, lambda a: fees.payment_record(
            application=a, clerk=request.user, method=data["method"],
            billing_code=data.get("billing_code", ""), receipt_no=data.get("receipt_no", ""),
            amount=data.get("amount")))
        return Response(fees.payment_view(payment),
                        status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


class CSVRenderer(BaseRenderer):
    """Lets `?format=csv` (or `Accept: text/csv`) pick the CSV download."""

    media_type = "text/csv"
    format = "csv"
    charset = "utf-8"

    def render(self, data: Any, accepted_media_type: str | None = None,
               renderer_context: Any = None) -> bytes:
        return data.encode("utf-8") if isinstance(data, str) else b""


class CashReportView(APIView):
    permission_classes = [IsCounterStaff]
    renderer_classes = [JSONRenderer, CSVRenderer]

    def handle_exception(self, exc: Exception) -> Response:
        # A refusal is JSON whatever format was asked for: CSV has no place for an error.
        self.request.accepted_renderer = JSONRenderer()
        self.request.accepted_media_type = JSONRenderer.media_type
        return super().handle_exception(exc)

    @extend_schema(operation_id="counter_cash_report",
                   responses={(200, "application/json"): OpenApiTypes.OBJECT,
                              (200, "text/csv"): OpenApiTypes.STR})
    def get(self, request: Request, code: str, format: str | None = None) -> Response:
        office = _own_office(request, code)
        cs = CounterSettings.for_office(office)
        day_text = request.query_params.get("date")
        day = _date(day_text) if day_text else cs.today()
        report = fees.cash_report(office=office, day=day,
                                  clerk=request.query_params.get("clerk") or None)
        csv = request.accepted_renderer.format == "csv"
        audit_record(actor=request.user, action="cash_report.download", office=office,
                     detail={"day": day.isoformat(), "csv": csv,
                             "one_clerk": bool(request.query_params.get("clerk")),
                             "payments": len(report["payments"])})
        if csv:
            response = Response(fees.cash_report_csv(report, zone=cs.zone))
            response["Content-Disposition"] = (
                f'attachment; filename="kas-{office.code}-{day.isoformat()}.csv"')
            return _no_store(response)
        return _no_store(Response(report))


# --- 6. pickup and cancel ------------------------------------------------------------------
class PickupView(APIView):
    permission_classes = [IsCounterStaff]

    @extend_schema(operation_id="counter_pickup", request=PickupInput,
                   responses={200: s.ApplicationOutput})
    def post(self, request: Request, reference: str) -> Response:
        data = _parse(PickupInput, request.data)
        application = _staff_act(request, reference, lambda a: pickup.handover_record(
            application=a, by=request.user, nik=data["nik"], recipient=data["recipient"],
            proxy_name=data.get("proxy_name", ""), proxy_id_number=data.get("proxy_id_number", ""),
            letter_no=data.get("letter_no", "")).application)
        application.refresh_from_db()
        body = dict(application_view(application, language=_language(request), staff=True))
        body["handover"] = pickup.handover_view(application)
        return _no_store(Response(s.ApplicationOutput(body).data | {"handover":
                                                                     body["handover"]}))


class CancelView(APIView):
    @extend_schema(operation_id="counter_cancel", request=OptionalReasonInput,
                   responses={200: s.ApplicationOutput})
    def post(self, request: Request, reference: str) -> Response:
        data = _parse(OptionalReasonInput, request.data)
        with transaction.atomic():
            application, staff = application_for_caller(request, reference, lock=True)
            _require_staff_reason(staff, data)
            pickup.application_cancel(application=application, by=request.user, staff=staff,
                                      reason=data.get("reason", ""))
        application.refresh_from_db()
        data_out = application_view(application, language=_language(request), staff=staff)
        return _no_store(Response(s.ApplicationOutput(data_out).data))


