"""A callback that central signed correctly can still be malformed: every such payload is a 4xx
(or a harmless 200) and changes nothing, never a 500."""

from __future__ import annotations

import json
import uuid

import pytest
from django.conf import settings
from django.test import Client
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from immigration.models import PassportApplication, StatusEvent
from immigration.print_jobs import parse_print_job_key
from immigration.printing import central_secrets
from services.signing import sign_headers

pytestmark = pytest.mark.django_db


def _post_signed(client: Client, payload: object) -> int:
    body = json.dumps(payload).encode()
    headers = sign_headers(central_secrets()[0], body, msg_id=f"evt-{uuid.uuid4()}")
    response = client.post("/api/v1/webhooks/printing", data=body,
                           content_type="application/json",
                           headers={k: v for k, v in headers.items()})
    return response.status_code


@pytest.fixture
def sent_reference(submit, bambang_api) -> str:
    reference = submit().json()["reference"]
    PassportApplication.objects.filter(reference=reference).update(status="sent_to_central")
    return reference


@pytest.mark.parametrize("version", ["²", "١٢", "0" * 5000, "9" * 5000, "-1", "+1", " 1", "1 "])
def test_signed_callback_with_a_malformed_version_is_a_4xx(client, sent_reference, version):
    events = StatusEvent.objects.count()
    status = _post_signed(client, {"event_id": "e", "key": f"{sent_reference}:v{version}",
                                   "job_id": "j", "status": "printing",
                                   "at": "2026-11-29T00:00:00Z"})
    assert 400 <= status < 500
    assert StatusEvent.objects.count() == events
    assert PassportApplication.objects.get(reference=sent_reference).status == "sent_to_central"


def test_unicode_digits_do_not_parse_as_a_version():
    assert parse_print_job_key("NNK-7KQ3-M9XD:v²") is None
    assert parse_print_job_key("NNK-7KQ3-M9XD:v" + "1" * 5000) is None


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=3),
    max_leaves=8,
)


@hsettings(max_examples=60, deadline=None,
           suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key_tail=st.text(max_size=40), status=json_values, extra=json_values)
def test_any_signed_payload_is_never_a_server_error(client, sent_reference, key_tail, status,
                                                   extra):
    assert settings.CENTRAL_PRINTING_SECRET
    for payload in ({"key": f"{sent_reference}:v{key_tail}", "status": status, "reason": extra},
                    {"key": extra, "status": "printing"}, extra):
        assert _post_signed(client, payload) < 500
