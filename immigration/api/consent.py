"""GET /api/v1/consent: the current consent text, in both languages, with its version.

The PWA keeps the last one it got (like the status labels), so a phone offline still shows the
text and submits the version it showed. Nothing personal: anyone may read it, and caches may keep
it (a version's words never change; a new text is a new version).
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from immigration import consent

ConsentOutput = inline_serializer("ConsentText", {
    "version": serializers.CharField(),
    "title": serializers.DictField(child=serializers.CharField(), help_text="by language"),
    "text": serializers.DictField(child=serializers.CharField(), help_text="by language"),
})


class ConsentView(APIView):
    @extend_schema(operation_id="consent_current", responses={200: ConsentOutput})
    def get(self, request: Request) -> Response:
        return Response(consent.CURRENT.as_dict())


urlpatterns = [path("", ConsentView.as_view(), name="consent")]
