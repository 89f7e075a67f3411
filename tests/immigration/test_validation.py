"""Each validation rule a clerk would apply, through the API (400 per field) and directly."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from immigration.nik import check_nik, make_nik
from immigration.references import new_reference, normalize_reference
from tests.conftest import application_payload

pytestmark = pytest.mark.django_db

BIRTH = dt.date(1990, 1, 5)


def _codes(response, field):
    assert response.status_code == 400, response.content
    return response.json()["field_codes"][field]


@pytest.mark.parametrize(
    ("nik", "code"),
    [
        ("65040105019000", "nik_format"),  # 14 digits
        ("65040105019000011", "nik_format"),  # 17 digits
        ("650401050190000A", "nik_format"),
        ("\uff16" * 16, "nik_format"),  # full-width digits are not ASCII digits
        ("9904010501900001", "nik_region"),  # no province 99
        ("6500010501900001", "nik_region"),  # regency 00
        ("6504010501900000", "nik_serial"),
        ("6504013201900001", "nik_birth_date"),  # day 32
        ("6504010601900001", "nik_birth_date"),  # 06-01-90 but born 05-01-90
        ("6504014501900001", "nik_sex"),  # woman's +40 day for a man
    ],
)
def test_nik_rules_come_back_on_the_nik_field(submit, nik, code):
    payload = application_payload(applicant={"sex": "M", "date_of_birth": BIRTH.isoformat()})
    payload["applicant"]["nik"] = nik
    assert _codes(submit(payload), "applicant.nik") == [code]


def test_womens_nik_has_day_plus_40(submit):
    payload = application_payload(applicant={"sex": "F", "date_of_birth": BIRTH.isoformat()})
    payload["applicant"]["nik"] = "6504014501900001"
    assert submit(payload).status_code == 201


@given(
    birth=st.dates(min_value=dt.date(1900, 1, 1), max_value=dt.date(2025, 12, 31)),
    sex=st.sampled_from(["M", "F"]),
    serial=st.integers(min_value=1, max_value=9999),
)
@settings(max_examples=200, deadline=None)
def test_any_consistent_nik_is_accepted_and_any_single_digit_change_in_the_date_is_caught(
    birth, sex, serial
):
    nik = make_nik(region="650401", date_of_birth=birth, sex=sex, serial=serial)
    assert check_nik(nik, date_of_birth=birth, sex=sex) is None
    other = birth + dt.timedelta(days=1)
    assert check_nik(nik, date_of_birth=other, sex=sex) is not None


@pytest.mark.parametrize(
    ("name", "code"),
    [("A", "name_too_short"), ("x" * 101, "name_too_long"), ("Siti 4minah", "name_characters"),
     ("<script>", "name_characters"), ("   ", "blank")],
)
def test_name_rules(submit, name, code):
    payload = application_payload()
    payload["applicant"]["full_name"] = name
    assert _codes(submit(payload), "applicant.full_name") == [code]


@pytest.mark.parametrize("name", ["Muh. Nur'aini", "Siti-Aminah", "I Gusti Ayu Made", "Sukarno"])
def test_real_names_pass(submit, name):
    payload = application_payload()
    payload["applicant"]["full_name"] = name
    payload["applicant"]["mother_name"] = name
    assert submit(payload).status_code == 201


def test_birth_date_in_the_future_is_refused(submit):
    tomorrow = dt.date.today() + dt.timedelta(days=2)
    payload = application_payload(applicant={"date_of_birth": tomorrow.isoformat()})
    assert "birth_in_future" in _codes(submit(payload), "applicant.date_of_birth")


def test_appointment_in_the_past_is_refused(submit):
    payload = application_payload(appointment_date="2020-01-01")
    assert _codes(submit(payload), "appointment_date") == ["appointment_past"]


def test_appointment_in_the_future_is_kept(submit):
    day = (dt.date.today() + dt.timedelta(days=7)).isoformat()
    response = submit(application_payload(appointment_date=day))
    assert response.status_code == 201


@pytest.mark.parametrize("phone", ["12", "0812", "+1 555", "telepon"])
def test_bad_phone_numbers_are_refused(submit, phone):
    payload = application_payload(applicant={"phone": phone})
    assert _codes(submit(payload), "applicant.phone") == ["phone_invalid"]


def test_phone_is_normalised_to_e164(submit):
    from immigration.models import PassportApplication

    payload = application_payload(applicant={"phone": "0812-3456-7890"})
    reference = submit(payload).json()["reference"]
    assert PassportApplication.objects.get(reference=reference).phone == "+6281234567890"


def test_bad_email_is_refused(submit):
    payload = application_payload(applicant={"email": "not-an-email"})
    assert _codes(submit(payload), "applicant.email") == ["invalid"]


def test_every_bad_field_is_reported_at_once(submit):
    payload = application_payload(service="fast", passport_type="paper")
    payload["applicant"].update(phone="1", full_name="1")
    del payload["applicant"]["address"]
    fields = submit(payload).json()["fields"]
    assert {"service", "passport_type", "applicant.phone", "applicant.full_name",
            "applicant.address"} <= set(fields)


@given(st.sampled_from(["NNK", "TPK", "JKS"]))
@settings(max_examples=50, deadline=None)
def test_references_round_trip_and_catch_a_single_typo(office):
    reference = new_reference(office)
    assert normalize_reference(reference) == reference
    assert normalize_reference(reference.lower().replace("-", " ")) == reference
    body = reference.replace("-", "")
    position = len(office) + 2
    original = body[position]
    typo = "7" if original != "7" else "8"
    mistyped = body[:position] + typo + body[position + 1 :]
    assert normalize_reference(mistyped) is None


def test_reference_is_short_enough_to_read_out():
    assert len(new_reference("NNK")) == len("NNK-XXXX-XXXX")


def test_messages_are_indonesian_by_default_and_english_on_request(api, nunukan):
    import uuid

    payload = application_payload(applicant={"sex": "M", "date_of_birth": BIRTH.isoformat()})
    payload["applicant"]["nik"] = "6504010601900001"
    key = {"HTTP_IDEMPOTENCY_KEY": str(uuid.uuid4())}
    indonesian = api.post("/api/v1/applications", payload, format="json", **key).json()
    english = api.post("/api/v1/applications", payload, format="json", HTTP_ACCEPT_LANGUAGE="en",
                       **key).json()
    assert indonesian["fields"]["applicant.nik"] == ["NIK tidak sesuai dengan tanggal lahir."]
    assert english["fields"]["applicant.nik"] == ["The NIK does not match the date of birth."]
    assert indonesian["detail"] == "Beberapa isian tidak sah."
