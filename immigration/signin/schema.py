"""OpenAPI descriptions of the error answers the sign-in and limit code adds to endpoints."""

from __future__ import annotations

from typing import Any

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse
from rest_framework import serializers


class ErrorBody(serializers.Serializer[Any]):
    error = serializers.CharField(help_text="A stable machine-readable code.")
    detail = serializers.CharField(help_text="What went wrong, in the requester's language.")
    # DRF's metaclass takes declared fields out of the class body, so this does not shadow
    # Serializer.fields at run time; mypy sees only the class body.
    fields = serializers.DictField(  # type: ignore[assignment]
        child=serializers.ListField(child=serializers.CharField()), required=False)
    field_codes = serializers.DictField(
        child=serializers.ListField(child=serializers.CharField()), required=False)


ERROR_RESPONSE = OpenApiResponse(ErrorBody, description="An error (see `error`).")
THROTTLED_RESPONSE = OpenApiResponse(
    ErrorBody,
    description="`throttled`, `locked_out` or `reference_locked`: too many requests; the "
                "`Retry-After` header says how many seconds to wait.",
)
RETRY_AFTER = {"Retry-After": OpenApiTypes.INT}
