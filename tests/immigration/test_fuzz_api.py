"""Bounded fuzzing of every API operation from our own OpenAPI schema (schemathesis): nothing a
client can send yields a 5xx, and every response conforms to the schema (documented status code,
content type, headers and body). Run anonymously and as a counter clerk. CI size is small;
FUZZ_EXAMPLES=1000 for a long run."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from rest_framework.authtoken.models import Token
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from immigration.wsgi import application

# tus PATCH bodies are raw bytes under their own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance,
          response_headers_conformance, response_schema_conformance]


@pytest.fixture
def office(nunukan):
    # Like Django's test client: keep the request cycle from closing the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield nunukan
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture(params=["anonymous", "clerk"])
def caller(request, office, bambang) -> dict[str, str]:
    if request.param == "anonymous":
        return {}
    token, _ = Token.objects.get_or_create(user=bambang)
    return {"Authorization": f"Token {token.key}"}


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@pytest.mark.django_db
def test_responses_conform_and_never_fail_on_the_server(case, caller):
    case.call_and_validate(headers=caller, checks=CHECKS)
