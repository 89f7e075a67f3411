"""Bounded fuzzing of every API operation from our own OpenAPI schema (schemathesis): nothing a
client can send yields a 5xx. CI size is small; FUZZ_EXAMPLES=1000 for a long run."""

from __future__ import annotations

import os

import pytest
import schemathesis
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from hypothesis import HealthCheck, settings

from immigration.wsgi import application

# tus PATCH bodies are raw bytes under their own media type.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")
schema = schemathesis.openapi.from_wsgi("/api/schema/?format=json", application)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "25"))


@pytest.fixture
def office(nunukan):
    # Like Django's test client: keep the request cycle from closing the test's connection.
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield nunukan
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@schema.parametrize()
@settings(max_examples=EXAMPLES, deadline=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                 HealthCheck.filter_too_much])
@pytest.mark.django_db
def test_no_client_input_causes_a_server_error(case, office):
    response = case.call()
    assert response.status_code < 500, (case.method, case.path, response.status_code,
                                        response.text[:300])
