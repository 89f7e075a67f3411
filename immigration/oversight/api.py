"""The operator dashboard's JSON, polled by the staff pages every few seconds."""

from __future__ import annotations

from django.utils.translation import gettext as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from immigration.api.errors import ApiError
from immigration.oversight.access import watched_office
from immigration.oversight.board import operator_board


class OperationsView(APIView):
    permission_classes = [IsAuthenticated]

    @extend_schema(
        operation_id="offices_operations",
        description="The operator dashboard of one office: upstream states and since when, "
                    "backlog by status and lane, oldest waiting, delivery rate, time to empty "
                    "and drain progress, in words in the requester's language. For the office's "
                    "counter staff and the regional operators watching it; 404 for anyone else.",
        responses={200: OpenApiTypes.OBJECT, 401: OpenApiTypes.OBJECT,
                   403: OpenApiTypes.OBJECT, 404: OpenApiTypes.OBJECT},
    )
    def get(self, request: Request, code: str) -> Response:
        office = watched_office(request.user, code.upper()[:6])
        if office is None:
            # One answer for "no such office" and "not yours to watch".
            raise ApiError("not_found", _("No such office among the ones you watch."), 404)
        return Response(operator_board(office, language=getattr(request, "LANGUAGE_CODE", "id")))
