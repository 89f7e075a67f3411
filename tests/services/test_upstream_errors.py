from __future__ import annotations

from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest

from services.base import UpstreamError, error_for_status, parse_retry_after
from services.central_printing import CentralPrintingClient
from services.signing import new_secret
from services.simulator.process import free_port


@pytest.mark.parametrize(
    ("header", "expected"),
    [("120", 120.0), ("0", 0.0), ("0.25", 0.25), (" 7 ", 7.0)],
)
def test_retry_after_in_seconds(header, expected):
    assert parse_retry_after(header) == expected


def test_retry_after_as_http_date():
    now = datetime(2024, 6, 20, 8, 0, tzinfo=UTC)
    header = format_datetime(now + timedelta(seconds=90), usegmt=True)

    assert parse_retry_after(header, now=now) == 90.0


def test_retry_after_date_in_the_past_means_now():
    now = datetime(2024, 6, 20, 8, 0, tzinfo=UTC)
    header = format_datetime(now - timedelta(hours=1), usegmt=True)

    assert parse_retry_after(header, now=now) == 0.0


@pytest.mark.parametrize("header", [None, "", "soon", "-5", "inf", "nan"])
def test_unusable_retry_after_is_ignored(header):
    assert parse_retry_after(header) is None


@pytest.mark.parametrize("status", [400, 401, 403, 404, 405, 409, 410, 413, 422])
def test_client_errors_are_permanent(status):
    error = error_for_status(status, what="POST /v1/print-jobs", retry_after=5.0)

    assert error.permanent
    assert error.retry_after is None
    assert not error.ambiguous
    assert error.status == status


@pytest.mark.parametrize("status", [408, 425, 429, 500, 502, 503, 504])
def test_throttling_and_server_errors_are_transient(status):
    error = error_for_status(status, what="POST /v1/print-jobs", retry_after=5.0)

    assert not error.permanent
    assert error.retry_after == 5.0
    assert not error.ambiguous


def test_error_keeps_upstream_code_but_message_carries_no_body():
    body = {"error": "invalid", "detail": "applicant.nik: must be 16 digits"}

    error = error_for_status(422, what="POST /v1/print-jobs", body=body)

    assert error.code == "invalid"
    assert error.detail == "applicant.nik: must be 16 digits"
    assert str(error) == "POST /v1/print-jobs: HTTP 422 (invalid)"


def test_long_upstream_detail_is_truncated():
    error = error_for_status(422, what="x", body={"error": "invalid", "detail": "A" * 5000})

    assert error.detail is not None
    assert len(error.detail) == 200


def test_refused_connection_is_transient_and_not_ambiguous():
    with CentralPrintingClient(f"http://127.0.0.1:{free_port()}", new_secret()) as client:
        with pytest.raises(UpstreamError) as caught:
            client.submit({"key": "job-1"})

    error = caught.value
    assert not error.permanent
    assert not error.ambiguous
    assert "job-1" not in str(error)


def test_refused_connection_makes_health_false():
    with CentralPrintingClient(f"http://127.0.0.1:{free_port()}", new_secret()) as client:
        assert client.health() is False


def test_client_refuses_an_unusable_secret_at_construction():
    with pytest.raises(ValueError, match="secret"):
        CentralPrintingClient("http://127.0.0.1:1", "whsec_a")
