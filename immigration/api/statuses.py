"""GET /api/v1/statuses: the applicant-facing status labels, in both languages.

The PWA keeps the last table it got, so a phone shows the server's words for a status even
offline and after switching language; it ships no label table of its own (lifecycle.LABELS is
the one place they live). Nothing personal: anyone may read it.
"""

from __future__ import annotations

from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from immigration.lifecycle import LABELS, Status


class StatusLabelsView(APIView):
    @extend_schema(operation_id="statuses_labels", responses={200: OpenApiTypes.OBJECT})
    def get(self, request: Request) -> Response:
        labels = {language: {status.value: table[status] for status in Status}
                  for language, table in LABELS.items()}
        return Response({"labels": labels})


urlpatterns = [path("", StatusLabelsView.as_view(), name="status-labels")]
