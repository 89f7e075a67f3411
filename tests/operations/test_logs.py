"""Structured logs: JSON lines in production, readable in development, the request id on both,
and no personal data anywhere along the whole path (the privacy test's path, JSON-formatted)."""

from __future__ import annotations

import io
import json
import logging

import pytest
from django.contrib.auth.models import User
from pythonjsonlogger.json import JsonFormatter

from immigration.operations.logs import logging_config
from immigration.operations.request_ids import RequestIdFilter
from queueing import deliver
from tests.fixtures.approvable import make_approvable

pytestmark = pytest.mark.django_db(transaction=True)


def _handler(fmt: str) -> tuple[logging.Handler, io.StringIO]:
    spec = dict(logging_config(fmt=fmt, level="DEBUG")["formatters"][fmt])
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    if fmt == "json":
        spec.pop("()")
        handler.setFormatter(JsonFormatter(**spec))
    else:
        handler.setFormatter(logging.Formatter(spec["format"]))
    handler.addFilter(RequestIdFilter())
    handler.setLevel(logging.DEBUG)
    return handler, stream


@pytest.fixture
def json_log():
    handler, stream = _handler("json")
    root = logging.getLogger()
    old_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield stream
    root.removeHandler(handler)
    root.setLevel(old_level)


def test_log_format_follows_the_environment():
    # (The production default, `json`, is one line in settings; a production start needs
    # every secret of every part, so it is not spun up here.)
    import os
    import subprocess
    import sys

    base = {k: v for k, v in os.environ.items() if k not in {"LOG_FORMAT", "TANGGUH_ENV"}}
    code = "from django.conf import settings; print(settings.LOG_FORMAT)"
    for extra, expected in (({}, "plain"), ({"LOG_FORMAT": "json"}, "json"),
                            ({"LOG_FORMAT": "plain"}, "plain")):
        out = subprocess.run([sys.executable, "manage.py", "shell", "-v0", "-c", code],
                             env={**base, **extra}, capture_output=True, text=True, check=True)
        assert out.stdout.strip() == expected
    bad = subprocess.run([sys.executable, "manage.py", "shell", "-v0", "-c", code],
                         env={**base, "LOG_FORMAT": "xml"}, capture_output=True, text=True)
    assert bad.returncode != 0 and "LOG_FORMAT must be" in bad.stderr


def test_plain_lines_are_readable_and_carry_the_request_id(api):
    handler, stream = _handler("plain")
    logger = logging.getLogger("django.request")
    logger.addHandler(handler)
    try:
        api.get("/no/such/page", HTTP_X_REQUEST_ID="plain-req-0001")
    finally:
        logger.removeHandler(handler)
    line = stream.getvalue().splitlines()[0]
    assert "WARNING [plain-req-0001] django.request Not Found: /no/such/page" in line


def test_json_lines_parse_carry_the_request_id_and_no_personal_data(
    wired, submit, siti, bambang_api, api, json_log
):
    bad = {**siti, "applicant": {**siti["applicant"], "phone": "12"}}
    submit(bad)  # a 400 is logged as a warning
    receipt = submit(siti).json()
    submit(siti)  # a 409 for the same NIK
    api.get(f"/api/v1/applications/{receipt['reference']}", HTTP_X_ACCESS_CODE="WRONG-CODE1",
            HTTP_X_REQUEST_ID="lookup-0000wrong")
    make_approvable(receipt["reference"], User.objects.get(username="bambang"))
    bambang_api.post(f"/api/v1/applications/{receipt['reference']}/approve")
    wired.control.configure(mode="down")
    deliver.drain(budget_seconds=1)
    wired.control.configure(mode="up")
    deliver.drain(budget_seconds=5)

    lines = [line for line in json_log.getvalue().splitlines() if line.strip()]
    assert len(lines) >= 3
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    for record in records:
        assert {"time", "level", "logger", "message", "request_id"} <= set(record)
    assert any(r["request_id"] == "lookup-0000wrong" for r in records)
    assert any(r["request_id"] == "-" for r in records)  # the drain ran outside any request
    text = json_log.getvalue()
    secrets = [receipt["access_code"], *[v for v in siti["applicant"].values() if len(v) > 3]]
    for value in secrets:
        assert str(value) not in text
        assert json.dumps(str(value))[1:-1] not in text  # nor JSON-escaped
