from __future__ import annotations

import base64
import hashlib
import hmac
import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.signing import SignatureError, new_secret, sign_headers, verify

BODY = b'{"event_id":"e1","key":"job-1","status":"printing"}'
ALICE_SECRET = new_secret()  # central's current secret
BOB_SECRET = new_secret()  # the secret being rotated in
MALLORY_SECRET = new_secret()  # nobody we trust


def test_signed_body_verifies():
    headers = sign_headers(ALICE_SECRET, BODY)

    verify([ALICE_SECRET], BODY, headers)

    assert headers["webhook-id"].startswith("msg_")
    assert headers["webhook-signature"].startswith("v1,")


def test_given_message_id_is_used_as_webhook_id():
    headers = sign_headers(ALICE_SECRET, BODY, msg_id="evt-42")

    assert headers["webhook-id"] == "evt-42"


def test_header_names_are_case_insensitive():
    headers = {k.title(): v for k, v in sign_headers(ALICE_SECRET, BODY).items()}

    verify([ALICE_SECRET], BODY, headers)


def test_signature_from_unknown_secret_is_refused():
    headers = sign_headers(MALLORY_SECRET, BODY)

    with pytest.raises(SignatureError, match="no matching signature"):
        verify([ALICE_SECRET], BODY, headers)


def test_tampered_body_is_refused():
    headers = sign_headers(ALICE_SECRET, BODY)

    with pytest.raises(SignatureError):
        verify([ALICE_SECRET], BODY.replace(b"printing", b"dispatched"), headers)


def test_replayed_signature_with_other_id_is_refused():
    headers = sign_headers(ALICE_SECRET, BODY, msg_id="evt-1")

    with pytest.raises(SignatureError):
        verify([ALICE_SECRET], BODY, {**headers, "webhook-id": "evt-2"})


@pytest.mark.parametrize("age", [301, 3600, -301, -3600])
def test_timestamp_outside_five_minutes_is_refused(age):
    headers = sign_headers(ALICE_SECRET, BODY, timestamp=int(time.time()) - age)

    with pytest.raises(SignatureError, match="tolerance"):
        verify([ALICE_SECRET], BODY, headers)


def test_timestamp_within_tolerance_is_accepted():
    headers = sign_headers(ALICE_SECRET, BODY, timestamp=int(time.time()) - 240)

    verify([ALICE_SECRET], BODY, headers)


def test_verifier_accepts_old_and_new_secret_during_rotation():
    verify([BOB_SECRET, ALICE_SECRET], BODY, sign_headers(ALICE_SECRET, BODY))
    verify([BOB_SECRET, ALICE_SECRET], BODY, sign_headers(BOB_SECRET, BODY))


def test_signer_with_two_secrets_satisfies_either_verifier():
    headers = sign_headers([BOB_SECRET, ALICE_SECRET], BODY)

    assert len(headers["webhook-signature"].split(" ")) == 2
    verify([ALICE_SECRET], BODY, headers)
    verify([BOB_SECRET], BODY, headers)


@pytest.mark.parametrize("missing", ["webhook-id", "webhook-timestamp", "webhook-signature"])
def test_missing_header_is_refused(missing):
    headers = sign_headers(ALICE_SECRET, BODY)
    del headers[missing]

    with pytest.raises(SignatureError, match="missing"):
        verify([ALICE_SECRET], BODY, headers)


@pytest.mark.parametrize(
    "signature",
    [
        "v1",
        "v1,",
        "v1,!!!not-base64!!!",
        "v1,abc",  # bad padding
        "garbage",
        "v1,YQ== v1",
        "v1,YQ==,YQ==",
        "  ",
    ],
)
def test_malformed_signature_header_is_refused(signature):
    headers = {**sign_headers(ALICE_SECRET, BODY), "webhook-signature": signature}

    with pytest.raises(SignatureError):
        verify([ALICE_SECRET], BODY, headers)


@pytest.mark.parametrize("timestamp", ["soon", "1.7e9", "", "-5", "nan", "99999999999999999999"])
def test_malformed_timestamp_is_refused(timestamp):
    headers = {**sign_headers(ALICE_SECRET, BODY), "webhook-timestamp": timestamp}

    with pytest.raises(SignatureError):
        verify([ALICE_SECRET], BODY, headers)


def test_unknown_signature_versions_are_skipped_not_fatal():
    good = sign_headers(ALICE_SECRET, BODY)
    headers = {**good, "webhook-signature": "v1a,c2lnbmF0dXJl " + good["webhook-signature"]}

    verify([ALICE_SECRET], BODY, headers)


def test_binary_body_is_signed_over_its_raw_bytes():
    chunk = bytes(range(256)) * 4  # a blob chunk is not UTF-8
    headers = sign_headers(ALICE_SECRET, chunk)

    verify([ALICE_SECRET], chunk, headers)
    with pytest.raises(SignatureError):
        verify([ALICE_SECRET], chunk[:-1] + b"\x00", headers)
    with pytest.raises(SignatureError):
        verify([BOB_SECRET], chunk, headers)


def test_text_signature_does_not_verify_another_binary_body():
    headers = sign_headers(ALICE_SECRET, BODY)

    with pytest.raises(SignatureError):
        verify([ALICE_SECRET], b"\xff\xfe", headers)


def test_binary_signature_matches_the_specification_formula():
    chunk = b"\x89PNG\r\n\x1a\n\xff"
    headers = sign_headers(ALICE_SECRET, chunk, "msg_1", timestamp=1_700_000_000)
    key = base64.b64decode(ALICE_SECRET.removeprefix("whsec_"))
    expected = hmac.new(key, b"msg_1.1700000000." + chunk, hashlib.sha256).digest()

    assert headers["webhook-signature"] == "v1," + base64.b64encode(expected).decode()


def test_unusable_configured_secret_is_a_configuration_error():
    with pytest.raises(ValueError, match="secret"):
        sign_headers("whsec_", BODY)
    with pytest.raises(ValueError, match="secret"):
        verify([], BODY, sign_headers(ALICE_SECRET, BODY))


@given(
    msg_id=st.text(max_size=40),
    timestamp=st.text(max_size=25),
    signature=st.text(max_size=120),
    body=st.binary(max_size=64),
)
def test_arbitrary_headers_only_ever_raise_signature_error(msg_id, timestamp, signature, body):
    headers = {
        "webhook-id": msg_id,
        "webhook-timestamp": timestamp,
        "webhook-signature": signature,
    }

    with pytest.raises(SignatureError):
        verify([ALICE_SECRET], body, headers)
