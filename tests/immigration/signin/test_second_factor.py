"""Every sign-in needs a one-time code (TOTP, django-otp): enrolled at the first sign-in, asked
at every one after; a password-only session opens no staff page, no admin page and no API."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from immigration.signin.second_factor import pending_device
from tests.conftest import otp_device, totp_code

PASSWORD = "rahasia-loket-77"


@pytest.fixture
def signed_in_with_password(bambang: User) -> Client:
    """Bambang's browser after the password step only."""
    bambang.set_password(PASSWORD)
    bambang.save()
    client = Client()
    assert client.post("/staff/login", {"username": "bambang", "password": PASSWORD}).status_code \
        == 302
    return client


@pytest.mark.parametrize("path", ["/staff/", "/staff/applications", "/staff/counter",
                                  "/admin/"])
def test_a_password_alone_opens_no_staff_or_admin_page(signed_in_with_password, path, bambang):
    bambang.is_staff = True
    bambang.save()
    response = signed_in_with_password.get(path)
    assert response.status_code == 302
    assert response["Location"].startswith("/staff/otp?next=")


def test_a_password_alone_is_anonymous_to_the_api(signed_in_with_password):
    response = signed_in_with_password.get("/api/v1/applications")
    assert response.status_code in (401, 403)
    assert response.json()["error"] in ("not_authenticated", "permission_denied")


def test_first_sign_in_enrols_an_authenticator_then_asks_for_codes(signed_in_with_password,
                                                                   bambang, settings):
    # django-otp's own back-off after a wrong code (1 s, doubling) is not what this tests.
    settings.OTP_TOTP_THROTTLE_FACTOR = 0
    client = signed_in_with_password
    page = client.get("/staff/otp?next=/staff/applications")
    assert page.status_code == 200
    assert page["Cache-Control"].startswith("max-age=0") or "no-cache" in page["Cache-Control"]
    html = page.content.decode()
    device = pending_device(bambang)
    assert not device.confirmed
    assert f'id="otp-secret">{page.context["secret"]}<' in html
    assert 'data-otpauth="otpauth://totp/' in html
    # A wrong code changes nothing.
    wrong = client.post("/staff/otp", {"otp": "000000" if totp_code(device) != "000000"
                                       else "111111", "next": "/staff/applications"})
    assert wrong.status_code == 400
    assert "otp-wrong" in wrong.content.decode()
    assert not TOTPDevice.objects.get(pk=device.pk).confirmed
    right = client.post("/staff/otp", {"otp": totp_code(device), "next": "/staff/applications"})
    assert right.status_code == 302 and right["Location"] == "/staff/applications"
    assert TOTPDevice.objects.get(pk=device.pk).confirmed
    assert client.get("/staff/applications").status_code == 200
    # The next sign-in asks for a code from the same device: no new enrolment.
    again = Client()
    again.post("/staff/login", {"username": "bambang", "password": PASSWORD})
    assert again.get("/staff/otp").context["enrol"] is False
    assert again.post("/staff/otp", {"otp": totp_code(device)}).status_code == 302
    assert TOTPDevice.objects.filter(user=bambang).count() == 1


def test_a_used_code_is_refused_the_second_time(bambang):
    device = otp_device(bambang)
    code = totp_code(device)
    bambang.set_password(PASSWORD)
    bambang.save()
    first, second = Client(), Client()
    for client in (first, second):
        client.post("/staff/login", {"username": "bambang", "password": PASSWORD})
    assert first.post("/staff/otp", {"otp": code}).status_code == 302
    assert second.post("/staff/otp", {"otp": code}).status_code == 400


def test_the_next_parameter_cannot_send_anyone_elsewhere(signed_in_with_password, bambang):
    device = pending_device(bambang)
    response = signed_in_with_password.post(
        "/staff/otp", {"otp": totp_code(device), "next": "https://evil.example/"})
    assert response["Location"] == "/staff/"


def test_token_endpoint_needs_the_one_time_code(bambang):
    bambang.set_password(PASSWORD)
    bambang.save()
    api = APIClient()
    not_enrolled = api.post("/api/v1/auth/token", {"username": "bambang", "password": PASSWORD},
                            format="json")
    assert not_enrolled.status_code == 403
    assert not_enrolled.json()["error"] == "second_factor_not_enrolled"
    device = otp_device(bambang)
    without = api.post("/api/v1/auth/token", {"username": "bambang", "password": PASSWORD},
                       format="json")
    assert without.status_code == 400
    assert without.json()["error"] == "invalid_credentials"
    with_code = api.post("/api/v1/auth/token", {"username": "bambang", "password": PASSWORD,
                                                "otp": totp_code(device)}, format="json")
    assert with_code.status_code == 200
    token = with_code.json()["token"]
    staff = APIClient(HTTP_AUTHORIZATION=f"Token {token}")
    assert staff.get("/api/v1/applications").status_code == 200


def test_force_login_in_tests_gives_a_verified_session(client: Client, bambang: Any):
    """The test helper (tests/conftest.py) other suites rely on."""
    client.force_login(bambang)
    assert client.get("/staff/applications").status_code == 200


def test_demo_accounts_get_a_known_secret_and_demo_otp_prints_a_working_code(nunukan, settings):
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("seed_demo", stdout=out)
    assert settings.DEMO_TOTP_SECRET in out.getvalue()
    token = out.getvalue().rsplit("API token: ", 1)[1].strip()
    assert APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/queue").status_code == 200
    petugas = User.objects.get(username="petugas")
    printed = StringIO()
    call_command("demo_otp", stdout=printed)
    code = printed.getvalue().split()[0]
    client = Client()
    client.post("/staff/login", {"username": "petugas", "password": "tangguh-loket-2026"})
    assert client.post("/staff/otp", {"otp": code}).status_code == 302
    assert client.get("/staff/applications").status_code == 200
    assert TOTPDevice.objects.get(user=petugas).confirmed
