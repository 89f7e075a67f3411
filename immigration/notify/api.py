"""Notification endpoints: the applicant's opt-in (by the application's capability) and the
SMS gateway's signed inbound replies ("STOP")."""

from __future__ import annotations

import json
from functools import cache
from typing import Any

import phonenumbers
from django.conf import settings
from django.db import transaction
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.throttling import ScopedRateThrottle
from rest_framework.views import APIView

from immigration.api.capabilities import application_for_caller
from immigration.api.errors import ApiError
from immigration.api.serializers import StrictCharField
from immigration.notify import follows, texts
from immigration.notify.channels import sms_secrets
from immigration.notify.models import Language
from services.signing import verify
from services.web_push import vapid_public_key

_ERROR = OpenApiResponse(OpenApiTypes.OBJECT, description='{"error", "detail", "fields"}')


class PushKeysInput(serializers.Serializer):  # type: ignore[type-arg]
    p256dh = StrictCharField(max_length=200)
    auth = StrictCharField(max_length=100)


class PushSubscriptionInput(serializers.Serializer):  # type: ignore[type-arg]
    endpoint = serializers.URLField(max_length=1000)
    keys = PushKeysInput()

    def validate_endpoint(self, value: str) -> str:
        # Push services are HTTPS (RFC 8030); plain HTTP only for a local test endpoint. The
        # server POSTs to this URL, so it must not be a way to reach anything but a push service.
        if not value.startswith("https://") and not settings.WEB_PUSH_ALLOW_HTTP:
            raise serializers.ValidationError("A push endpoint is an https URL.", code="endpoint")
        return value


class NotificationsInput(serializers.Serializer):  # type: ignore[type-arg]
    sms = serializers.BooleanField()
    language = serializers.ChoiceField(choices=Language.values, default=Language.INDONESIAN)
    push = PushSubscriptionInput(required=False, allow_null=True)
    # This browser turned push off: the endpoint it had (it is not stored anywhere else).
    push_off_endpoint = serializers.URLField(max_length=1000, required=False)


NotificationsOutput = inline_serializer("Notifications", {
    "sms": serializers.BooleanField(),
    "push_devices": serializers.IntegerField(),
    "language": serializers.CharField(),
    "push_key": serializers.CharField(allow_null=True),
})


@cache
def _push_key(private_key: str) -> str:
    return vapid_public_key(private_key)


def _view(application: Any) -> dict[str, Any]:
    key = settings.VAPID_PRIVATE_KEY
    return {**follows.notifications_of(application), "push_key": _push_key(key) if key else None}


def _no_store(response: Response) -> Response:
    response["Cache-Control"] = "no-store"
    return response


class ApplicationNotificationsView(APIView):
    """What the holder of an application's access code wants to be told, and how."""

    throttle_classes = [ScopedRateThrottle]
    throttle_scope = "lookup"

    @extend_schema(operation_id="notifications_get",
                   responses={200: NotificationsOutput, 404: _ERROR, 429: _ERROR})
    def get(self, request: Request, reference: str) -> Response:
        application, _staff = application_for_caller(request, reference)
        return _no_store(Response(_view(application)))

    @extend_schema(operation_id="notifications_set", request=NotificationsInput,
                   responses={200: NotificationsOutput, 400: _ERROR, 404: _ERROR, 429: _ERROR})
    def put(self, request: Request, reference: str) -> Response:
        form = NotificationsInput(data=request.data if request.data is not None else {})
        form.is_valid(raise_exception=True)
        data = form.validated_data
        push = data.get("push")
        if push is not None and not settings.VAPID_PRIVATE_KEY:
            raise ApiError("push_unavailable", "Web Push is not configured here.", 400)
        with transaction.atomic():
            application, _staff = application_for_caller(request, reference, lock=True)
            follows.notifications_set(
                application=application, sms=data["sms"], language=data["language"],
                push=None if push is None else follows.PushKeys(
                    endpoint=push["endpoint"], p256dh=push["keys"]["p256dh"],
                    auth=push["keys"]["auth"]),
                push_off_endpoint=data.get("push_off_endpoint", ""),
            )
        return _no_store(Response(_view(application)))


class SmsInboundView(APIView):
    """Replies from phones, forwarded by the SMS gateway, signed like every gateway call.
    A reply of STOP (or BERHENTI, UNREG) ends every text to that phone."""

    authentication_classes: list[Any] = []

    @extend_schema(
        operation_id="webhooks_sms",
        request=inline_serializer("SmsInbound", {
            "message_id": serializers.CharField(), "from": serializers.CharField(),
            "text": serializers.CharField(),
        }),
        responses={200: inline_serializer("SmsInboundResult", {
            "stopped": serializers.BooleanField()}), 400: _ERROR, 401: _ERROR},
    )
    def post(self, request: Request) -> Response:
        body = request.body
        verify(sms_secrets(), body, request.headers,
               tolerance_seconds=settings.WEBHOOK_TOLERANCE_SECONDS)
        try:
            payload = json.loads(body)
        except ValueError as exc:
            raise ApiError("invalid", "Body is not JSON.", 400) from exc
        if not isinstance(payload, dict) or not isinstance(payload.get("from"), str) \
                or not isinstance(payload.get("text"), str):
            raise ApiError("invalid", "Expected {message_id, from, text}.", 400)
        words = payload["text"].strip().upper().split()
        if not words or words[0] not in texts.STOP_KEYWORDS:
            return Response({"stopped": False})
        try:
            number = phonenumbers.parse(payload["from"], "ID")
        except phonenumbers.NumberParseException:
            return Response({"stopped": False})
        phone = phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
        with transaction.atomic():
            stopped = follows.phone_stop(phone=phone)
        return Response({"stopped": stopped})
